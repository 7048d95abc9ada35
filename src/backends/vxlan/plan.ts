// The vxlan backend, exactly as flannel programs it (see
// shared reference "vxlan backend kernel state"):
//   device flannel.<VNI>, address <own subnet>.0/32, and per peer
//   neigh <peer .0> -> VtepMAC, fdb VtepMAC -> PublicIP, route via <peer .0> onlink.
import { ConfigError } from '../../errors.js';
import { OVLNET_ROUTE_PROTO, vxlanDeviceName, vxlanDeviceNameV6 } from '../../model/keys.js';
import { makePrefix, networkOf, type Family } from '../../model/ip.js';
import type { DesiredState, Entry, HostRoute, Node, NodeFamily, PeerPlan, Problem } from '../../model/types.js';
import { MIN_MTU } from '../../validate/config.js';
import { TX_CSUM_FEATURE } from './offload.js';
import { acceptRaOff } from './sysctl.js';
import { onLinkDevice } from './onlink.js';
import type { PlanInput, Underlay } from '../types.js';

/** What flannel subtracts from Backend.MTU (or the underlay's MTU) for the device, over either family. */
export const VXLAN_OVERHEAD = 50;

/** What DirectRouting looks peers up in: the host's table, else the underlay's connected prefixes. */
function lookupTable(underlay: Underlay, routes: HostRoute[] | undefined): HostRoute[] {
  // Away from the node, this host's table says nothing about the node's.
  if (!underlay.found) return [];
  if (routes) return routes;
  return underlay.connected.map((dst) => ({ dst, dev: underlay.dev, onlink: false, proto: 2 }));
}

/** The kernel's VXLAN6_HEADROOM: an IPv6 underlay header is 20 bytes longer. */
export const VXLAN6_OVERHEAD = 70;

/**
 * The vxlan device's MTU as flannel and the kernel make it. flannel's
 * Backend.MTU is the *underlay* MTU (default: the underlay device's): the
 * device is created with it minus 50. The kernel then caps a device at its
 * lower device's MTU minus the headroom (50, or 70 over IPv6) when created,
 * and refuses a larger one when changed, so the plan caps it the same way
 * (else it would never converge).
 */
export function vxlanDeviceMTU(configured: number | undefined, underlay: Pick<Underlay, 'dev' | 'mtu' | 'found'>, v6: boolean): { mtu: number; why: string } {
  const base = configured ?? underlay.mtu;
  const cap = underlay.mtu - (v6 ? VXLAN6_OVERHEAD : VXLAN_OVERHEAD);
  const asked = base - VXLAN_OVERHEAD;
  if ((configured === undefined || underlay.found) && cap < asked) return { mtu: cap, why: `underlay ${underlay.dev} MTU ${underlay.mtu} - ${v6 ? VXLAN6_OVERHEAD : VXLAN_OVERHEAD}` };
  return { mtu: asked, why: `${configured === undefined ? `underlay ${underlay.dev} MTU` : 'Backend.MTU'} ${base} - ${VXLAN_OVERHEAD}` };
}

/** A warning when a configured Backend.MTU looks like a device MTU (one larger than the underlay is refused by the plan). */
export function mtuProblems(configured: number | undefined, underlay: Pick<Underlay, 'dev' | 'mtu' | 'found'>): Problem[] {
  if (configured === undefined || !underlay.found) return [];
  if (configured === underlay.mtu - VXLAN_OVERHEAD) {
    return [{
      subject: 'Backend.MTU',
      message: `${configured} is the underlay MTU, as in flannel: the vxlan device gets ${configured - VXLAN_OVERHEAD}. ` +
        `If ${configured} was meant as the device's MTU, set ${underlay.mtu} (or leave MTU unset)`,
    }];
  }
  return [];
}

interface FamilyPlan {
  head: Entry[];
  neigh: Entry[];
  fdb: Entry[];
  routes: Entry[];
  peers: PeerPlan[];
}

