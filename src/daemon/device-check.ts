// What a read of the host's devices says about one of ovlnet's devices that
// the kernel model holds, when its events could not tell (kernel-events.ts
// asks for the read): a device event whose text has no MTU, MAC or vxlan
// attributes; a device reported down, which is also how its deletion
// begins; a flush of its entries, which is how a vxlan device's deletion
// begins (the kernel empties its fdb first, and the deletion's own event is
// usually lost in that burst at thousands of peers). Pure.
//
// The verdicts, each exact or a host read:
// - `same`: nothing the model does not know;
// - `deleted`: gone: the kernel took its addresses, routes, neighbours and
//   fdb entries along (kernel-events.ts withoutDevice);
// - `changed`: the same device (index) with other attributes the kernel
//   changes in place (MTU, MAC, vxlan local address, learning): the model
//   takes the read device, and the plan's diff sets them back;
// - `unknown`: what the kernel did beside it is not in the read: set down
//   (its IPv4 routes went without an event), an address removed (the last
//   IPv4 one takes the device's IPv4 routes and neighbours along), another
//   device of that name (a replacement), or one the model does not hold.
import type { HostLink } from '../model/types.js';

export type DeviceVerdict = 'same' | 'deleted' | 'changed' | 'unknown';

const addrsOf = (l: HostLink) => l.addrs.map((a) => a.text).sort().join(' ');

/** The attributes the kernel changes in place (`ip link set`), as one comparable string. */
function attributes(l: HostLink): string {
  const v = l.vxlan;
  return JSON.stringify([l.kind, l.mtu, l.mac?.text, v && [v.id, v.local?.text, v.link, v.port, v.learning, Boolean(v.gbp)], l.tun && [l.tun.type, l.tun.pi, l.tun.persist, l.tun.multiQueue]]);
}

/**
 * `modelled`: the device as the kernel model holds it (its `up` false when an
 * event since the last read said it went down); `read`: as the host has it now.
 */
export function deviceVerdict(modelled: HostLink | undefined, read: HostLink | undefined): DeviceVerdict {
  if (!modelled) return read ? 'unknown' : 'same';
  if (!read) return 'deleted';
  if (read.index !== modelled.index || !modelled.up || !read.up) return 'unknown';
  if (addrsOf(read) !== addrsOf(modelled)) return 'unknown';
  return attributes(read) === attributes(modelled) ? 'same' : 'changed';
}
