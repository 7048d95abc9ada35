// One run of a host tool to its end, collecting its output: node:child_process
// with an argument vector, never a shell (`shell` is never set).
//
// Why not execa, which the long-lived processes (monitors, writers, the lock)
// use: for a command that starts, reads and exits, execa's import and its
// stream handling were the largest single cost before a command's own work.
// Measured on this project's 2-core machine (Node 20, bundled execa, cold
// process, `ip -j addr show`, 20 alternating runs): 85 ms of CPU with execa
// against 61 with child_process.spawn, a bare `node` 54. What is kept of
// execa's behaviour for these runs: the input written to stdin and closed;
// the environment merged over the inherited one (an undefined value removes
// a variable); a timeout that sends SIGTERM, then SIGKILL 5 s later (execa's
// forceKillAfterDelay); a cap on collected output; a start failure reported
// with its errno code (ENOENT: not installed) instead of thrown.
import { spawn } from 'node:child_process';

export interface SpawnOptions {
  /** Written to stdin, which is then closed. */
  input: string;
  /** SIGTERM after this long (then SIGKILL if it does not exit within KILL_AFTER_MS). */
  timeoutMs?: number;
  /** Changes to the inherited environment (undefined removes a variable). */
  env?: Record<string, string | undefined>;
  /** An open descriptor the tool writes its stdout to, instead of a pipe. */
  stdoutFd?: number;
  /** Collected stdout or stderr above this many bytes kills the tool. */
  maxBuffer: number;
}

export interface Spawned {
  /** '' when stdout went to `stdoutFd`. */
  stdout: string;
  stderr: string;
  /** undefined when the process could not start, was killed, timed out or its output overflowed. */
  exitCode?: number;
  /** errno code when the process could not start (ENOENT: not installed). */
  code?: string;
  message?: string;
}

/** As execa's forceKillAfterDelay: a tool that ignores SIGTERM after its timeout. */
export const KILL_AFTER_MS = 5000;

export function spawnOnce(cmd: string, args: string[], o: SpawnOptions): Promise<Spawned> {
  return new Promise((resolve) => {
    const env = o.env ? { ...process.env, ...o.env } : process.env;
    const child = spawn(cmd, args, { stdio: ['pipe', o.stdoutFd ?? 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let why: string | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let killer: NodeJS.Timeout | undefined;
    const stop = (reason: string) => {
      why ??= reason;
      child.kill('SIGTERM');
      killer ??= setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      killer.unref();
    };
    const finish = (r: Spawned) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killer);
      resolve(r);
    };
    const collect = (into: Buffer[], which: 'stdout' | 'stderr') => (d: Buffer) => {
      const size = which === 'stdout' ? (outBytes += d.length) : (errBytes += d.length);
      if (size > o.maxBuffer) stop(`${cmd}: ${which} over ${o.maxBuffer} bytes`);
      else into.push(d);
    };
    child.stdout?.on('data', collect(out, 'stdout'));
    child.stderr?.on('data', collect(err, 'stderr'));
    // A tool that exits without reading its input (EPIPE) is judged by its exit status, as with execa.
    child.stdin?.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => {
      // Only a failed start ends the run here; other errors (a failed kill) leave it to 'close'.
      if (child.pid === undefined) finish({ stdout: '', stderr: '', code: e.code, message: `${cmd}: ${e.message}` });
    });
    // 'close': the process exited and its stdout and stderr ended (what execa waits for).
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (why !== undefined || code === null) finish({ stdout, stderr, message: why ?? `${cmd}: killed by ${signal}` });
      else finish({ stdout, stderr, exitCode: code });
    });
    if (o.timeoutMs) timer = setTimeout(() => stop(`${cmd}: timed out after ${o.timeoutMs} ms`), o.timeoutMs);
    child.stdin?.end(o.input);
  });
}
