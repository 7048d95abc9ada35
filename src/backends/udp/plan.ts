// The udp backend, as flannel programs it (shared reference "UDP backend"):
// a persistent TUN device flannel0 holding the own subnet's .0/32 and one
// route for the whole network through it. The kernel part is planned here
// like any other backend; the packets are moved by the forwarder inside
// `ovlnet daemon` (dataplane.ts, forwarder.ts), which attaches to the device.
import { ConfigError } from '../../errors.js';
import { OVLNET_ROUTE_PROTO } from '../../model/keys.js';
import { makePrefix, networkOf } from '../../model/ip.js';
import type { DesiredState, Entry, PeerPlan } from '../../model/types.js';
import { MIN_MTU } from '../../validate/config.js';
import type { PlanInput } from '../types.js';

export const UDP_DEVICE = 'flannel0';
/** IPv4 header (20) + UDP header (8): the inner packet travels as the whole UDP payload. */
export const UDP_OVERHEAD = 28;

export function planUdp({ cluster, underlay }: PlanInput): DesiredState {
  const backend = cluster.config.backend;
  if (backend.type !== 'udp') throw new Error('planUdp called for ' + backend.type);
  const local = cluster.local;
  const mtu = underlay.mtu - UDP_OVERHEAD;
  if (mtu < MIN_MTU) throw new ConfigError(`udp MTU ${mtu} (underlay ${underlay.dev} MTU ${underlay.mtu} - ${UDP_OVERHEAD}) is below ${MIN_MTU}`);
  const entries: Entry[] = [
    { kind: 'tun', name: UDP_DEVICE, mtu, up: true },
    { kind: 'addr', dev: UDP_DEVICE, addr: makePrefix(networkOf(local.subnet).addr, 32) },
    // One route for the network; the own subnet is more specific (the CNI bridge) and wins.
    { kind: 'route', dst: cluster.config.network, dev: UDP_DEVICE, onlink: false, proto: OVLNET_ROUTE_PROTO },
  ];
  const peers: PeerPlan[] = cluster.nodes.filter((n) => n !== local).map((node) => ({ node, via: 'udp' }));
  return {
    backend: 'udp', device: UDP_DEVICE, underlay: { dev: underlay.dev, mtu: underlay.mtu, found: underlay.found },
    local, peers, entries, problems: [],
  };
}
