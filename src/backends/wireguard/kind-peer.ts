// One WireGuard peer of ovlnet's device, keyed by device and public key.
// Compared by endpoint, allowed-ips (as a set), keepalive and pre-shared key
// (presence and value, never shown). Written with every other change of its
// device in one `wg syncconf` (wireguard.ts); read by `wg show <dev> dump`
// with every snapshot that plans WireGuard, so the daemon needs no model.
import type { WgPeerEntry } from '../../model/types.js';
import type { Difference, KindSpec } from '../../kinds/types.js';
import { unreachableTun } from './kind-device.js';
import { wireguardCommandsHook, wireguardDriver, wireguardPhases } from './driver.js';

const NONE: Difference[] = [];
const ips = (e: WgPeerEntry) => e.allowedIPs.map((p) => p.text).sort().join(',') || '(none)';

function compare(d: WgPeerEntry, a: WgPeerEntry): Difference[] {
  const out: Difference[] = [];
  if ((a.endpoint ?? '') !== (d.endpoint ?? '')) out.push({ field: 'endpoint', from: a.endpoint ?? '(none)', to: d.endpoint ?? '(none)' });
  const ai = ips(a);
  const di = ips(d);
  if (ai !== di) out.push({ field: 'allowed-ips', from: ai, to: di });
  if (a.keepalive !== d.keepalive) out.push({ field: 'persistent-keepalive', from: a.keepalive ? String(a.keepalive) : 'off', to: d.keepalive ? String(d.keepalive) : 'off' });
  // The keys are compared, never printed: only whether there is one, and whether it is the configured one.
  if (!a.psk !== !d.psk) out.push({ field: 'preshared-key', from: a.psk ? 'set' : 'none', to: d.psk ? 'set' : 'none', text: d.psk ? 'preshared-key added' : 'preshared-key removed' });
  else if (a.psk && d.psk && a.psk.reveal() !== d.psk.reveal()) out.push({ field: 'preshared-key', from: 'set', to: 'set', text: 'preshared-key differs from Backend.PSK' });
  return out.length ? out : NONE;
}

export const wgPeer: KindSpec<WgPeerEntry> = {
  kind: 'wg-peer',
  key: (e) => `wg-peer:${e.dev}/${e.publicKey}`,
  compare,
  order: { delete: 3, add: 13 },
  // The one object per peer of this backend (the route is the network's): what the mass-deletion guard counts.
  peer: true,
  writer: 'wireguard:sync',
  phases: wireguardPhases,
  commands: wireguardCommandsHook,
  driver: wireguardDriver,
  // Peers on ovlnet's devices: their deletions are what the guard counts for this backend.
  ownedPeers(actual, policy) {
    let n = 0;
    for (const [dev, w] of actual.wireguard ?? []) if (policy.ownsDevice(dev)) n += w.peers.length;
    return n;
  },
  noun: ['WireGuard peer'],
  describe: (e) => `wg peer ${e.publicKey} dev ${e.dev} endpoint ${e.endpoint ?? '(none)'} allowed-ips ${ips(e)}${e.keepalive ? ` persistent-keepalive ${e.keepalive}` : ''}${e.psk ? ' preshared-key (redacted)' : ''}`,
  // Held by its device's read (ActualState.wireguard), which wg-device drops.
  onDevice: { device: (e) => e.dev, drop: () => undefined },
  collectOwned(ctx, onFreshDevice) {
    for (const [name, w] of ctx.actual.wireguard ?? []) {
      if (!ctx.policy.ownsDevice(name) || onFreshDevice(name)) continue;
      for (const p of w.peers) ctx.owned.set(wgPeer.key(p), p);
    }
  },
  // Peers of a device wg can not reach (wg-device.ts) are not judged: the device is a conflict already.
  // Nor when the peers were not read (diff without root): not judged either way. A device
  // (re)created by this diff has none: its peers are added whatever was read.
  unowned: (d, _key, ctx) => !ctx.fresh.has(d.dev) && (ctx.actual.wireguard === undefined || unreachableTun(ctx.actual, d.dev)),
  model: 'reread',
};
