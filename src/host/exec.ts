// The only place that starts `ip`, `bridge` and the other host tools: execa
// with an argument vector and batch input on stdin, never a shell.
//
// execa is imported on first use, not at load, so `--version`, `--help` and
// `nodes` never pay for it.
import { HostError, PermissionError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2', bridge: 'iproute2', ethtool: 'ethtool', 'iptables-save': 'iptables', 'iptables-restore': 'iptables',
  'ip6tables-save': 'iptables', 'ip6tables-restore': 'iptables', iptables: 'iptables', ping: 'iputils-ping', sysctl: 'procps',
  wg: 'wireguard-tools', 'wireguard-go': 'wireguard-go',
};

export type HostTool = 'ip' | 'bridge' | 'ethtool' | 'iptables' | 'iptables-save' | 'iptables-restore' | 'ip6tables-save' | 'ip6tables-restore' | 'ping' | 'sysctl' | 'wg' | 'wireguard-go';

export function notInstalled(tool: HostTool): HostError {
  // A tool named by the environment (WG_QUICK_USERSPACE_IMPLEMENTATION) has no known package.
  const pkg = PACKAGE_OF[tool] ?? tool;
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

async function spawnCollect(cmd: string, args: string[], input: string, timeoutMs?: number, env?: Record<string, string | undefined>): Promise<Spawned> {
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { input, reject: false, stripFinalNewline: false, maxBuffer: MAX_BUFFER, encoding: 'utf8', ...(timeoutMs ? { timeout: timeoutMs } : {}), ...(env ? { env } : {}) });
  const spawnError = r.failed && r.exitCode === undefined;
  return {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode,
    code: spawnError ? (r.cause as NodeJS.ErrnoException | undefined)?.code ?? (/ENOENT/.test(r.message ?? '') ? 'ENOENT' : undefined) : undefined,
    message: spawnError ? r.message : undefined,
  };
}

/**
 * `timeoutMs`: kill the tool after this long (bounded probes); it then reports exit code 1.
 * `env`: changes to the inherited environment (undefined removes a variable).
 */
export async function run(tool: HostTool, args: string[], opts: { netns?: string; input?: string; timeoutMs?: number; env?: Record<string, string | undefined> } = {}): Promise<RunResult> {
  // ip and bridge enter a namespace themselves; the others run under `ip netns exec`.
  const nsAware = tool === 'ip' || tool === 'bridge';
  const [cmd, full] = !opts.netns ? [tool, args] : nsAware ? [tool, ['-n', opts.netns, ...args]] : ['ip', ['netns', 'exec', opts.netns, tool, ...args]];
  const r = await spawnCollect(cmd, full, opts.input ?? '', opts.timeoutMs, opts.env);
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
