// The vxlan backend, exactly as flannel programs it (see
// shared reference "vxlan backend kernel state"):
//   device flannel.<VNI>, address <own subnet>.0/32, and per peer
//   neigh <peer .0> -> VtepMAC, fdb VtepMAC -> PublicIP, route via <peer .0> onlink.
import { ConfigError } from '../errors.js';
import { OVLNET_ROUTE_PROTO, vxlanDeviceName } from '../model/keys.js';
import { makePrefix, networkOf, prefixContainsIP } from '../model/ip.js';
import type { DesiredState, Entry, PeerPlan } from '../model/types.js';
import { MIN_MTU } from '../validate/config.js';
import type { PlanInput } from './types.js';

export const VXLAN_OVERHEAD = 50;

export function planVxlan({ cluster, underlay }: PlanInput): DesiredState {
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
  const peers: PeerPlan[] = [];
  const neigh: Entry[] = [];
  const fdb: Entry[] = [];
  const routes: Entry[] = [];
  for (const node of cluster.nodes) {
    if (node === local) continue;
    const gw = networkOf(node.subnet).addr;
    if (backend.directRouting && underlay.connected.some((p) => prefixContainsIP(p, node.publicIP))) {
      peers.push({ node, via: 'direct' });
      routes.push({ kind: 'route', dst: node.subnet, via: node.publicIP, dev: underlay.dev, onlink: false, proto: OVLNET_ROUTE_PROTO });
      continue;
    }
    peers.push({ node, via: 'vxlan' });
    neigh.push({ kind: 'neigh', dev, ip: gw, mac: node.vtepMAC });
    fdb.push({ kind: 'fdb', dev, mac: node.vtepMAC, dst: node.publicIP });
    routes.push({ kind: 'route', dst: node.subnet, via: gw, dev, onlink: true, proto: OVLNET_ROUTE_PROTO });
  }
  return {
    backend: 'vxlan', device: dev, underlay: { dev: underlay.dev, mtu: underlay.mtu, found: underlay.found },
    local, peers, entries: [...entries, ...neigh, ...fdb, ...routes], problems: [],
  };
}
