// Runs the backend's long-running data-plane hook (the udp forwarder) after
// every converged cycle: created on the first one (its device exists by
// then), given each new plan, its failures logged once per streak and
// retried on the next cycle. Idle for backends without one.
import { backendOf } from '../backends/registry.js';
import type { DataPlane } from '../backends/types.js';
import type { BackendType, DesiredState, NetworkConfig } from '../model/types.js';
import { FailureStreak, type Logger } from './logger.js';

export class DataPlaneRunner {
  private plane?: { type: BackendType; hook: DataPlane; streak: FailureStreak };
  /** Why the data plane is down while the cluster's backend needs one (readiness); undefined when it runs or is not needed. */
  down?: string;
  private running = false;

  constructor(private readonly log: Logger, private readonly netns: string | undefined, private readonly now: () => number = Date.now) {}

  /** Never throws. */
  async sync(config: NetworkConfig, desired: DesiredState): Promise<void> {
    const backend = backendOf(config);
    if (!backend.dataPlane || !desired.device) {
      this.down = undefined;
      return;
    }
    if (this.plane?.type !== backend.type) {
      this.running = false;
      this.plane?.hook.close();
      const hook = backend.dataPlane({ log: this.log, netns: this.netns });
      this.plane = { type: backend.type, hook, streak: new FailureStreak(this.log, hook.name, this.now) };
    }
    const { hook, streak } = this.plane;
    // Before the first await: /readyz must not say ready between a cycle and the data plane's start.
    if (!this.running) this.down ??= `${hook.name}: not running yet`;
    try {
      await hook.sync(config, desired);
      this.running = true;
      this.down = undefined;
      streak.ok();
    } catch (e) {
      const err = e as Error & { hint?: string };
      this.running = false;
      this.down = `${hook.name}: ${err.message}`;
      streak.fail(err.message, { hint: err.hint });
    }
  }

  close(): void {
    this.plane?.hook.close();
    this.plane = undefined;
  }
}
