// `ovlnet cleanup` of the udp backend's persistent TUN: flanneld's own is not
// persistent, so a persistent flannel0 carrying ovlnet routes (and no foreign
// one) is ovlnet's. Pure.
import { deleteOf } from '../../kinds/index.js';
import type { CleanupContext } from '../types.js';
import { UDP_DEVICE } from './plan.js';

export function cleanupUdp(ctx: CleanupContext): void {
  const tun = ctx.actual.links.get(UDP_DEVICE);
  if (!tun?.tun) return;
  const reason = ctx.allFlannelDevices ? '--all-flannel-devices'
    : tun.tun.persist && ctx.foreignOn(tun.name).length === 0 && ctx.ours.some((r) => r.dev === tun.name) ? 'persistent TUN carrying ovlnet routes' : undefined;
  if (reason) {
    ctx.changes.push(deleteOf({ kind: 'tun', name: tun.name, mtu: tun.mtu, up: tun.up }, undefined, reason));
  } else {
    ctx.kept.push({ subject: `link ${tun.name}`, message: 'kept: not a persistent TUN carrying ovlnet routes only (it may be flanneld\'s); remove it with --all-flannel-devices' });
  }
}
