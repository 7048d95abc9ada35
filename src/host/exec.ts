// The only place that starts `ip`, `bridge` and the other host tools: execa
// with an argument vector and batch input on stdin, never a shell.
//
// execa is imported on first use, not at load, so `--version`, `--help` and
// `nodes` never pay for it.
import { accessSync, closeSync, constants, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { HostError, PermissionError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2', bridge: 'iproute2', ethtool: 'ethtool', 'iptables-save': 'iptables', 'iptables-restore': 'iptables',
  'ip6tables-save': 'iptables', 'ip6tables-restore': 'iptables', iptables: 'iptables', ping: 'iputils-ping', sysctl: 'procps',
};

export type HostTool = 'ip' | 'bridge' | 'ethtool' | 'iptables' | 'iptables-save' | 'iptables-restore' | 'ip6tables-save' | 'ip6tables-restore' | 'ping' | 'sysctl';

/**
 * A tool only a backend's driver runs (kept out of the list above: the
 * backend's folder names it), with the package that brings it; without a
 * package (a tool named by the environment) the hint names the tool.
 */
export interface DriverTool {
  name: string;
  package?: string;
}

export function notInstalled(t: HostTool | DriverTool): HostError {
  const tool = typeof t === 'string' ? t : t.name;
  const pkg = (typeof t === 'string' ? PACKAGE_OF[t] : t.package) ?? tool;
  return new HostError(`${tool} not found in PATH; it comes with the ${pkg} package`, `install it: apt-get install ${pkg} (or your distribution's ${pkg} package)`);
}

const MAX_BUFFER = 512 * 1024 * 1024;

interface Spawned {
  stdout: string;
  stderr: string;
  /** undefined when the process could not start, was killed, or its output overflowed. */
  exitCode?: number;
  /** errno code when the process could not start (ENOENT: not installed). */
  code?: string;
  message?: string;
}

let execaModule: typeof import('execa') | undefined;
let execaLoading: Promise<void> | undefined;

/**
 * Loads execa (once). Once loaded, run() starts its process in the same
 * turn of the event loop it is called in: a read started before the cluster
 * file is parsed then runs while it is parsed, instead of waiting for
 * execa's import to finish behind the parse.
 */
export function loadRunner(): Promise<void> {
  execaLoading ??= import('execa').then((m) => {
    execaModule = m;
  });
  return execaLoading;
}

let outputFiles = 0;

/**
 * A temporary file for a tool's stdout, unlinked at once (only the open
 * descriptor keeps it), or undefined when none can be made (the pipe is
 * used then).
 */
function anonymousFile(): number | undefined {
  const path = join(tmpdir(), `ovlnet-${process.pid}-${outputFiles++}.out`);
  try {
    const fd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
    return fd;
  } catch {
    return undefined;
  }
}

/** What the tool wrote to `fd` (from its start: the tool moved the shared offset), or undefined when over `max` bytes. */
function readWhole(fd: number, max: number): string | undefined {
  const size = fstatSync(fd).size;
  if (size > max) return undefined;
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return buf.toString('utf8', 0, off);
}

async function spawnCollect(cmd: string, args: string[], input: string, timeoutMs?: number, env?: Record<string, string | undefined>, bulk = false): Promise<Spawned> {
  if (!execaModule) await loadRunner();
  const { execa } = execaModule!;
  // `ip -j` and `bridge -j` write every object with a write() of its own
  // (15 000 for a 5 000-peer host): through a pipe Node takes them in over
  // a thousand reads, each through execa's stream handling, about 30 ms of
  // CPU for a 1.2 MB answer; written to a file and read once, about 10.
  const fd = bulk ? anonymousFile() : undefined;
  try {
    const options = { input, reject: false, stripFinalNewline: false, maxBuffer: MAX_BUFFER, encoding: 'utf8', ...(timeoutMs ? { timeout: timeoutMs } : {}), ...(env ? { env } : {}) } as const;
    // execa passes any open descriptor on (its types list only 3-9).
    const r = await (fd === undefined ? execa(cmd, args, options) : execa(cmd, args, { ...options, stdout: fd as 3 }));
    const spawnError = r.failed && r.exitCode === undefined;
    const stdout = fd === undefined ? String(r.stdout ?? '') : readWhole(fd, MAX_BUFFER);
    if (stdout === undefined) return { stdout: '', stderr: String(r.stderr ?? ''), message: `${cmd}: output over ${MAX_BUFFER} bytes` };
    return spawnResult(r, stdout, spawnError);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function spawnResult(r: { stderr?: unknown; exitCode?: number; cause?: unknown; message?: string }, stdout: string, spawnError: boolean): Spawned {
  return {
    stdout,
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode,
    code: spawnError ? (r.cause as NodeJS.ErrnoException | undefined)?.code ?? (/ENOENT/.test(r.message ?? '') ? 'ENOENT' : undefined) : undefined,
    message: spawnError ? r.message : undefined,
  };
}

/**
 * `timeoutMs`: kill the tool after this long (bounded probes); it then reports exit code 1.
 * `env`: changes to the inherited environment (undefined removes a variable).
 * `bulkOutput`: the tool answers with megabytes (ip -j, bridge -j of a
 * whole host): its stdout goes to an unlinked temporary file, read once.
 */
export async function run(t: HostTool | DriverTool, args: string[], opts: { netns?: string; input?: string; timeoutMs?: number; env?: Record<string, string | undefined>; bulkOutput?: boolean } = {}): Promise<RunResult> {
  const tool = typeof t === 'string' ? t : t.name;
  // ip and bridge enter a namespace themselves; the others run under `ip netns exec`.
  const nsAware = tool === 'ip' || tool === 'bridge';
  const [cmd, full] = !opts.netns ? [tool, args] : nsAware ? [tool, ['-n', opts.netns, ...args]] : ['ip', ['netns', 'exec', opts.netns, tool, ...args]];
  const r = await spawnCollect(cmd, full, opts.input ?? '', opts.timeoutMs, opts.env, opts.bulkOutput);
  if (r.code === 'ENOENT' || /ENOENT/.test(String(r.message ?? ''))) throw notInstalled(cmd === tool ? t : 'ip');
  if (!nsAware && opts.netns && r.exitCode === 255 && /^exec of "[^"]+" failed: No such file/m.test(String(r.stderr ?? ''))) {
    throw notInstalled(t);
  }
  const stderr = String(r.stderr ?? '');
  // `ip -n` enters the namespace with setns(), which needs root even to read.
  if (opts.netns && /setting the network namespace .* failed: Operation not permitted/.test(stderr)) {
    throw new PermissionError(`entering network namespace ${opts.netns} needs root (CAP_SYS_ADMIN)`, 'run it with sudo');
  }
  if (/Cannot open network namespace/.test(stderr)) {
    throw new HostError(`network namespace ${opts.netns}: ${stderr.trim().split('\n')[0]}`, 'list namespaces with: ip netns list');
  }
  return { stdout: String(r.stdout ?? ''), stderr, exitCode: r.exitCode ?? 1 };
}

/** Operation-not-permitted answers from the kernel mean we lack CAP_NET_ADMIN. */
export function isPermissionDenied(stderr: string): boolean {
  return /Operation not permitted|Permission denied/.test(stderr);
}

export function permissionError(): PermissionError {
  return new PermissionError('changing the network needs root (CAP_NET_ADMIN)', 'run it with sudo');
}

/** A tool kept running (a monitor, a batch writer): its output as it comes, and how it ended. */
export interface LongRunning {
  readonly pid?: number;
  onStdout(fn: (chunk: string) => void): void;
  onStderr(fn: (chunk: string) => void): void;
  /** Writes to its stdin (only when started with `input`). */
  write(text: string): void;
  /** Resolves when it exits (or could not start), with the end of its stderr. */
  readonly ended: Promise<{ exitCode?: number; signal?: string; stderr: string; notInstalled: boolean }>;
  kill(): void;
}

/** Starts `ip`/`bridge` (in `netns`) and leaves it running: execa with an argument vector, never a shell. */
export async function spawnLong(tool: 'ip' | 'bridge', args: string[], netns: string | undefined, opts: { input?: boolean } = {}): Promise<LongRunning> {
  const { execa } = await import('execa');
  const full = netns ? ['-n', netns, ...args] : args;
  // A monitor never writes unless the kernel sends an event: if ovlnet is
  // killed (SIGKILL, the OOM killer) it would wait forever, holding the
  // namespace. setpriv (util-linux) makes the kernel kill it with its parent.
  const [cmd, argv] = onPath('setpriv') ? ['setpriv', ['--pdeathsig', 'KILL', tool, ...full]] : [tool, full];
  const child = execa(cmd, argv, { stdin: opts.input ? 'pipe' : 'ignore', buffer: false, reject: false, encoding: 'utf8' });
  // A write after it died must not crash the daemon: its end is reported by `ended`.
  child.stdin?.on('error', () => undefined);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  // Only the end of stderr is kept: it says why the tool stopped.
  child.stderr?.on('data', (d: string) => { stderr = (stderr + d).slice(-2000); });
  child.stdout?.setEncoding('utf8');
  const ended = child.then((r) => ({
    exitCode: r.exitCode,
    signal: r.signal,
    stderr: stderr.trim(),
    notInstalled: r.exitCode === undefined && /ENOENT/.test(String(r.message ?? '')),
  }), (e: Error) => ({ exitCode: undefined, signal: undefined, stderr: stderr.trim() || e.message, notInstalled: /ENOENT/.test(e.message) }));
  return {
    pid: child.pid,
    onStdout: (fn) => { child.stdout?.on('data', fn); },
    onStderr: (fn) => { child.stderr?.on('data', fn); },
    write: (text) => { child.stdin?.write(text); },
    ended,
    kill: () => { child.kill(); },
  };
}

const found = new Map<string, boolean>();

/** Whether an executable `name` is on PATH (looked up once). */
function onPath(name: string): boolean {
  let hit = found.get(name);
  if (hit === undefined) {
    hit = (process.env.PATH ?? '').split(delimiter).some((dir) => {
      try {
        accessSync(join(dir || '.', name), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    found.set(name, hit);
  }
  return hit;
}
