// Subnet overlap resolution, in O(n log n): sort by start address, sweep.
//
// Rule (README "Safety"): the local node always keeps its own subnet; among
// overlapping peers, the one already programmed on this host keeps the range
// and the others are left out, so a newcomer can neither take over nor knock
// out a working peer. When none is programmed, all of them are left out.
import { lastAddress } from '../model/ip.js';
import type { Node, Problem } from '../model/types.js';
import { shortList } from './local.js';

export interface OverlapResult {
  kept: Node[];
  problems: Problem[];
}

interface Iv {
  n: Node;
  start: bigint;
  end: bigint;
}

/** A winner overlapping x; winners are disjoint and sorted, so a binary search finds it. */
function overlappingWinner(winners: Iv[], x: Iv): Iv | undefined {
  let lo = 0;
  let hi = winners.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (winners[mid].end < x.start) lo = mid + 1;
    else hi = mid;
  }
  const w = winners[lo];
  return w && w.start <= x.end ? w : undefined;
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
    const group = sorted.slice(i, j);
    if (group.length === 1) {
      kept.push(group[0].n);
    } else {
      // Judged pairwise, not per group: in a chain (10.0.0.0/23 over the
      // programmed 10.0.0.0/24 and 10.0.1.0/24) the newcomer must knock out
      // neither peer. Winners keep their range: the local node, and each
      // programmed peer overlapping neither the local node nor another
      // programmed peer (two programmed peers that overlap are ambiguous).
      // Everyone else in the group overlaps someone and is left out.
      const localIv = group.find((x) => x.n === local);
      const hits = (a: Iv, b: Iv) => a.start <= b.end && b.start <= a.end;
      const programmed = group.filter((x) => x !== localIv && isProgrammed(x.n) && !(localIv && hits(x, localIv)));
      const winners: Iv[] = [];
      let maxEnd = -1n; // sorted by start: x overlaps an earlier one iff one ends at or after x.start
      for (let k = 0; k < programmed.length; k++) {
        const x = programmed[k];
        const overlapsEarlier = k > 0 && maxEnd >= x.start;
        const overlapsLater = k + 1 < programmed.length && programmed[k + 1].start <= x.end;
        if (!overlapsEarlier && !overlapsLater) winners.push(x);
        if (x.end > maxEnd) maxEnd = x.end;
      }
      if (localIv) winners.push(localIv);
      winners.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
      const winnerSet = new Set(winners);
      for (const w of winners) kept.push(w.n);
      // Reports name one node overlapped (or a shortened group list), so a
      // supernet over thousands of nodes yields short lines, not n^2 text.
      const names = shortList(group.map((x) => `${x.n.name} ${x.n.subnet.text}`));
      for (const x of group) {
        if (winnerSet.has(x)) continue;
        const w = overlappingWinner(winners, x);
        problems.push({
          subject: `node ${x.n.name} (${x.n.origin}).subnet`,
          message: w
            ? `${x.n.subnet.text} overlaps ${w.n === local ? 'this node' : 'programmed peer'} ${w.n.name} ${w.n.subnet.text}; left out`
            : `overlapping subnets (${names}); none is programmed here, all left out`,
        });
      }
    }
    i = j;
  }
  // Keep the source's order stable for output: sort kept back by name then subnet.
  return { kept, problems };
}
