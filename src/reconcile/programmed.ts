// Whether a node's subnet is already programmed on this host as that node
// would have it. Used to settle subnet overlaps in favour of the working peer.
import { entryKey } from '../model/keys.js';
import { networkOf } from '../model/ip.js';
import type { ActualState, NetworkConfig, Node } from '../model/types.js';
import type { OwnershipPolicy } from './ownership.js';

export function programmedCheck(actual: ActualState, config: NetworkConfig, policy: OwnershipPolicy): (n: Node) => boolean {
  // The udp backend programs nothing per node: every peer looks the same to the kernel.
  if (config.backend.type === 'udp') return () => false;
  // Only overlapping subnets ever ask, so the indexes are built on the first
  // question, not on every cycle (three maps of every route, neighbour and
  // fdb entry on the host: measurable at 10 000 peers, and usually unused).
  // `actual` is read then, so it must not change in between (it does not:
  // callers build it, then validate).
  let index: { routes: Map<string, { via?: string; dev?: string }>; neigh: Map<string, string>; fdb: Set<string> } | undefined;
  const build = () => {
    const routes = new Map<string, { via?: string; dev?: string }>();
    for (const r of actual.routes) if (policy.ownsRoute(r)) routes.set(r.dst.text, { via: r.via?.text, dev: r.dev });
    const neigh = new Map<string, string>();
    for (const n of actual.neighbors) neigh.set(`${n.dev}/${n.ip.text}`, n.mac.text);
    const fdb = new Set(actual.fdb.map(entryKey));
    return { routes, neigh, fdb };
  };
  return (n: Node) => {
    const { routes, neigh, fdb } = (index ??= build());
    const r = routes.get(n.subnet.text);
    if (!r) return false;
    if (config.backend.type === 'host-gw' || r.via === n.publicIP.text) return r.via === n.publicIP.text;
    const gw = networkOf(n.subnet).addr.text;
    return r.via === gw && r.dev !== undefined && neigh.get(`${r.dev}/${gw}`) === n.vtepMAC.text &&
      fdb.has(`fdb:${r.dev}/${n.vtepMAC.text}/${n.publicIP.text}`);
  };
}
