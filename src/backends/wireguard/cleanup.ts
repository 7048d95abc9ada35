// `ovlnet cleanup` of WireGuard devices. flanneld deletes its flannel-wg when
// it stops, so one left on the host is ovlnet's when ovlnet routes go through
// it and no foreign route does (or --all-flannel-devices says so); a running
// flanneld's own device carries flanneld's routes and is kept. Deleting a
// userspace device's TUN makes the userspace implementation exit. Pure.
import { actualWgDevice } from './kind-device.js';
import type { CleanupContext } from '../types.js';
import { WG_DEVICE, WG_DEVICE_V6 } from './plan.js';

export function cleanupWireguard(ctx: CleanupContext): void {
  for (const name of [WG_DEVICE, WG_DEVICE_V6]) {
    const l = ctx.actual.links.get(name);
    if (!l || (l.kind !== 'wireguard' && l.kind !== 'tun')) continue;
    const foreign = ctx.foreignOn(name);
    const reason = ctx.allFlannelDevices ? '--all-flannel-devices'
      : foreign.length === 0 && ctx.ours.some((r) => r.dev === name) ? 'carries ovlnet routes' : undefined;
    if (!reason) {
      ctx.kept.push({ subject: `link ${name}`, message: `kept: ${foreign.length ? `routes not ovlnet's use it (e.g. ${foreign[0].dst.text})` : 'no ovlnet route uses it'}: it may be flanneld's; remove it with --all-flannel-devices` });
      continue;
    }
    ctx.changes.push({ action: 'delete', kind: 'wg-device', key: `link:${name}`, actual: actualWgDevice(ctx.actual, l), detail: reason });
  }
}
