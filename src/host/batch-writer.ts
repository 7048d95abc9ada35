// The daemon's long-lived writers: one `ip -force -batch -` and one
// `bridge -force -batch -` per namespace, kept open and fed each batch as it
// comes, instead of a process per batch (a spawn costs tens of ms on a busy
// host; see docs/performance.md). Still ip and bridge, through execa.
//
// Each batch ends with a sentinel command that always fails the same way
// (`link show dev ack/0`: no device can have a '/' in its name), so its
// answer is a "Command failed -:N" line on stderr, where -force reports
// every failed line too: errors and acknowledgement come in order through one
// unbuffered stream, whatever ip does with a piped stdout. Errors are mapped
// to the batch's lines by their process-wide line numbers, the same
// attribution as the one-shot writer (write.ts). A process that exits, or
// does not acknowledge in time, fails its batch as a whole and is started
// again for the next one; so is one that reported an error, and both after a
// device was created or deleted (ip and bridge cache device indexes by name).
import { spawnLong, type LongRunning } from './exec.js';

export type BatchTool = 'ip' | 'bridge';

export interface BatchOutcome {
  /** Kernel messages by line number within the batch (1-based). */
  errors: Map<number, string>;
  /** Set when the batch failed as a whole (the process died, no acknowledgement). */
  whole?: string;
}

const SENTINEL: Record<BatchTool, string> = { ip: 'link show dev ack/0', bridge: 'fdb show dev ack/0' };
/** A batch not acknowledged within this long fails, and its process is replaced. */
const ACK_TIMEOUT_MS = 30_000;

interface Pending {
  start: number;
  count: number;
  ack: number;
  errors: Map<number, string>;
  resolve(o: BatchOutcome): void;
  /** When its lines were handed to the process (Date.now()). */
  sentAt: number;
}

class BatchProcess {
  private proc?: Promise<LongRunning>;
  private sent = 0;
  private pending?: Pending;
  private messages: string[] = [];
  private carry = '';
  private stderrTail = '';
  private chain: Promise<unknown> = Promise.resolve();
  /** The running process's id (tests). */
  pid?: number;
  /** The spare's id once it runs (tests). */
  sparePid?: number;
  /** Start a new process before the next batch (see BatchWriters.renew). */
  private stale = false;
  /**
   * Checks that the pending batch was acknowledged in time. Armed by a batch
   * when it is not running, and left running after the acknowledgement
   * (re-armed for the rest of the time when it finds a newer batch): a
   * single-peer change writes two batches, and a timer set and cleared for
   * each was a tenth of the daemon's timer work per event. Unreferenced:
   * the process's pipes keep Node running while a batch is out.
   */
  private watchdog?: NodeJS.Timeout;
  /**
   * A process started ahead and given no line yet (so it holds no device
   * index): what the next start takes, so a batch that must go to a new
   * process (a device lost and written again) does not wait for a spawn,
   * tens of ms on a slow host. Started once the running process has
   * acknowledged a batch; dropped if it dies.
   */
  private spare?: Promise<LongRunning>;
  private closed = false;

  constructor(private readonly tool: BatchTool, private readonly netns: string | undefined) {}

