// The only place that starts `ip`, `bridge` and the other host tools: an
// argument vector and batch input on stdin, never a shell.
//
// node:child_process rather than execa: loading execa's ~100 modules cost
// more than a whole `ip -batch` read of a 10 000-peer host, on every command
// that touches the host, and only spawn-collect-exit code is needed here.
import { spawn } from 'node:child_process';
import { HostError, PermissionError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2', bridge: 'iproute2', ethtool: 'ethtool', 'iptables-save': 'iptables', 'iptables-restore': 'iptables',
};

export type HostTool = 'ip' | 'bridge' | 'ethtool' | 'iptables-save' | 'iptables-restore';

export function notInstalled(tool: HostTool): HostError {
  return new HostError(`${tool} not found in PATH; it comes with the ${PACKAGE_OF[tool]} package`, `install it: apt-get install ${PACKAGE_OF[tool]} (or your distribution's ${PACKAGE_OF[tool]} package)`);
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

/** Starts `cmd` (no shell), feeds `input` on stdin, collects both outputs and the exit code. */
export function spawnCollect(cmd: string, args: string[], input: string): Promise<Spawned> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      resolve({ stdout: '', stderr: '', code: err.code, message: err.message });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let overflow = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (overflow) return;
      size += chunk.length;
      if (size > MAX_BUFFER) {
        overflow = true;
        child.kill('SIGKILL');
        return;
      }
      into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    // A tool that exits without reading all of its input (a usage error) closes
    // the pipe: EPIPE here is that, and the exit code says the rest.
    child.stdin.on('error', () => {});
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    child.on('close', (code: number | null) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (spawnError) resolve({ stdout, stderr, code: spawnError.code, message: spawnError.message });
      else if (overflow) resolve({ stdout, stderr, message: `${cmd}: output larger than ${MAX_BUFFER} bytes` });
      else resolve({ stdout, stderr, exitCode: code ?? undefined });
    });
    child.stdin.end(input);
  });
}

export async function run(tool: HostTool, args: string[], opts: { netns?: string; input?: string } = {}): Promise<RunResult> {
  // ip and bridge enter a namespace themselves; the others run under `ip netns exec`.
  const nsAware = tool === 'ip' || tool === 'bridge';
  const [cmd, full] = !opts.netns ? [tool, args] : nsAware ? [tool, ['-n', opts.netns, ...args]] : ['ip', ['netns', 'exec', opts.netns, tool, ...args]];
  const r = await spawnCollect(cmd, full, opts.input ?? '');
  if (r.code === 'ENOENT' || /ENOENT/.test(String(r.message ?? ''))) throw notInstalled(cmd as HostTool);
  if (!nsAware && opts.netns && r.exitCode === 255 && /^exec of "[^"]+" failed: No such file/m.test(String(r.stderr ?? ''))) {
    throw notInstalled(tool);
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
