// The host-gw backend: one route per peer via its public IP on the underlay.
// It needs layer-2 adjacency; a peer that is not on-link is reported, not fatal.
import { OVLNET_ROUTE_PROTO } from '../../model/keys.js';
import { prefixContainsIP } from '../../model/ip.js';
import type { DesiredState, Entry, Node, NodeFamily, PeerPlan, Problem } from '../../model/types.js';
import type { PlanInput } from '../types.js';

export function planHostGw({ cluster, underlay, peerEntries }: PlanInput): DesiredState {
  const local = cluster.local;
  const peers: PeerPlan[] = [];
  const entries: Entry[] = [];
  const problems: Problem[] = [];
  const route = (node: Node, fam: NodeFamily): boolean => {
    // Offline plans cannot know what is on-link; assume it is.
    if (underlay.found && !underlay.connected.some((p) => prefixContainsIP(p, fam.publicIP))) {
      problems.push({
        subject: `node ${node.name}`,
        message: `public IP ${fam.publicIP.text} is not on-link from ${underlay.dev}; host-gw needs layer-2 adjacency (use vxlan, or vxlan with DirectRouting)`,
      });
      return false;
    }
    const r: Entry = { kind: 'route', dst: fam.subnet, via: fam.publicIP, dev: underlay.dev, onlink: false, proto: OVLNET_ROUTE_PROTO };
    entries.push(r);
    if (peerEntries) {
      const mine = peerEntries.get(node);
      if (mine) mine.push(r);
      else peerEntries.set(node, [r]);
    }
    return true;
  };
  for (const node of cluster.nodes) {
    if (node === local) continue;
    if (route(node, node)) peers.push({ node, via: 'direct' });
  }
  if (cluster.config.ipv6) {
    // Dual stack: the IPv6 routes go via each peer's public IPv6 on the same underlay.
    if (!local.v6) problems.push({ subject: `node ${local.name}`, message: 'this node has no IPv6 subnet and public IPv6: IPv6 is not set up here' });
    else for (const node of cluster.nodes) if (node !== local && node.v6) route(node, node.v6);
  }
  return {
    backend: 'host-gw', underlay: { dev: underlay.dev, mtu: underlay.mtu, found: underlay.found },
    local, peers, entries, problems,
  };
}
