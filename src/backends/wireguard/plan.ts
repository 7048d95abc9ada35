// The wireguard backend, as flannel programs it (pkg/backend/wireguard):
//   device flannel-wg (and flannel-wg-v6 in Mode separate), MTU = the
//   underlay's (or Backend.MTU) minus WireGuard's overhead, address = the own
//   subnet's network address /32 (/128), one link-scope route for the whole
//   pod network through the device, and per peer: its public key, endpoint
//   publicIP:port, allowed-ips = its subnet(s), keepalive and PSK.
// A peer whose BackendData holds no valid public key is left out with a
// problem. Pure.
import { ConfigError } from '../../errors.js';
import { OVLNET_ROUTE_PROTO } from '../../model/keys.js';
import { makePrefix, networkOf, parsePrefix, prefixContainsIP, type IP, type Prefix } from '../../model/ip.js';
import type { DesiredState, Entry, Node, NodeFamily, PeerPlan, Problem, WgDeviceEntry, WgPeerEntry, WireguardConfig } from '../../model/types.js';
import { MIN_MTU } from '../../validate/fields.js';
import type { PlanInput } from '../types.js';
import { endpointOf } from './conf.js';
import { asPublicKey } from './keys.js';

export const WG_DEVICE = 'flannel-wg';
export const WG_DEVICE_V6 = 'flannel-wg-v6';
/** IPv4 (20) + UDP (8) + WireGuard's header (16) and tag (16): what wg-quick subtracts. */
export const WG_OVERHEAD = 60;
/** The same over an IPv6 underlay (a 40-byte header). */
export const WG_OVERHEAD_V6 = 80;

/** The public key and listen port a node's BackendData publishes (flannel's wireguardLeaseAttrs). */
export function wireguardAttrs(data: unknown): { publicKey?: string; port?: number } {
  if (typeof data !== 'object' || data === null) return {};
  const d = data as Record<string, unknown>;
  const port = typeof d.Port === 'number' && Number.isInteger(d.Port) && d.Port > 0 && d.Port <= 65535 ? d.Port : undefined;
  return { publicKey: asPublicKey(d.PublicKey), ...(port ? { port } : {}) };
}

/** The devices a config uses: flannel-wg for IPv4 (and the single-device modes), flannel-wg-v6 for IPv6 in Mode separate. */
export function wireguardDevices(config: { network: { family: number }; ipv6?: unknown; backend: { type: string; mode?: string } }): string[] {
  if (config.backend.type !== 'wireguard') return [];
  if (config.backend.mode !== 'separate') return [WG_DEVICE];
  const out: string[] = [];
  if (config.network.family === 4) out.push(WG_DEVICE);
  if (config.network.family === 6 || config.ipv6) out.push(WG_DEVICE_V6);
  return out;
}

/** The device's MTU: Backend.MTU, else the underlay's, minus the overhead of the endpoints' family. */
export function wireguardMTU(configured: number | undefined, underlayMTU: number, underlayDev: string, v6Endpoints: boolean): number {
  const base = configured ?? underlayMTU;
  const overhead = v6Endpoints ? WG_OVERHEAD_V6 : WG_OVERHEAD;
  const mtu = base - overhead;
  if (mtu < MIN_MTU) {
    throw new ConfigError(`wireguard MTU ${mtu} (${configured === undefined ? `underlay ${underlayDev} MTU` : 'Backend.MTU'} ${base} - ${overhead}) is below ${MIN_MTU}`);
  }
  return mtu;
}

// Go's net.IP.IsPrivate: RFC 1918 and RFC 4193.
const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'].map((s) => parsePrefix(s)!);
const isPrivate = (ip: IP) => PRIVATE.some((p) => prefixContainsIP(p, ip));

/**
 * Mode auto, as flannel's selectMode: IPv4 unless the peer has an IPv6 half
 * and only IPv6 looks public on both sides.
 */
function autoFamily(peer: Node, local: Node): 4 | 6 {
  if (!peer.v6 || !local.v6) return 4;
  if (!isPrivate(peer.publicIP)) return 4;
  if (!isPrivate(peer.v6.publicIP) && !isPrivate(local.v6.publicIP)) return 6;
  return 4;
}

interface DevicePlan {
  device: WgDeviceEntry;
  addrs: Entry[];
  routes: Entry[];
}

function devicePlan(name: string, mtu: number, listenPort: number, own: Array<{ fam: NodeFamily; network: Prefix }>, localKey: string | undefined): DevicePlan {
  return {
    device: { kind: 'wg-device', name, mtu, listenPort, ...(localKey ? { publicKey: localKey } : {}), up: true },
    addrs: own.map(({ fam }) => ({ kind: 'addr', dev: name, addr: makePrefix(networkOf(fam.subnet).addr, fam.subnet.family === 6 ? 128 : 32) })),
    // Link scope (no gateway): the own subnet is more specific (the CNI bridge) and wins.
    routes: own.map(({ network }) => ({ kind: 'route', dst: network, dev: name, onlink: false, proto: OVLNET_ROUTE_PROTO })),
  };
}

