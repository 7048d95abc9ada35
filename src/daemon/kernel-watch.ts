// Kernel drift between resyncs: the monitors' events (host/monitor.ts) go to
// the reconciler's kernel model (kernel-events.ts) between cycles (queued
// while one runs, since the model is rebuilt by it), and a lost or changed
// object of the plan asks for a cycle at once, within the rate limit of
// drift.ts. Decides only: the monitors, the reconciler and the scheduler are
// passed in.
import type { KernelEvent } from '../host/parse-monitor.js';
import type { DesiredState } from '../model/types.js';
import { RepairPolicy, DEFAULT_REPAIR_LIMIT, type RepairLimit } from './drift.js';
import { ownedFrom, type Owned, type Repair } from './kernel-events.js';
import type { Logger } from './logger.js';
import type { DaemonMetrics } from './metrics.js';
import { formatDuration } from './duration.js';

/** Cycles after which repairs given up on are tried again: the periodic resync and SIGHUP. */
const RESUMING_REASONS = new Set(['resync', 'sighup']);
/** Objects named in one log line; the rest are counted. */
const MAX_LISTED = 10;

export interface KernelWatchOptions {
  log: Logger;
  metrics: DaemonMetrics;
  now(): number;
  limit?: RepairLimit;
  /** The resync interval, named in the give-up warning. */
  intervalMs: number;
  /** Applies events to the kernel model (Reconciler.followKernel); only called between cycles. */
  follow(events: KernelEvent[], owned: Owned): Repair[];
  /** Runs a repair cycle soon (the scheduler's notify). */
  repair(): void;
  /** Runs a cycle that reads the host soon: events were lost (the scheduler's notify). */
  reread(): void;
}

export class KernelWatch {
  private readonly policy: RepairPolicy;
  private readonly limit: RepairLimit;
  private inCycle = false;
  /** Queued during a cycle, parsed only if no kernel read of the cycle supersedes them (host/monitor.ts MonitorBatch). */
  private queued: Array<KernelEvent[] | (() => KernelEvent[])> = [];
  /** Events were lost during the running cycle, after its last kernel read (if any). */
  private lostInCycle = false;
  private desired?: DesiredState;
  /** What `desired` holds, made when the first event needs it (an incremental plan answers from its own key counts). */
  private owned?: Owned;

  constructor(private readonly o: KernelWatchOptions) {
    this.limit = o.limit ?? DEFAULT_REPAIR_LIMIT;
    this.policy = new RepairPolicy(this.limit);
  }

  /** The plan of the last successful cycle: what ovlnet owns. */
  planned(desired: DesiredState): void {
    if (desired === this.desired) return;
    this.desired = desired;
    this.owned = undefined;
  }

  /** Kernel events, or how to parse them. */
  events(events: KernelEvent[] | (() => KernelEvent[])): void {
    if (this.inCycle) {
      this.queued.push(events);
      return;
    }
    const parsed = typeof events === 'function' ? events() : events;
    if (parsed.length) this.handle(parsed);
  }

  cycleStarted(): void {
    this.inCycle = true;
  }

  /**
   * The running cycle starts a read of the kernel (links, routes,
   * neighbours, fdb): the events queued so far happened before it, so that
   * read holds what they say. A cycle's model is its last kernel read (the
   * verify's, or the snapshot's when nothing was written) or none, so it
   * needs none of them. The first cycle at 5 000 peers queued the ~15 000
   * echoes of its own write and followed them after its verify: seconds of CPU.
   */
  hostRead(): void {
    if (!this.inCycle) return;
    this.queued = [];
    this.lostInCycle = false;
  }

  /**
   * Events were lost (the kernel dropped a burst, a monitor restarted):
   * the host must be read. Between cycles at once; during one, after it,
   * unless it reads the kernel from here on (the same rule as hostRead: the
   * first write at 5 000 peers overflows the monitors, and its verify read
   * made the second full cycle that followed redundant).
   */
  lost(): void {
    if (this.inCycle) this.lostInCycle = true;
    else this.o.reread();
  }

  cycleEnded(reasons: readonly string[]): void {
    this.inCycle = false;
    if (this.lostInCycle) {
      this.lostInCycle = false;
      this.o.reread();
    }
    if (reasons.some((r) => RESUMING_REASONS.has(r))) {
      const was = this.policy.resume();
      if (was.length) this.o.log.info('kernel drift: repairing again after the resync', { objects: was.slice(0, MAX_LISTED), count: was.length });
    }
    const q = this.queued.flatMap((e) => (typeof e === 'function' ? e() : e));
    this.queued = [];
    if (q.length) this.handle(q);
  }

  private handle(events: KernelEvent[]): void {
    // Before the first successful cycle nothing is planned: the cycles running anyway read the host.
    if (!this.desired) return;
    this.owned ??= ownedFrom(this.desired);
    const repairs = this.o.follow(events, this.owned);
    const now = this.o.now();
    const repairing: Repair[] = [];
    for (const r of repairs) {
      const verdict = this.policy.decide(r.object, now);
      if (verdict === 'repair') {
        repairing.push(r);
        this.o.metrics.kernelRepairs.inc({ kind: r.kind });
      } else if (verdict === 'give-up') {
        this.o.metrics.kernelRepairsGivenUp.inc({ kind: r.kind });
        this.o.log.warn(`kernel drift: giving up repairing ${r.object}: ${r.what} ${this.limit.maxRepairs + 1} times within ${formatDuration(this.limit.windowMs)}, another agent seems to undo ovlnet's writes`, {
          object: r.object, hint: `ovlnet writes it again at the next resync (within ${formatDuration(this.o.intervalMs)}) or on SIGHUP; find what removes it`,
        });
      }
    }
    if (!repairing.length) return;
    this.o.log.info('kernel drift: repairing', { objects: repairing.slice(0, MAX_LISTED).map((r) => `${r.what} ${r.object}`), count: repairing.length });
    this.o.repair();
  }
}
