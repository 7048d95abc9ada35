// The host-gw backend: one route per peer via its public IP on the underlay.
// It needs layer-2 adjacency; a peer that is not on-link is reported, not fatal.
import { OVLNET_ROUTE_PROTO } from '../model/keys.js';
import { prefixContainsIP } from '../model/ip.js';
import type { DesiredState, Entry, PeerPlan, Problem } from '../model/types.js';
import type { PlanInput } from './types.js';

export function planHostGw({ cluster, underlay }: PlanInput): DesiredState {
  const local = cluster.local;
  const peers: PeerPlan[] = [];
  const entries: Entry[] = [];
  const problems: Problem[] = [];
  for (const node of cluster.nodes) {
    if (node === local) continue;
    // Offline plans cannot know what is on-link; assume it is.
    if (underlay.found && !underlay.connected.some((p) => prefixContainsIP(p, node.publicIP))) {
      problems.push({
        subject: `node ${node.name}`,
        message: `public IP ${node.publicIP.text} is not on-link from ${underlay.dev}; host-gw needs layer-2 adjacency (use vxlan, or vxlan with DirectRouting)`,
      });
      continue;
    }
    peers.push({ node, via: 'direct' });
    entries.push({ kind: 'route', dst: node.subnet, via: node.publicIP, dev: underlay.dev, onlink: false, proto: OVLNET_ROUTE_PROTO });
  }
  return {
    backend: 'host-gw', underlay: { dev: underlay.dev, mtu: underlay.mtu, found: underlay.found },
    local, peers, entries, problems,
  };
}
