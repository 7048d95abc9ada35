// The driver the WireGuard kinds share (as nat and filter share netfilter.ts):
// changes into write phases, and the `-o commands` lines. Pure.
//   early (before the ip batches): devices created, recreated or set (mtu,
//     up) — one `wireguard:link` batch, the host module tries the kernel first and
//     falls back to the userspace implementation;
//   after the ip batches: per device with any change, one `wg syncconf` of
//     its whole desired state (private key from the key file, listen port,
//     every peer), then deleted devices (`ip link del`).
// No line carries a key: the host writer builds syncconf's input itself.
import type { WritePhases } from '../../engine/host.js';
import type { Batch } from '../../engine/batches.js';
import type { ActualState, Change, ChangeOf, Entry, WgDeviceEntry, WgPeerEntry } from '../../model/types.js';
import { dev, int, type KindDriver, type KindReader } from '../../kinds/types.js';

type WgChange = ChangeOf<WgDeviceEntry> | ChangeOf<WgPeerEntry>;

/** What the `wireguard:sync` writer needs for one device: its whole desired state (the key comes from the key file). */
export interface WgSyncPayload {
  dev: string;
  listenPort: number;
  /** The public key the device must end up with, when the source publishes one for this node. */
  publicKey?: string;
  peers: WgPeerEntry[];
}

const isDevice = (e: Entry): e is WgDeviceEntry => e.kind === 'wg-device';
const isPeer = (e: Entry): e is WgPeerEntry => e.kind === 'wg-peer';
const devOf = (c: WgChange) => (c.kind === 'wg-device' ? (c.desired ?? c.actual)!.name : (c.desired ?? c.actual)!.dev);

/** Device creations and changes, before the ip batches put addresses and routes on them. */
export function wireguardEarly(changes: ChangeOf<WgDeviceEntry>[]): WritePhases {
  const lines = changes.filter((c) => c.action !== 'delete').map((c) => {
    const e = c.desired!;
    const verb = c.action === 'change' ? 'set' : c.action;
    return { line: `${verb} ${dev(e.name)} mtu ${int(e.mtu)}${e.up ? ' up' : ''}`, change: c as Change };
  });
  return lines.length ? [[{ tool: 'wireguard:link', lines }]] : [];
}

/** After the ip batches: one syncconf per device with a change, then the deleted devices. */
export function wireguardPhases(changes: WgChange[], ctx: { desired: readonly Entry[]; actual: ActualState }): WritePhases {
  const devices = new Map(ctx.desired.filter(isDevice).map((d) => [d.name, d]));
  const byDev = new Map<string, WgChange[]>();
  for (const c of changes) {
    const name = devOf(c);
    const list = byDev.get(name);
    if (list) list.push(c);
    else byDev.set(name, [c]);
  }
  const sync: Batch[] = [];
  for (const [name, mine] of byDev) {
    const d = devices.get(name);
    // A device not desired is deleted below; its peers go with it.
    if (!d) continue;
    const payload: WgSyncPayload = { dev: name, listenPort: d.listenPort, ...(d.publicKey ? { publicKey: d.publicKey } : {}), peers: ctx.desired.filter(isPeer).filter((p) => p.dev === name) };
    sync.push({ tool: 'wireguard:sync', lines: mine.map((c) => ({ line: `syncconf ${dev(name)} (${payload.peers.length} peers)`, change: c as Change })), payload });
  }
  const deleted = changes.filter((c): c is ChangeOf<WgDeviceEntry> => c.kind === 'wg-device' && c.action === 'delete')
    .map((c) => ({ line: `del ${dev(c.actual!.name)}`, change: c as Change }));
  const out: WritePhases = [];
  if (sync.length) out.push(sync);
  if (deleted.length) out.push([{ tool: 'wireguard:link', lines: deleted }]);
  return out;
}

/** The host's key file as the backend resolves it (backends/wireguard/keyfile.ts), without loading its file I/O for a plan. */
function hostKeyFile(): string {
  return process.env.WIREGUARD_KEY_FILE || '/run/flannel/wgkey';
}

/**
 * Runnable lines for an empty host: the devices first (the kernel's
 * WireGuard), the `wg set` of each device after the ip lines. Keys are file
 * references: the private key file, and "$WG_PSK_FILE" for a pre-shared key
 * (a file the operator fills with Backend.PSK).
 */
export function wireguardCommands(entries: readonly Entry[], keyFile = hostKeyFile()): { first: string[]; last: string[] } {
  const devices = entries.filter(isDevice);
  const first = devices.flatMap((e) => [`ip link add ${dev(e.name)} type wireguard`, `ip link set ${dev(e.name)} mtu ${int(e.mtu)}${e.up ? ' up' : ''}`]);
  const last = devices.map((d) => {
    const peers = entries.filter(isPeer).filter((p) => p.dev === d.name).map((p) => [
      `peer ${p.publicKey}`,
      p.endpoint ? `endpoint ${p.endpoint}` : '',
      `allowed-ips ${p.allowedIPs.map((a) => a.text).join(',')}`,
      p.keepalive ? `persistent-keepalive ${int(p.keepalive)}` : '',
      p.psk ? 'preshared-key "$WG_PSK_FILE"' : '',
    ].filter(Boolean).join(' '));
    return [`wg set ${dev(d.name)} private-key ${keyFile} listen-port ${int(d.listenPort)}`, ...peers].join(' ');
  });
  return { first, last };
}

/** The kinds' `commands` hook (one function, so the lines are rendered once). */
export const wireguardCommandsHook = (entries: readonly Entry[]) => wireguardCommands(entries);

/** The host side of both WireGuard kinds (host.ts: `wg show dump`, the devices, `wg syncconf`), loaded only when they are read or written. */
export async function wireguardDriver(): Promise<KindDriver> {
  const host = await import('./host.js');
  return { read: (netns, ask) => host.readWireguard(netns, ask as string[]), write: host.writeWireguard };
}

/**
 * The WireGuard devices of the plan that exist, read (one `wg show <dev>
 * dump` each) by every snapshot that plans WireGuard; a device wg can not
 * talk to is left out. Without root they are not read: the peers are then
 * not judged (kind-peer.ts).
 */
export const wireguardReader: KindReader = {
  name: 'wireguard',
  scope(desired, actual) {
    if (!desired.some(isDevice)) return undefined;
    const names = desired.filter(isDevice).map((d) => d.name).filter((n) => actual.links.has(n));
    return { ask: names.length ? names : undefined };
  },
  store(actual, read, unreadable) {
    actual.wireguard = unreadable ? undefined : (read as ActualState['wireguard']) ?? new Map();
  },
  unprivileged: { subject: 'WireGuard peers', message: 'reading them needs root: not compared (run diff with sudo)' },
};
