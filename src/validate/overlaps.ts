// Subnet overlap resolution, pair by pair (README "Safety"):
//  - the local node always keeps its own subnet; a peer overlapping it is left out;
//  - a peer overlapping nothing is kept;
//  - among overlapping peers, the one already programmed on this host keeps
//    its range and the others are left out, so a newcomer can neither take
//    over nor knock out a working peer; when none is programmed, all are left out.
//
// Decided per pair, not per transitive group: a newcomer claiming a wide
// range (a /22 over this node and three working peers) is left out alone;
// it must not drag the working peers it overlaps out with it.
//
// Prefixes are nested or disjoint, so after sorting by start address the
// nodes overlapping item i are exactly the following items that start before
// i ends: O(n log n + overlapping pairs).
import { lastAddress } from '../model/ip.js';
import type { Node, Problem } from '../model/types.js';

export interface OverlapResult {
  kept: Node[];
  problems: Problem[];
}

interface Item {
  n: Node;
  start: bigint;
  end: bigint;
  overlapsLocal: boolean;
  /** Overlapping nodes, other than the local node. */
  rivals: Node[];
}

/** Rivals kept per node for decisions and messages; more only count. */
const MAX_RIVALS = 8;

export function resolveOverlaps(nodes: Node[], local: Node | undefined, isProgrammed: (n: Node) => boolean): OverlapResult {
  const items: Item[] = nodes
    .map((n) => ({ n, start: n.subnet.addr.value, end: lastAddress(n.subnet).value, overlapsLocal: false, rivals: [] as Node[] }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const rivalCount = new Map<Node, number>();
  const note = (x: Item, y: Item) => {
    if (y.n === local) x.overlapsLocal = true;
    else {
      rivalCount.set(x.n, (rivalCount.get(x.n) ?? 0) + 1);
      if (x.rivals.length < MAX_RIVALS) x.rivals.push(y.n);
    }
  };
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length && items[j].start <= items[i].end; j++) {
      note(items[i], items[j]);
      note(items[j], items[i]);
    }
  }

  const programmed = new Map<Node, boolean>();
  const prog = (n: Node) => {
    let p = programmed.get(n);
    if (p === undefined) programmed.set(n, (p = isProgrammed(n)));
    return p;
  };
  const byItem = new Map(items.map((x) => [x.n, x]));
  const keptSet = new Set<Node>();
  const problems: Problem[] = [];
  for (const it of items) {
    const n = it.n;
    const subject = `node ${n.name} (${n.origin}).subnet`;
    if (n === local || (!it.overlapsLocal && it.rivals.length === 0)) {
      keptSet.add(n);
      continue;
    }
    if (it.overlapsLocal) {
      problems.push({ subject, message: `${n.subnet.text} overlaps this node ${local!.name} ${local!.subnet.text}; left out` });
      continue;
    }
    // A rival that overlaps this node is left out anyway: it does not count.
    const programmedRivals = it.rivals.filter((r) => !byItem.get(r)!.overlapsLocal && prog(r));
    if (prog(n) && programmedRivals.length === 0) {
      keptSet.add(n);
      continue;
    }
    const more = (rivalCount.get(n) ?? 0) - it.rivals.length;
    const names = (list: Node[]) => list.map((r) => `${r.name} ${r.subnet.text}`).join(', ') + (more > 0 ? ` and ${more} more` : '');
    problems.push({
      subject,
      message: programmedRivals.length && !prog(n)
        ? `${n.subnet.text} overlaps programmed peer ${names(programmedRivals)}; left out`
        : programmedRivals.length
          ? `${n.subnet.text} overlaps ${names(programmedRivals)}, both programmed here; all left out`
          : `${n.subnet.text} overlaps ${names(it.rivals)}; none is programmed here, all left out`,
    });
  }
  return { kept: nodes.filter((n) => keptSet.has(n)), problems };
}
