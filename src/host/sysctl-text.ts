// `sysctl` arguments and output for the settings ovlnet pins. Pure.
import { entryKey } from '../kinds/index.js';
import { isValidDeviceName } from '../model/keys.js';
import type { SysctlEntry } from '../model/types.js';

/** net/ipv6/conf/<dev>/<name>: the slash form, in which the dots of a device name stay dots. */
export function sysctlPath(e: Pick<SysctlEntry, 'dev' | 'name'>): string {
  if (!isValidDeviceName(e.dev) || !/^[a-z][a-z0-9_]{0,40}$/.test(e.name)) throw new Error(`refusing to render sysctl ${JSON.stringify([e.dev, e.name])}`);
  return `net/ipv6/conf/${e.dev}/${e.name}`;
}

/** How `sysctl` prints a key given in the slash form: dots and slashes swapped. */
function printedKey(path: string): string {
  return path.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** `sysctl -e <paths>` output ("net.ipv6.conf.flannel/1.accept_ra = 1") -> value by entry key; undefined when not printed (no such setting). */
export function parseSysctlShow(stdout: string, entries: readonly SysctlEntry[]): Map<string, number | undefined> {
  const printed = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) = (.*)$/.exec(line.trim());
    if (m) printed.set(m[1], m[2].trim());
  }
  const out = new Map<string, number | undefined>();
  for (const e of entries) {
    const v = printed.get(printedKey(sysctlPath(e)));
    out.set(entryKey(e), v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined);
  }
  return out;
}

export function sysctlWriteArgs(entries: readonly SysctlEntry[]): string[] {
  return ['-q', '-w', ...entries.map((e) => {
    if (!Number.isInteger(e.value)) throw new Error(`refusing to render sysctl value ${e.value}`);
    return `${sysctlPath(e)}=${e.value}`;
  })];
}
