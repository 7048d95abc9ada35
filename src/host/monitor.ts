// The kernel's change notifications for one namespace: a long-lived
// `ip -N monitor label link route neigh` and `bridge monitor fdb`, started
// through execa (host/exec.ts), their lines parsed by host/parse-monitor.ts.
// Both flush stdout after every event even into a pipe (iproute2 6.1), so an
// event arrives as the kernel sends it. A monitor that exits is started
// again after a capped exponential backoff; events while it was down are
// lost, which the caller is told (onRestart) so it can re-read the host, as
// it is when the kernel drops events in a burst (onLost).
import { parseBridgeFdbLine, parseIpMonitorLine, type KernelEvent } from './parse-monitor.js';
import { spawnLong, type LongRunning } from './exec.js';

export type MonitorTool = 'ip' | 'bridge';

/**
 * The events of one read of a monitor's output, in the kernel's order,
 * parsed when asked: the daemon queues them during a cycle, and a kernel
 * read of that cycle supersedes them unparsed (the first cycle's write at
 * 5 000 peers echoes ~15 000 lines while ip and bridge need both cores).
 */
export interface MonitorBatch {
  /** A line reports a deleted device (found without parsing the others). */
  readonly linkDeleted: boolean;
  events(): KernelEvent[];
}

export interface KernelMonitorOptions {
  netns: string | undefined;
  onEvents(batch: MonitorBatch): void;
  /** A monitor stopped (`why`) and is started again in `retryMs`. */
  onExit(tool: MonitorTool, why: string, retryMs: number): void;
  /** A monitor started again after an exit: events in between were missed. */
  onRestart(tool: MonitorTool): void;
  /**
   * The kernel dropped events (the monitor's socket buffer overflowed in a
   * burst: iproute2 says "netlink receive error ... (105)" and goes on).
   */
  onLost(tool: MonitorTool): void;
}

/** What ip/bridge print when the kernel dropped notifications (ENOBUFS). */
const LOST = /No buffer space available|\(105\)/;

const ARGS: Record<MonitorTool, string[]> = {
  ip: ['-N', 'monitor', 'label', 'link', 'route', 'neigh'],
  bridge: ['monitor', 'fdb'],
};
const PARSE: Record<MonitorTool, (line: string) => KernelEvent | undefined> = { ip: parseIpMonitorLine, bridge: parseBridgeFdbLine };

/** As parseIpMonitorLine reads a deleted device's line. */
const LINK_DELETED = '[LINK]Deleted ';

/** One read of a monitor's output as a batch (exported for its test). */
export function monitorBatch(tool: MonitorTool, lines: string[]): MonitorBatch {
  let events: KernelEvent[] | undefined;
  return {
    linkDeleted: tool === 'ip' && lines.some((l) => l.startsWith(LINK_DELETED)),
    events: () => (events ??= lines.flatMap((l) => PARSE[tool](l) ?? [])),
  };
}

const BACKOFF_INITIAL_MS = 250;
const BACKOFF_MAX_MS = 30_000;
/** A monitor that ran this long before it exited starts again at the initial backoff. */
const HEALTHY_MS = 10_000;

export class KernelMonitor {
  private stopped = false;
  private readonly running = new Map<MonitorTool, LongRunning>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: KernelMonitorOptions) {}

  /** Starts both monitors; resolves once both were spawned (or failed to be). */
  start(): Promise<void> {
    return Promise.all((['ip', 'bridge'] as const).map((tool) => new Promise<void>((spawned) => void this.run(tool, 0, false, spawned)))).then(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const p of this.running.values()) p.kill();
    this.running.clear();
  }

  /** Process ids of the running monitors (tests check none is left behind). */
  get pids(): number[] {
    return [...this.running.values()].flatMap((p) => (p.pid ? [p.pid] : []));
  }

  private async run(tool: MonitorTool, failures: number, restart: boolean, spawned?: () => void): Promise<void> {
    if (this.stopped) return spawned?.();
    const startedAt = Date.now();
    let why: string;
    try {
      const p = await spawnLong(tool, ARGS[tool], this.o.netns).finally(spawned);
      if (this.stopped) {
        p.kill();
        return;
      }
      this.running.set(tool, p);
      let carry = '';
      p.onStdout((chunk) => {
        const text = carry + chunk;
        const end = text.lastIndexOf('\n');
        carry = text.slice(end + 1);
        if (end < 0 || this.stopped) return;
        this.o.onEvents(monitorBatch(tool, text.slice(0, end).split('\n')));
      });
      p.onStderr((chunk) => {
        if (LOST.test(chunk) && !this.stopped) this.o.onLost(tool);
      });
      if (restart) this.o.onRestart(tool);
      const r = await p.ended;
      this.running.delete(tool);
      if (this.stopped) return;
      why = r.notInstalled ? `${tool} not found in PATH` : `${tool} monitor exited (${r.signal ?? `code ${r.exitCode}`})${r.stderr ? `: ${r.stderr.split('\n')[0]}` : ''}`;
    } catch (e) {
      if (this.stopped) return;
      why = `${tool} monitor: ${(e as Error).message}`;
    }
    const n = Date.now() - startedAt >= HEALTHY_MS ? 0 : failures;
    const retryMs = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.min(n, 20));
    this.o.onExit(tool, why, retryMs);
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.run(tool, n + 1, true);
    }, retryMs);
    this.timers.add(t);
  }
}
