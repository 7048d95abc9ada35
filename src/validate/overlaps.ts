// Subnet overlap resolution, in O(n log n): sort by start address, sweep.
//
// Rule (README "Safety"): the local node always keeps its own subnet; among
// overlapping peers, the one already programmed on this host keeps the range
// and the others are left out, so a newcomer can neither take over nor knock
// out a working peer. When none is programmed, all of them are left out.
import { lastAddress } from '../model/ip.js';
import type { Node, Problem } from '../model/types.js';

export interface OverlapResult {
  kept: Node[];
  problems: Problem[];
}

export function resolveOverlaps(nodes: Node[], local: Node | undefined, isProgrammed: (n: Node) => boolean): OverlapResult {
  const sorted = nodes
    .map((n) => ({ n, start: n.subnet.addr.value, end: lastAddress(n.subnet).value }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const kept: Node[] = [];
  const problems: Problem[] = [];
  let i = 0;
  while (i < sorted.length) {
    // Collect one group of transitively overlapping subnets.
    let j = i + 1;
    let end = sorted[i].end;
    while (j < sorted.length && sorted[j].start <= end) {
      if (sorted[j].end > end) end = sorted[j].end;
      j++;
    }
    const group = sorted.slice(i, j).map((x) => x.n);
    if (group.length === 1) {
      kept.push(group[0]);
    } else {
      let winner: Node | undefined = local && group.includes(local) ? local : undefined;
      if (!winner) {
        const programmed = group.filter(isProgrammed);
        if (programmed.length === 1) winner = programmed[0];
      }
      if (winner) kept.push(winner);
      const names = group.map((n) => `${n.name} ${n.subnet.text}`).join(', ');
      for (const n of group) {
        if (n === winner) continue;
        problems.push({
          subject: `node ${n.name} (${n.origin}).subnet`,
          message: winner
            ? `${n.subnet.text} overlaps ${winner === local ? 'this node' : 'programmed peer'} ${winner.name} ${winner.subnet.text}; left out`
            : `overlapping subnets (${names}); none is programmed here, all left out`,
        });
      }
    }
    i = j;
  }
  // Keep the source's order stable for output: sort kept back by name then subnet.
  return { kept, problems };
}