export function planWireguard(input: PlanInput): DesiredState {
  const { cluster, underlay } = input;
  const config = cluster.config;
  const b = config.backend;
  if (b.type !== 'wireguard') throw new Error('planWireguard called for ' + b.type);
  const local = cluster.local;
  const others = cluster.nodes.filter((n) => n !== local);
  const problems: Problem[] = [];
  // The node's families: [family, this node's half, the network].
  const v6only = config.network.family === 6;
  const fam4 = v6only ? undefined : { fam: local as NodeFamily, network: config.network };
  const fam6 = v6only ? { fam: local as NodeFamily, network: config.network }
    : config.ipv6 && local.v6 ? { fam: local.v6, network: config.ipv6.network } : undefined;
  if (config.ipv6 && !v6only && !local.v6) problems.push({ subject: `node ${local.name}`, message: 'this node has no IPv6 subnet and public IPv6: IPv6 is not set up here' });
  const half6 = (n: Node): NodeFamily | undefined => (v6only ? n : n.v6);
  const localKey = wireguardAttrs(local.backendData).publicKey ?? wireguardAttrs(half6(local)?.backendData).publicKey;

  const devices: DevicePlan[] = [];
  const peers: WgPeerEntry[] = [];
  const planned = new Set<Node>();
  const peerEntry = (dev: string, key: string, endpoint: string, allowed: Prefix[]): WgPeerEntry => ({
    kind: 'wg-peer', dev, publicKey: key, endpoint, allowedIPs: [...allowed].sort((x, y) => (x.text < y.text ? -1 : 1)), keepalive: b.keepalive, ...(b.psk ? { psk: b.psk } : {}),
  });
  const leftOut = (n: Node, field: string) => problems.push({
    subject: `node ${n.name} (${n.origin})`,
    message: `no valid WireGuard public key in its ${field}: left out (it publishes one when it runs the wireguard backend)`,
  });

  if (b.mode === 'separate') {
    // One device per family, each with the peers' half of that family.
    const sides: Array<[string, number, { fam: NodeFamily; network: Prefix } | undefined, (n: Node) => NodeFamily | undefined, boolean, string]> = [
      [WG_DEVICE, b.listenPort, fam4, (n) => n, false, 'BackendData'],
      [WG_DEVICE_V6, b.listenPortV6, fam6, half6, true, v6only ? 'BackendData' : 'BackendV6Data'],
    ];
    for (const [name, port, own, halfOf, v6, field] of sides) {
      if (!own) continue;
      devices.push(devicePlan(name, wireguardMTU(b.mtu, underlay.mtu, underlay.dev, v6), port, [own], localKey));
      for (const n of others) {
        const half = halfOf(n);
        if (!half) continue;
        const attrs = wireguardAttrs(half.backendData);
        if (!attrs.publicKey) {
          leftOut(n, field);
          continue;
        }
        planned.add(n);
        // flannel: the port the lease publishes, else this device's own (older flannel published none).
        peers.push(peerEntry(name, attrs.publicKey, endpointOf(half.publicIP.text, attrs.port ?? port), [half.subnet]));
      }
    }
  } else {
    // One device for both families; the endpoint's family by Mode.
    const own = [fam4, fam6].filter((x): x is { fam: NodeFamily; network: Prefix } => x !== undefined);
    const v6Endpoints = b.mode === 'ipv6' || (b.mode === 'auto' && fam6 !== undefined) || v6only;
    devices.push(devicePlan(WG_DEVICE, wireguardMTU(b.mtu, underlay.mtu, underlay.dev, v6Endpoints), b.listenPort, own, localKey));
    for (const n of others) {
      const h6 = half6(n);
      const a4 = v6only ? {} : wireguardAttrs(n.backendData);
      const a6 = wireguardAttrs(h6?.backendData);
      const key = a6.publicKey ?? a4.publicKey;
      if (!key) {
        leftOut(n, 'BackendData');
        continue;
      }
      const family = v6only ? 6 : b.mode === 'ipv4' ? 4 : b.mode === 'ipv6' ? 6 : autoFamily(n, local);
      if (family === 6 && !h6) {
        problems.push({ subject: `node ${n.name} (${n.origin})`, message: `Mode ${b.mode}: no public IPv6 to reach it at: left out` });
        continue;
      }
      const endpoint = family === 6 ? endpointOf(h6!.publicIP.text, a6.port ?? b.listenPortV6) : endpointOf(n.publicIP.text, a4.port ?? b.listenPort);
      const allowed = [...(v6only ? [] : [n.subnet]), ...(h6 && fam6 ? [h6.subnet] : [])];
      planned.add(n);
      peers.push(peerEntry(WG_DEVICE, key, endpoint, allowed));
    }
  }
  if (!devices.length) throw new ConfigError(`${config.backend.type}: no address family to set up a WireGuard device for`);
  const peerPlans: PeerPlan[] = others.filter((n) => planned.has(n)).map((node) => ({ node, via: 'wireguard' }));
  const first = devices[0].device.name;
  const second = devices[1]?.device.name;
  return {
    backend: 'wireguard', device: first, ...(second ? { device6: second } : {}),
    underlay: { dev: underlay.dev, mtu: underlay.mtu, found: underlay.found },
    local, peers: peerPlans,
    entries: [...devices.map((d) => d.device), ...devices.flatMap((d) => d.addrs), ...peers, ...devices.flatMap((d) => d.routes)],
    problems,
  };
}

export type { WireguardConfig };
