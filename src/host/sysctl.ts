// Reads and sets the pinned per-device sysctl settings inside the target
// namespace: one `sysctl` for the read, one for the writes, only when planned.
import { HostError } from '../errors.js';
import type { SysctlEntry } from '../model/types.js';
import { isPermissionDenied, permissionError, run } from './exec.js';
import { parseSysctlShow, sysctlPath, sysctlWriteArgs } from './sysctl-text.js';

/** The current values (by entry key); a setting the kernel lacks reads as undefined. */
export async function readSysctl(netns: string | undefined, entries: readonly SysctlEntry[]): Promise<Map<string, number | undefined>> {
  if (!entries.length) return new Map();
  // -e: a missing setting (IPv6 disabled) is no error, it is just not printed.
  const r = await run('sysctl', ['-e', ...entries.map(sysctlPath)], { netns });
  if (r.exitCode !== 0) throw new HostError(`reading ${entries.map(sysctlPath).join(', ')} failed: ${r.stderr.trim().split('\n')[0] || `sysctl exited ${r.exitCode}`}`);
  return parseSysctlShow(r.stdout, entries);
}

/**
 * Sets the entries; returns the error message of each that failed. On a
 * kernel without IPv6 (no /proc/sys/net/ipv6) there is nothing to pin, which
 * is no failure: the verifying read finds the setting absent, in sync.
 */
export async function writeSysctl(netns: string | undefined, entries: readonly SysctlEntry[]): Promise<Map<SysctlEntry, string>> {
  const failed = new Map<SysctlEntry, string>();
  if (!entries.length) return failed;
  const r = await run('sysctl', sysctlWriteArgs(entries), { netns });
  if (r.exitCode === 0) return failed;
  if (isPermissionDenied(r.stderr)) throw permissionError();
  const lines = r.stderr.split('\n').filter(Boolean);
  const missing = (l: string | undefined) => l !== undefined && /No such file or directory/.test(l);
  // Only on this failure path: one more read tells "no IPv6 at all" from "no such device".
  const ipv6Off = lines.some(missing) && !(await run('sysctl', ['-e', '-n', 'net/ipv6/conf/all/accept_ra'], { netns })).stdout.trim();
  for (const e of entries) {
    const line = lines.find((l) => l.includes(sysctlPath(e)));
    if (missing(line)) {
      if (!ipv6Off) failed.set(e, `no ${sysctlPath(e)}: Cannot find device "${e.dev}"`);
      continue;
    }
    if (line || !lines.length) failed.set(e, line?.replace(/^sysctl: /, '') ?? `sysctl exited ${r.exitCode}`);
  }
  return failed;
}
