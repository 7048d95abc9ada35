// Shared VTEP MACs (vxlan), settled like overlapping subnets (README "Safety").
// The kernel keys the fdb by MAC: two peers with one MAC get one fdb entry,
// which `fdb replace` moves between their public IPs on every write, so the
// host never matches the plan and no cycle converges. Hence, per MAC:
//  - this node keeps its own; a peer with it is left out;
//  - the peer programmed here keeps it (the fdb points at one peer only, so
//    at most one can be), the others are left out;
//  - when none is programmed, all are left out.
// Pure. One pass over the nodes; `isProgrammed` is asked only about peers
// that share a MAC.
import type { Node, Problem } from '../model/types.js';
import type { OverlapResult } from './overlaps.js';

/** Rivals named in one report; more are counted. */
const MAX_NAMES = 8;

/** The other nodes of `group` than `n`, named up to MAX_NAMES and then counted (linear in MAX_NAMES, not the group). */
function othersThan(n: Node, group: Node[]): string {
  const named = group.slice(0, MAX_NAMES + 1).filter((x) => x !== n).slice(0, MAX_NAMES);
  const more = group.length - 1 - named.length;
  return named.map((x) => x.name).join(', ') + (more > 0 ? ` and ${more} more` : '');
}

export function resolveSharedMACs(nodes: Node[], local: Node | undefined, isProgrammed: (n: Node) => boolean, field = 'vtepMAC'): OverlapResult {
  const byMAC = new Map<string, Node[]>();
  for (const n of nodes) {
    const group = byMAC.get(n.vtepMAC.text);
    if (group) group.push(n);
    else byMAC.set(n.vtepMAC.text, [n]);
  }
  if (byMAC.size === nodes.length) return { kept: nodes.slice(), problems: [] };
  const out = new Set<Node>();
  const problems: Problem[] = [];
  const leaveOut = (n: Node, message: string) => {
    out.add(n);
    problems.push({ subject: `node ${n.name} (${n.origin}).${field}`, message: `${n.vtepMAC.text} ${message}`, code: 'duplicate-vtep-mac', node: n.name, field, value: n.vtepMAC.text });
  };
  for (const [, group] of byMAC) {
    if (group.length < 2) continue;
    if (local && group.includes(local)) {
      for (const n of group) if (n !== local) leaveOut(n, `is this node's (${local.name}) VTEP MAC; left out`);
      continue;
    }
    const programmed = group.filter((n) => isProgrammed(n));
    if (programmed.length === 1) {
      const [owner] = programmed;
      for (const n of group) if (n !== owner) leaveOut(n, `is the VTEP MAC of programmed peer ${owner.name}; left out`);
      continue;
    }
    for (const n of group) {
      leaveOut(n, `is also the VTEP MAC of ${othersThan(n, group)}; ${programmed.length ? 'several are programmed here, ambiguous' : 'none is programmed here'}, all left out`);
    }
  }
  return { kept: nodes.filter((n) => !out.has(n)), problems };
}
