// A per-device sysctl setting ovlnet pins (accept_ra = 0 on the vxlan
// devices, as flannel sets it). Written by one `sysctl -w` for all of them;
// read with the host when planned, and followed by the daemon's kernel model
// (a write sets exactly the value written), so event cycles read nothing.
// A setting the kernel does not have (no IPv6) reads as absent: nothing to
// pin, in sync.
import { sysctlPath } from '../host/sysctl-text.js';
import type { SysctlEntry } from '../model/types.js';
import type { Difference, KindSpec } from './types.js';

const NONE: Difference[] = [];
const PREFIX = 'sysctl:';

/** The entry an actual value stands for (the key holds the device and the name; a device name has no '/'). */
function fromKey(key: string, value: number): SysctlEntry {
  const rest = key.slice(PREFIX.length);
  const at = rest.lastIndexOf('/');
  return { kind: 'sysctl', dev: rest.slice(0, at), name: rest.slice(at + 1), value };
}

export const sysctl: KindSpec<SysctlEntry> = {
  kind: 'sysctl',
  key: (e) => `${PREFIX}${e.dev}/${e.name}`,
  compare: (d, a) => (a.value === d.value ? NONE : [{ field: d.name, from: String(a.value), to: String(d.value) }]),
  // Never deleted (keepStale); set once its device exists, beside the offload features.
  order: { delete: -1, add: 11 },
  writer: 'sysctl',
  describe: (e) => `sysctl net/ipv6/conf/${e.dev}/${e.name} = ${e.value}`,
  onDevice: {
    device: (e) => e.dev,
    drop(m, dev) {
      if (m.sysctl) m.sysctl = new Map([...m.sysctl].filter(([k]) => !k.startsWith(`${PREFIX}${dev}/`)));
      return undefined;
    },
  },
  collectOwned(ctx, onFreshDevice) {
    // A created or recreated device starts with the kernel's default: the setting is to be written again.
    for (const [key, value] of ctx.actual.sysctl ?? []) {
      if (value === undefined) continue;
      const e = fromKey(key, value);
      if (ctx.policy.ownsDevice(e.dev) && !onFreshDevice(e.dev)) ctx.owned.set(key, e);
    }
  },
  unowned(d, key, ctx) {
    // Read and absent (a kernel without IPv6): nothing to pin, in sync. Unread (no device yet) or fresh: added.
    if (ctx.fresh.has(d.dev) || !ctx.actual.sysctl?.has(key) || ctx.actual.sysctl.get(key) !== undefined) return false;
    ctx.inSync++;
    return true;
  },
  // The setting belongs to the device and goes with it.
  keepStale: true,
  phases: (changes) => {
    const lines = changes.flatMap((c) => (c.desired ? [{ line: `${sysctlPath(c.desired)}=${c.desired.value}`, change: c }] : []));
    return lines.length ? [[{ tool: 'sysctl' as const, lines }]] : [];
  },
  // A setting of the device alone: written while the peers' entries are.
  besidePeers: true,
  model: {
    apply(next, actual, changes) {
      next.sysctl = new Map(actual.sysctl);
      for (const c of changes) if (c.desired) next.sysctl.set(sysctl.key(c.desired), c.desired.value);
    },
  },
};
