// A WireGuard device (flannel-wg, flannel-wg-v6): a kernel `wireguard` link,
// or, where the kernel has no WireGuard, a TUN served by the userspace
// implementation (wg-quick's fallback). Created before the ip batches run
// (they put its address and route on it: `early`); its private key and
// listen port are written with its peers (wg-peer.ts, one `wg syncconf` per
// device). Recreating it wipes everything on it: a device hook.
import type { ActualState, HostLink, WgDeviceEntry } from '../../model/types.js';
import { dropLink, formatDifferences, upDown, type Difference, type KindSpec } from '../../kinds/types.js';
import { wireguardCommandsHook, wireguardDriver, wireguardEarly, wireguardPhases, wireguardReader } from './driver.js';

/** Why the host's link can not be this WireGuard device, or undefined when it can. */
function unusable(l: HostLink, actual: ActualState): string | undefined {
  if (l.kind !== 'wireguard' && l.kind !== 'tun') return `not a WireGuard device (${l.kind ?? 'plain'})`;
  if (l.kind === 'wireguard' && actual.wireguard && !actual.wireguard.has(l.name)) return 'wireguard device that wg can not configure';
  return undefined;
}

/**
 * A TUN of the device's name that wg can not reach: a userspace
 * implementation serving it from another mount namespace (its socket under
 * another /run/wireguard), or a stranger's TUN. The implementation's own TUN
 * vanishes when it exits, so it is most likely alive elsewhere: never
 * deleted, reported as a conflict.
 */
export function unreachableTun(actual: ActualState, name: string): boolean {
  const l = actual.links.get(name);
  return l?.kind === 'tun' && actual.wireguard !== undefined && !actual.wireguard.has(name);
}

/** The host's device as an entry (the WireGuard half only when it was read). */
export function actualWgDevice(actual: ActualState, l: HostLink): WgDeviceEntry {
  const w = actual.wireguard?.get(l.name);
  return { kind: 'wg-device', name: l.name, mtu: l.mtu, listenPort: w?.listenPort ?? 0, ...(w?.publicKey ? { publicKey: w.publicKey } : {}), up: l.up };
}

function compare(d: WgDeviceEntry, a: WgDeviceEntry, wgRead = true): Difference[] {
  const out: Difference[] = [];
  if (a.mtu !== d.mtu) out.push({ field: 'mtu', from: String(a.mtu), to: String(d.mtu) });
  if (wgRead && a.listenPort !== d.listenPort) out.push({ field: 'listen-port', from: String(a.listenPort), to: String(d.listenPort) });
  // Public keys only: the private key is never compared or shown, the device's public key says whose it is.
  if (wgRead && (a.publicKey === undefined || (d.publicKey !== undefined && a.publicKey !== d.publicKey))) {
    out.push({ field: 'private-key', from: a.publicKey ? `of ${a.publicKey}` : '(none)', to: d.publicKey ? `of ${d.publicKey}` : 'the key file\'s', text: `private key ${a.publicKey ? `of public key ${a.publicKey}` : '(none)'} -> ${d.publicKey ? `of public key ${d.publicKey}` : 'the key file\'s'}` });
  }
  if (a.up !== d.up) out.push(upDown(a.up, d.up));
  return out;
}

export const wgDevice: KindSpec<WgDeviceEntry> = {
  kind: 'wg-device',
  // One key per device name, whatever its type: the kernel has one.
  key: (e) => `link:${e.name}`,
  compare: (d, a) => compare(d, a),
  order: { delete: 5, add: 7 },
  writer: 'wireguard:link',
  early: wireguardEarly,
  phases: wireguardPhases,
  commands: wireguardCommandsHook,
  reader: wireguardReader,
  driver: wireguardDriver,
  describe: (e) => `link ${e.name} wireguard${e.listenPort ? ` listen-port ${e.listenPort}` : ''} mtu ${e.mtu}${e.publicKey ? ` public-key ${e.publicKey}` : ''}`,
  // The link, and its WireGuard half (keys, port, peers: the read of wg-peer too).
  onDevice: {
    device: (e) => e.name,
    drop(m, dev) {
      dropLink(m, dev);
      if (m.wireguard?.has(dev)) {
        m.wireguard = new Map(m.wireguard);
        m.wireguard.delete(dev);
      }
      return undefined;
    },
  },
  device(d, ctx) {
    const key = wgDevice.key(d);
    const l = ctx.actual.links.get(d.name);
    if (unreachableTun(ctx.actual, d.name)) {
      ctx.conflicts.push({ subject: `link ${d.name}`, message: `a TUN device wg can not reach: its userspace WireGuard runs in another mount namespace (or it is not WireGuard); left as it is, its peers unchecked. Run ovlnet in that mount namespace, or delete the device (ip link del ${d.name}) to have it created again` });
      return;
    }
    const why = l && unusable(l, ctx.actual);
    if (!l || why) {
      ctx.changes.push(l ? { action: 'replace', kind: 'wg-device', key, desired: d, detail: why } : { action: 'add', kind: 'wg-device', key, desired: d });
      ctx.fresh.add(d.name);
      return;
    }
    const a = actualWgDevice(ctx.actual, l);
    const ds = compare(d, a, ctx.actual.wireguard !== undefined);
    if (ds.length) ctx.changes.push({ action: 'change', kind: 'wg-device', key, desired: d, actual: a, detail: formatDifferences(ds) });
    else ctx.inSync++;
  },
};
