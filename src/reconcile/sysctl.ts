// A pinned sysctl setting against the host's. Pure. Never deleted: the setting
// belongs to the device and goes with it.
import { entryKey } from '../model/keys.js';
import type { ActualState, Change, SysctlEntry } from '../model/types.js';

/** The change the setting needs, or undefined when it is in place (or the kernel has no such setting). */
export function diffSysctl(d: SysctlEntry, actual: ActualState, freshDevice: boolean): Change | undefined {
  const key = entryKey(d);
  // A device created or recreated now starts with the kernel's default; one not read yet too.
  if (freshDevice || !actual.sysctl?.has(key)) return { action: 'add', kind: 'sysctl', key, desired: d };
  const value = actual.sysctl.get(key);
  if (value === undefined || value === d.value) return undefined;
  return { action: 'change', kind: 'sysctl', key, desired: d, actual: { ...d, value }, detail: `${d.name} ${value} -> ${d.value}` };
}