  /** Batches of one process run one after the other. */
  write(lines: readonly string[]): Promise<BatchOutcome> {
    const next = this.chain.then(() => this.writeNow(lines));
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** For good: the running process and the spare. */
  close(): void {
    this.closed = true;
    void this.spare?.then((p) => p.kill(), () => undefined);
    this.spare = undefined;
    this.stop();
  }

  /** The running process (the spare, holding no device index, stays). */
  private stop(): void {
    void this.proc?.then((p) => p.kill(), () => undefined);
    this.proc = undefined;
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  /** The next batch goes to a new process; the one running finishes what it holds first. */
  renew(): void {
    this.stale = true;
  }

  private start(): Promise<LongRunning> {
    this.sent = 0;
    this.messages = [];
    this.carry = '';
    this.stderrTail = '';
    const started = this.spare ?? this.spawn();
    this.spare = undefined;
    this.sparePid = undefined;
    started.then((p) => {
      this.pid = p.pid;
      p.onStderr((chunk) => this.onStderr(chunk));
      void p.ended.then((r) => {
        if (this.proc !== started) return;
        this.proc = undefined;
        const why = r.stderr.split('\n').find((l) => l && !/^Command failed /.test(l)) ?? this.stderrTail;
        this.finish({ errors: new Map(), whole: `${this.tool} exited (${r.signal ?? `code ${r.exitCode}`})${why ? `: ${why}` : ''}` });
      });
    }, () => {
      if (this.proc === started) this.proc = undefined;
    });
    return started;
  }

  private spawn(): Promise<LongRunning> {
    return spawnLong(this.tool, ['-force', '-batch', '-'], this.netns, { input: true });
  }

  /** Starts the spare unless there is one (after an acknowledged batch: off the write's path). */
  private startSpare(): void {
    if (this.spare || this.closed) return;
    const spare = this.spawn();
    this.spare = spare;
    spare.then((p) => {
      if (this.spare === spare) this.sparePid = p.pid;
      void p.ended.then(() => {
        if (this.spare === spare) this.spare = undefined;
      });
    }, () => {
      if (this.spare === spare) this.spare = undefined;
    });
  }

  private async writeNow(lines: readonly string[]): Promise<BatchOutcome> {
    if (!lines.length) return { errors: new Map() };
    if (this.stale) {
      this.stale = false;
      this.stop();
    }
    this.proc ??= this.start();
    const p = await this.proc;
    return new Promise<BatchOutcome>((resolve) => {
      const start = this.sent + 1;
      this.sent += lines.length + 1;
      this.pending = { start, count: lines.length, ack: this.sent, errors: new Map(), resolve, sentAt: Date.now() };
      this.armWatchdog(ACK_TIMEOUT_MS);
      p.write(lines.join('\n') + '\n' + SENTINEL[this.tool] + '\n');
    });
  }

  private finish(o: BatchOutcome): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    p.resolve(o.whole ? o : { errors: p.errors });
    if (!o.whole) this.startSpare();
  }

  private armWatchdog(ms: number): void {
    if (this.watchdog) return;
    this.watchdog = setTimeout(() => this.checkAcknowledged(), ms);
    this.watchdog.unref();
  }

  /** The watchdog: a batch out for ACK_TIMEOUT_MS fails, and its process is replaced. */
  private checkAcknowledged(): void {
    this.watchdog = undefined;
    const p = this.pending;
    if (!p) return;
    const left = p.sentAt + ACK_TIMEOUT_MS - Date.now();
    if (left > 0) {
      this.armWatchdog(left);
      return;
    }
    this.finish({ errors: new Map(), whole: `${this.tool} did not acknowledge the batch within ${ACK_TIMEOUT_MS / 1000} s` });
    this.stop();
  }

  private onStderr(chunk: string): void {
    const text = this.carry + chunk;
    const end = text.lastIndexOf('\n');
    this.carry = text.slice(end + 1);
    if (end < 0) return;
    for (const raw of text.slice(0, end).split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      this.stderrTail = line;
      const m = /^Command failed (?:-|\S+):(\d+)$/.exec(line);
      if (!m) {
        this.messages.push(line.replace(/^Error: /, ''));
        continue;
      }
      const n = Number(m[1]);
      const message = this.messages.join('; ') || 'failed';
      this.messages = [];
      const p = this.pending;
      if (!p) continue;
      if (n === p.ack) this.finish({ errors: p.errors });
      else if (n >= p.start && n < p.start + p.count) p.errors.set(n - p.start + 1, message);
    }
  }
}

/** The long-lived ip and bridge writers of one namespace. */
export class BatchWriters {
  private readonly procs: Record<BatchTool, BatchProcess>;

  constructor(netns: string | undefined) {
    this.procs = { ip: new BatchProcess('ip', netns), bridge: new BatchProcess('bridge', netns) };
  }

  async write(tool: BatchTool, lines: readonly string[]): Promise<BatchOutcome> {
    // ip and bridge keep a device's index by name for the life of the
    // process: a batch that creates or deletes a device starts in a new
    // process (the device may have been deleted behind ovlnet's back, its
    // kernel event lost: a stale index makes ip exit mid-batch), and after it
    // both start afresh. After an error, the process that had it does
    // (whatever state it is in).
    const devices = lines.some((l) => /^link (add|del|delete|set \S+ name) /.test(l));
    if (devices) this.procs[tool].renew();
    const r = await this.procs[tool].write(lines);
    if (devices) this.renew();
    else if (r.whole !== undefined || r.errors.size) this.procs[tool].renew();
    return r;
  }

  /** Devices changed behind ovlnet's back (a kernel event): new processes for the next batches. */
  renew(): void {
    for (const p of Object.values(this.procs)) p.renew();
  }

  close(): void {
    for (const p of Object.values(this.procs)) p.close();
  }

  /** Process ids of the writers started so far (tests). */
  get pids(): Partial<Record<BatchTool, number>> {
    return { ip: this.procs.ip.pid, bridge: this.procs.bridge.pid };
  }

  /** Process ids of the spares started so far (tests). */
  get sparePids(): Partial<Record<BatchTool, number>> {
    return { ip: this.procs.ip.sparePid, bridge: this.procs.bridge.sparePid };
  }
}
