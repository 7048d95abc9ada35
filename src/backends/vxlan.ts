// The vxlan backend, exactly as flannel programs it (see
// shared reference "vxlan backend kernel state"):
//   device flannel.<VNI>, address <own subnet>.0/32, and per peer
//   neigh <peer .0> -> VtepMAC, fdb VtepMAC -> PublicIP, route via <peer .0> onlink.
import { ConfigError } from '../errors.js';
import { OVLNET_ROUTE_PROTO, vxlanDeviceName } from '../model/keys.js';
import { makePrefix, networkOf } from '../model/ip.js';
import type { DesiredState, Entry, HostRoute, PeerPlan, Problem } from '../model/types.js';
import { MIN_MTU } from '../validate/config.js';
import { TX_CSUM_FEATURE } from './offload.js';
import { onLinkDevice } from './onlink.js';
import type { PlanInput, Underlay } from './types.js';

export const VXLAN_OVERHEAD = 50;

/** What DirectRouting looks peers up in: the host's table, else the underlay's connected prefixes. */
function lookupTable(underlay: Underlay, routes: HostRoute[] | undefined): HostRoute[] {
  // Away from the node, this host's table says nothing about the node's.
  if (!underlay.found) return [];
  if (routes) return routes;
  return underlay.connected.map((dst) => ({ dst, dev: underlay.dev, onlink: false, proto: 2 }));
}

export function planVxlan({ cluster, underlay, routes, host }: PlanInput): DesiredState {
  const backend = cluster.config.backend;
  if (backend.type !== 'vxlan') throw new Error('planVxlan called for ' + backend.type);
  const local = cluster.local;
  const dev = vxlanDeviceName(backend.vni);
  const mtu = backend.mtu ?? underlay.mtu - VXLAN_OVERHEAD;
  if (mtu < MIN_MTU) throw new ConfigError(`vxlan MTU ${mtu} (underlay ${underlay.dev} MTU ${underlay.mtu} - ${VXLAN_OVERHEAD}) is below ${MIN_MTU}`);
  const entries: Entry[] = [
    {
      kind: 'link', name: dev, vni: backend.vni, local: local.publicIP, underlay: underlay.dev,
      port: backend.port, learning: false, mtu, mac: local.vtepMAC, up: true,
    },
    { kind: 'addr', dev, addr: makePrefix(networkOf(local.subnet).addr, 32) },
  ];
  if (host?.disableTxOffload) entries.push({ kind: 'offload', dev, feature: TX_CSUM_FEATURE, enabled: false });
  const problems: Problem[] = [];
  if (backend.directRouting && !underlay.found) {
    problems.push({ subject: 'Backend.DirectRouting', message: 'planned away from the node: which peers are on-link is unknown, all go through vxlan' });
  }
  const table = backend.directRouting ? lookupTable(underlay, routes) : [];
  const peers: PeerPlan[] = [];
  const neigh: Entry[] = [];
  const fdb: Entry[] = [];
  const peerRoutes: Entry[] = [];
  for (const node of cluster.nodes) {
    if (node === local) continue;
    const gw = networkOf(node.subnet).addr;
    // flannel: a peer on-link from this host gets a plain route to its public IP, no neighbour or fdb entry.
    const direct = backend.directRouting ? onLinkDevice(table, node.publicIP, [dev]) : undefined;
    if (direct) {
      peers.push({ node, via: 'direct' });
      peerRoutes.push({ kind: 'route', dst: node.subnet, via: node.publicIP, dev: direct, onlink: false, proto: OVLNET_ROUTE_PROTO });
      continue;
    }
    peers.push({ node, via: 'vxlan' });
    neigh.push({ kind: 'neigh', dev, ip: gw, mac: node.vtepMAC });
    fdb.push({ kind: 'fdb', dev, mac: node.vtepMAC, dst: node.publicIP });
    peerRoutes.push({ kind: 'route', dst: node.subnet, via: gw, dev, onlink: true, proto: OVLNET_ROUTE_PROTO });
  }
  return {
    backend: 'vxlan', device: dev, underlay: { dev: underlay.dev, mtu: underlay.mtu, found: underlay.found },
    local, peers, entries: [...entries, ...neigh, ...fdb, ...peerRoutes], problems,
  };
}
