// The address on ovlnet's device (<subnet>.0/32, /128 for IPv6).
import type { AddrEntry } from '../model/types.js';
import { dev, type KindSpec } from './types.js';

export const addr: KindSpec<AddrEntry> = {
  kind: 'addr',
  key: (e) => `addr:${e.dev}/${e.addr.text}`,
  // The key holds all its fields.
  compare: () => [],
  // A stale address goes after the new one is in place: removing a device's
  // last IPv4 address flushes its IPv4 routes and neighbours (reconcile/kernel-effects.ts).
  order: { delete: 10, add: 9 },
  writer: 'ip',
  lines: {
    // nodad: an IPv6 VTEP address is usable at once (no neighbour answers DAD on a vxlan device anyway).
    add: (e) => [['ip', `addr replace ${e.addr.text} dev ${dev(e.dev)}${e.addr.family === 6 ? ' nodad' : ''}`]],
    delete: (e) => [['ip', `addr del ${e.addr.text} dev ${dev(e.dev)}`]],
  },
  describe: (e) => `addr ${e.addr.text} dev ${e.dev}`,
  // Held by the device's link in the model (HostLink.addrs): gone with it.
  onDevice: { device: (e) => e.dev, drop: () => undefined },
  collectOwned(ctx, onFreshDevice) {
    for (const l of ctx.actual.links.values()) {
      if (!ctx.policy.ownsDevice(l.name) || onFreshDevice(l.name)) continue;
      for (const a of l.addrs) {
        const e: AddrEntry = { kind: 'addr', dev: l.name, addr: a };
        ctx.owned.set(addr.key(e), e);
      }
    }
  },
  // No model: a new address brings routes of its own.
};
