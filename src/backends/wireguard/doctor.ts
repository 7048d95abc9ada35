// `ovlnet doctor`'s WireGuard rows (the Backend's doctor hook): each planned
// device exists, wg can talk to it (kernel module, or the userspace
// implementation running in this mount namespace), it listens on the
// configured port, holds a private key, and has every planned peer. Pure:
// the snapshot's plan and host read in, check results out.
import type { ActualState, DesiredState, WgDeviceEntry, WgPeerEntry } from '../../model/types.js';
import { fail as failRow, pass, type CheckResult } from '../../doctor/types.js';
import { wireguardAttrs } from './plan.js';

const NAME = 'host.wireguard';

/** Every failing row: without the device, its key or its peers no overlay probe can answer. */
const fail = (name: string, message: string, hint?: string) => failRow(name, message, hint, { blocksOverlay: true });

export function wireguardChecks(desired: DesiredState, actual: ActualState): CheckResult[] {
  const nameOf = new Map<string, string>();
  for (const p of desired.peers) {
    for (const data of [p.node.backendData, p.node.v6?.backendData]) {
      const key = wireguardAttrs(data).publicKey;
      if (key) nameOf.set(key, p.node.name);
    }
  }
  const out: CheckResult[] = [];
  for (const d of desired.entries.filter((e): e is WgDeviceEntry => e.kind === 'wg-device')) {
    const dev = d.name;
    const w = actual.wireguard?.get(dev);
    if (!actual.links.has(dev)) {
      out.push(fail(NAME, `${dev} does not exist: no encrypted path to the peers`, 'ovlnet apply (or start ovlnet daemon)'));
      continue;
    }
    if (!w) {
      out.push(fail(NAME, `${dev} exists but wg can not configure it (no kernel WireGuard, and no userspace implementation serving it in this mount namespace)`,
        `wg show ${dev}; delete it (ip link del ${dev}) and run ovlnet apply to start ${process.env.WG_QUICK_USERSPACE_IMPLEMENTATION || 'wireguard-go'} for it`));
      continue;
    }
    if (w.listenPort !== d.listenPort) {
      out.push(fail(NAME, `${dev} listens on UDP ${w.listenPort}, the config says ${d.listenPort}: peers send to ${d.listenPort}`, 'ovlnet apply'));
      continue;
    }
    if (!w.publicKey) {
      out.push(fail(NAME, `${dev} has no private key: it can not talk to any peer`, 'ovlnet apply (it sets the key from the key file)'));
      continue;
    }
    if (d.publicKey && w.publicKey !== d.publicKey) {
      out.push(fail(NAME, `${dev} holds the key of public key ${w.publicKey}, but this node publishes ${d.publicKey}: peers drop its packets`,
        'restore the key file (WIREGUARD_KEY_FILE or /run/flannel/wgkey) or publish the new key, then ovlnet apply'));
      continue;
    }
    const want = desired.entries.filter((e): e is WgPeerEntry => e.kind === 'wg-peer' && e.dev === dev);
    const have = new Set(w.peers.map((p) => p.publicKey));
    const missing = want.filter((p) => !have.has(p.publicKey));
    if (missing.length) {
      const names = missing.slice(0, 5).map((p) => nameOf.get(p.publicKey) ?? p.publicKey).join(', ');
      out.push(fail(NAME, `${dev} lacks ${missing.length} of ${want.length} peers (${names}${missing.length > 5 ? ', ...' : ''}): traffic to them is dropped`, 'ovlnet diff; ovlnet apply'));
      continue;
    }
    out.push(pass(NAME, `${dev} listens on UDP ${w.listenPort} with all ${want.length} peer${want.length === 1 ? '' : 's'}`));
  }
  return out;
}
