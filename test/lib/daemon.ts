// Runs `ovlnet daemon` as a child process with JSON logs, for end-to-end
// tests: waits for log lines, finds the metrics address, stops it with a
// signal. Always call kill() in a finally.
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, requireTestRunDir } from './cli.js';

export interface LogLine {
  level?: string;
  msg?: string;
  raw: string;
  [k: string]: unknown;
}

export interface DaemonOptions {
  env?: Record<string, string>;
  /** Command and arguments put before node (e.g. setpriv ... ). */
  wrapper?: string[];
}

export class DaemonProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  private waiters: Array<() => void> = [];
  exited?: { code: number | null; signal: NodeJS.Signals | null };
  private exitPromise: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], opts: DaemonOptions = {}) {
    requireTestRunDir();
    const cmd = opts.wrapper?.length ? opts.wrapper[0] : process.execPath;
    const argv = opts.wrapper?.length ? [...opts.wrapper.slice(1), process.execPath, BIN, 'daemon', ...args] : [BIN, 'daemon', ...args];
    this.child = spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
    });
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const raw = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let parsed: LogLine = { raw };
        try {
          parsed = { ...JSON.parse(raw), raw };
        } catch {
          // not a JSON log line (a crash, a usage error): kept raw
        }
        this.lines.push(parsed);
        if (process.env.OVLNET_TEST_VERBOSE) process.stderr.write(`  [daemon] ${raw}\n`);
      }
      this.wake();
    };
    this.child.stderr!.on('data', onData);
    this.child.stdout!.on('data', onData);
    this.exitPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        this.wake();
        resolve(this.exited);
      });
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The log so far, for assertion messages. */
  get log(): string {
    return this.lines.map((l) => l.raw).join('\n');
  }

  /** Waits for a log line (from index `from` on) matching pred; fails with the log on timeout or exit. */
  async waitFor(pred: (l: LogLine) => boolean, what: string, timeoutMs = 10_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find(pred);
      if (hit) return hit;
      if (this.exited) throw new Error(`daemon exited (${JSON.stringify(this.exited)}) before: ${what}\n${this.log}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\n${this.log}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  waitForMsg(re: RegExp, timeoutMs?: number, from = 0): Promise<LogLine> {
    return this.waitFor((l) => typeof l.msg === 'string' && re.test(l.msg), `a log line matching ${re}`, timeoutMs, from);
  }

  /** Waits for the first successful cycle. */
  ready(timeoutMs = 15_000): Promise<LogLine> {
    return this.waitForMsg(/^ready: first cycle converged/, timeoutMs);
  }

  /** Base URL of the metrics server (needs --metrics-addr). */
  async metricsURL(timeoutMs = 10_000): Promise<string> {
    const l = await this.waitForMsg(/^serving metrics/, timeoutMs);
    return `http://${l.address as string}`;
  }

  /** Sends a signal; resolves with the exit and how long it took. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const t0 = Date.now();
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.exitPromise,
      new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`daemon did not exit within ${timeoutMs} ms of ${signal}\n${this.log}`)), timeoutMs); }),
    ]).finally(() => clearTimeout(timer));
    return { ...r, ms: Date.now() - t0 };
  }

  /** Kills the daemon if it still runs and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGKILL');
    await this.exitPromise;
  }
}

/** Polls an async check until it holds; resolves with the time it took, throws with the last value after the deadline. */
export async function eventually<T>(check: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs: number, everyMs = 50): Promise<number> {
  const t0 = Date.now();
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (ok(last)) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function httpGet(url: string): Promise<{ status: number; body: string; type: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') ?? '' };
}

/** Runs `ovlnet daemon args`, then `fn`, then stops it with SIGTERM (exit 0 expected); killed whatever happens. */
export async function withDaemon(args: string[], fn: (d: DaemonProcess) => Promise<void>): Promise<void> {
  const d = new DaemonProcess(args);
  try {
    await fn(d);
    const stop = await d.stop('SIGTERM');
    if (stop.code !== 0) throw new Error(`the daemon exited with ${stop.code} (signal ${stop.signal}) after SIGTERM:\n${d.log}`);
  } finally {
    await d.kill();
  }
}
