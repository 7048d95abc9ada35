// The only place that starts `ip` and `bridge`: execa with an argument
// vector and batch input on stdin, never a shell.
import { execa } from 'execa';
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
  return new HostError(`${tool} is not installed`, `install it: apt-get install ${PACKAGE_OF[tool]} (or your distribution's ${PACKAGE_OF[tool]} package)`);
}

export async function run(tool: HostTool, args: string[], opts: { netns?: string; input?: string } = {}): Promise<RunResult> {
  // ip and bridge enter a namespace themselves; the others run under `ip netns exec`.
  const nsAware = tool === 'ip' || tool === 'bridge';
  const [cmd, full] = !opts.netns ? [tool, args] : nsAware ? [tool, ['-n', opts.netns, ...args]] : ['ip', ['netns', 'exec', opts.netns, tool, ...args]];
  let r;
  try {
    r = await execa(cmd, full, { input: opts.input ?? '', reject: false, stripFinalNewline: false, maxBuffer: 512 * 1024 * 1024 });
  } catch (e) {
    throw new HostError(`cannot run ${tool}: ${(e as Error).message}`);
  }
  if ((r as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(r.message ?? ''))) throw notInstalled(cmd as HostTool);
  if (!nsAware && opts.netns && r.exitCode === 255 && /^exec of "[^"]+" failed: No such file/m.test(String(r.stderr ?? ''))) {
    throw notInstalled(tool);
  }
  const stderr = String(r.stderr ?? '');
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