/** The device and per-peer entries of one address family; `nodes` are seen through that family (`famOf`; those without it are left out). */
function planFamily(input: PlanInput, local: NodeFamily, nodes: Node[], famOf: (n: Node) => NodeFamily | undefined, family: Family): FamilyPlan {
  const { underlay, routes, host } = input;
  const backend = input.cluster.config.backend;
  if (backend.type !== 'vxlan') throw new Error('planVxlan called for ' + backend.type);
  const v6 = family === 6;
  const dev = v6 ? vxlanDeviceNameV6(backend.vni) : vxlanDeviceName(backend.vni);
  const { mtu, why } = vxlanDeviceMTU(backend.mtu, underlay, v6);
  if (mtu < MIN_MTU) throw new ConfigError(`vxlan MTU ${mtu} (${why}) is below ${MIN_MTU}`);
  // Backend.MTU is the underlay MTU (as in flannel): one larger than this host's
  // underlay can never be carried, and the kernel would refuse the device MTU on
  // every cycle, so the plan fails at once instead of never converging.
  if (backend.mtu !== undefined && underlay.found && backend.mtu > underlay.mtu) {
    throw new ConfigError(`Backend.MTU ${backend.mtu} is larger than underlay ${underlay.dev} MTU ${underlay.mtu}: ${dev} would need ${backend.mtu - VXLAN_OVERHEAD}, the underlay allows ${underlay.mtu - (v6 ? VXLAN6_OVERHEAD : VXLAN_OVERHEAD)}`,
      'lower Backend.MTU to the underlay MTU, or leave it out to follow the underlay');
  }
  const head: Entry[] = [
    {
      kind: 'link', name: dev, vni: backend.vni, local: (!v6 && underlay.local) || local.publicIP, underlay: underlay.dev,
      port: backend.port, learning: backend.learning ?? false, ...(backend.gbp ? { gbp: true } : {}), mtu, mac: local.vtepMAC, up: true,
    },
    { kind: 'addr', dev, addr: makePrefix(networkOf(local.subnet).addr, v6 ? 128 : 32) },
  ];
  head.push(acceptRaOff(dev));
  if (host?.disableTxOffload) head.push({ kind: 'offload', dev, feature: TX_CSUM_FEATURE, enabled: false });
  const table = backend.directRouting ? lookupTable(underlay, routes) : [];
  const out: FamilyPlan = { head, neigh: [], fdb: [], routes: [], peers: [] };
  const record = (node: Node, ...es: Entry[]) => {
    if (!input.peerEntries) return;
    const mine = input.peerEntries.get(node);
    if (mine) mine.push(...es);
    else input.peerEntries.set(node, es);
  };
  for (const node of nodes) {
    const fam = famOf(node);
    if (!fam) continue;
    const gw = networkOf(fam.subnet).addr;
    // flannel: a peer on-link from this host gets a plain route to its public IP, no neighbour or fdb entry.
    const direct = backend.directRouting ? onLinkDevice(table, fam.publicIP, [dev]) : undefined;
    if (direct) {
      out.peers.push({ node, via: 'direct' });
      const r: Entry = { kind: 'route', dst: fam.subnet, via: fam.publicIP, dev: direct, onlink: false, proto: OVLNET_ROUTE_PROTO };
      out.routes.push(r);
      record(node, r);
      continue;
    }
    out.peers.push({ node, via: 'vxlan' });
    const n: Entry = { kind: 'neigh', dev, ip: gw, mac: fam.vtepMAC };
    const f: Entry = { kind: 'fdb', dev, mac: fam.vtepMAC, dst: fam.publicIP };
    const r: Entry = { kind: 'route', dst: fam.subnet, via: gw, dev, onlink: true, proto: OVLNET_ROUTE_PROTO };
    out.neigh.push(n);
    out.fdb.push(f);
    out.routes.push(r);
    record(node, n, f, r);
  }
  return out;
}

export function planVxlan(input: PlanInput): DesiredState {
  const { cluster, underlay } = input;
  const backend = cluster.config.backend;
  if (backend.type !== 'vxlan') throw new Error('planVxlan called for ' + backend.type);
  const local = cluster.local;
  const problems: Problem[] = [];
  if (backend.directRouting && !underlay.found) {
    problems.push({ subject: 'Backend.DirectRouting', message: 'planned away from the node: which peers are on-link is unknown, all go through vxlan' });
  }
  problems.push(...mtuProblems(backend.mtu, underlay));
  const others = cluster.nodes.filter((n) => n !== local);
  const first = planFamily(input, local, others, (n) => n, cluster.config.network.family);
  const plans = [first];
  let device6: string | undefined;
  if (cluster.config.ipv6) {
    if (local.v6) {
      const second = planFamily(input, local.v6, others, (n) => n.v6, 6);
      plans.push(second);
      device6 = (second.head[0] as { name: string }).name;
    } else {
      problems.push({ subject: `node ${local.name}`, message: 'this node has no IPv6 subnet and public IPv6: IPv6 is not set up here' });
    }
    for (const n of others) {
      if (!n.v6) problems.push({ subject: `node ${n.name}`, message: 'no IPv6 subnet and public IPv6: reached over IPv4 only' });
    }
  }
  return {
    backend: 'vxlan', device: (first.head[0] as { name: string }).name, ...(device6 ? { device6 } : {}),
    underlay: { dev: underlay.dev, mtu: underlay.mtu, found: underlay.found },
    // A peer's plan follows its first family (how DirectRouting reached it there).
    local, peers: first.peers,
    entries: plans.flatMap((p) => p.head).concat(plans.flatMap((p) => p.neigh), plans.flatMap((p) => p.fdb), plans.flatMap((p) => p.routes)),
    problems,
  };
}
