// Subnet overlap resolution, pair by pair (docs/safety.md "Safety"):
//  - the local node always keeps its own subnet; a peer overlapping it is left out;
//  - a peer overlapping no other peer is kept;
//  - a programmed peer keeps its range against newcomers, which are left out,
//    so a newcomer can neither take over nor knock out a working peer, not even
//    by claiming a range that spans several of them; two programmed peers that
//    overlap each other are ambiguous and both left out (a programmed peer
//    that overlaps this node is left out anyway and does not count);
//  - when none is programmed, all the overlapping ones are left out;
//  - identical copies of a peer (same subnet, public IP and VTEP MAC under
//    another name) are one peer: the first stays, the others are duplicates.
// Each report names the node's own rivals, not the rest of a transitive group.
//
// Decided per pair, but never by enumerating pairs: n copies of one subnet
// are n^2 pairs. Aligned prefixes are nested or disjoint, so sorted by start
// (a container before what it contains, copies in source order) the nodes
// overlapping item i are its containers (a chain of parents) plus the run of
// items after i that start before i ends. Counts come from sums along the
// chain and prefix sums over the run, names from links to the nearest match,
// at most MAX_NAMES per report: O(n log n + n * MAX_NAMES) whatever the input.
import { lastAddress } from '../model/ip.js';
import type { Node, Problem } from '../model/types.js';

export interface OverlapResult {
  kept: Node[];
  problems: Problem[];
}

interface Item {
  n: Node;
  // Numbers for IPv4 (exact below 2^53, and they compare without
  // allocating), BigInts for IPv6; < and > compare the two kinds alike.
  start: number | bigint;
  end: number | bigint;
}

/** An item for node `n`: its subnet's first and last address, as numbers for IPv4. */
function item(n: Node): Item {
  const p = n.subnet;
  if (p.family === 4 && Number.isInteger(p.len) && p.len >= 0 && p.len <= 32) {
    const start = Number(p.addr.value);
    const size = 2 ** (32 - p.len);
    return { n, start, end: start - (start % size) + size - 1 };
  }
  return { n, start: p.addr.value, end: lastAddress(p).value };
}

/** Rivals named in one report; more are counted. */
const MAX_NAMES = 8;

interface Forest {
  items: Item[];
  /** Nearest container of each item (an earlier index), or -1. */
  parent: number[];
  /** End of each item's run of contained items: the first later index that starts after it. */
  runEnd: number[];
}

function forest(nodes: Node[]): Forest {
  const items = nodes
    .map(item)
    // Stable: copies of one subnet stay in source order.
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : a.end < b.end ? 1 : 0));
  const parent = new Array<number>(items.length);
  const runEnd = new Array<number>(items.length).fill(items.length);
  const stack: number[] = [];
  for (let i = 0; i < items.length; i++) {
    while (stack.length && items[stack[stack.length - 1]].end < items[i].start) runEnd[stack.pop()!] = i;
    parent[i] = stack.length ? stack[stack.length - 1] : -1;
    stack.push(i);
  }
  return { items, parent, runEnd };
}

/** The rivals of each item that satisfy `match`: how many, and the first MAX_NAMES in address order. */
function rivals(f: Forest, match: (n: Node) => boolean) {
  const { items, parent, runEnd } = f;
  const len = items.length;
  const hit = items.map((x) => match(x.n));
  // Containers, along the parent chain: matches above each item and the nearest one.
  const upCount = new Array<number>(len);
  const upNearest = new Array<number>(len);
  for (let i = 0; i < len; i++) {
    const p = parent[i];
    upCount[i] = p < 0 ? 0 : upCount[p] + (hit[p] ? 1 : 0);
    upNearest[i] = p < 0 ? -1 : hit[p] ? p : upNearest[p];
  }
  // Contained items, a run after i: prefix sums and a link to the next match.
  const sum = new Array<number>(len + 1);
  sum[0] = 0;
  for (let j = 0; j < len; j++) sum[j + 1] = sum[j] + (hit[j] ? 1 : 0);
  const next = new Array<number>(len + 1);
  next[len] = len;
  for (let j = len - 1; j >= 0; j--) next[j] = hit[j] ? j : next[j + 1];
  return {
    count: (i: number) => upCount[i] + sum[runEnd[i]] - sum[i + 1],
    names: (i: number): Node[] => {
      const up: Node[] = [];
      for (let j = upNearest[i]; j >= 0 && up.length < MAX_NAMES; j = upNearest[j]) up.push(items[j].n);
      const out = up.reverse();
      for (let j = next[i + 1]; j < runEnd[i] && out.length < MAX_NAMES; j = next[j + 1]) out.push(items[j].n);
      return out;
    },
  };
}

function nameList(names: Node[], total: number): string {
  const more = total - names.length;
  return names.map((r) => `${r.name} ${r.subnet.text}`).join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/** Everything the kernel would hold for a node: two nodes with one such key program the same entries. */
function kernelIdentity(n: Node): string {
  const fam = (x: { subnet: { text: string }; publicIP: { text: string }; vtepMAC: { text: string } }) => `${x.subnet.text} ${x.publicIP.text} ${x.vtepMAC.text}`;
  return n.v6 ? `${fam(n)} ${fam(n.v6)}` : fam(n);
}

/**
 * Identical copies of a peer (another name, the same subnet, public IP and
 * VTEP MAC) are one peer to the kernel: the first in source order stays, the
 * others are left out as duplicates. Otherwise the copies would overlap each
 * other, both look programmed, and the working peer would be left out as
 * ambiguous. The local node is never folded: a copy of it overlaps it.
 */
function dropIdenticalCopies(nodes: Node[], local: Node | undefined): { unique: Node[]; problems: Problem[] } {
  // Copies share their subnet: the whole identity (three or six addresses in
  // one string) is built only for the nodes whose subnet an earlier node has,
  // not for each of 10 000 nodes with subnets of their own.
  // Subnet -> its first node; null once that node is in `first` by its whole identity.
  const bySubnet = new Map<string, Node | null>();
  const first = new Map<string, Node>();
  const unique: Node[] = [];
  const problems: Problem[] = [];
  for (const n of nodes) {
    if (n === local) {
      unique.push(n);
      continue;
    }
    const earlier = bySubnet.get(n.subnet.text);
    if (earlier === undefined) {
      bySubnet.set(n.subnet.text, n);
      unique.push(n);
      continue;
    }
    // The first node of this subnet enters `first` when its subnet is seen again.
    if (earlier !== null) {
      first.set(kernelIdentity(earlier), earlier);
      bySubnet.set(n.subnet.text, null);
    }
    const id = kernelIdentity(n);
    const kept = first.get(id);
    if (!kept) {
      first.set(id, n);
      unique.push(n);
      continue;
    }
    problems.push({ subject: `node ${n.name} (${n.origin}).subnet`, message: `${n.subnet.text}, public IP and VTEP MAC are those of node ${kept.name}; duplicate left out`, code: 'duplicate-node', node: n.name, field: 'subnet', value: n.subnet.text, conflictsWith: [kept.name] });
  }
  return { unique, problems };
}

export function resolveOverlaps(all: Node[], local: Node | undefined, isProgrammed: (n: Node) => boolean): OverlapResult {
  const { unique: nodes, problems: duplicates } = dropIdenticalCopies(all, local);
  const r = resolveUnique(nodes, local, isProgrammed);
  return duplicates.length ? { kept: r.kept, problems: [...duplicates, ...r.problems] } : r;
}

function resolveUnique(nodes: Node[], local: Node | undefined, isProgrammed: (n: Node) => boolean): OverlapResult {
  const f = forest(nodes);
  // Aligned prefixes overlap only by containing one another: without any
  // container nothing overlaps (this node included), the usual case, told
  // without the counting below.
  if (f.parent.every((p) => p < 0)) return { kept: nodes.slice(), problems: [] };
  const localIv = f.items.find((x) => x.n === local);
  const onLocal = new Set(f.items.filter((x) => x !== localIv && localIv && x.start <= localIv.end && localIv.start <= x.end).map((x) => x.n));
  const peers = rivals(f, (n) => n !== local);
  // The usual case, nothing overlaps: everyone is kept, nothing to report.
  if (onLocal.size === 0 && f.items.every((_, i) => peers.count(i) === 0)) return { kept: nodes.slice(), problems: [] };
  // Only a peer that overlaps another peer can win or lose by being
  // programmed: asking for the others would make every cycle index the
  // host's routes, neighbours and fdb (reconcile/programmed.ts), and would
  // make a plan read them, for nothing.
  const programmed = new Set<Node>();
  f.items.forEach(({ n }, i) => {
    if (n !== local && peers.count(i) > 0 && isProgrammed(n)) programmed.add(n);
  });
  const prog = rivals(f, (n) => programmed.has(n));
  // The programmed peers that count against each other: not those overlapping this node.
  const eligible = rivals(f, (n) => programmed.has(n) && !onLocal.has(n));

  const keptSet = new Set<Node>();
  const problems: Problem[] = [];
  f.items.forEach(({ n }, i) => {
    if (n === local || (!onLocal.has(n) && peers.count(i) === 0)) {
      keptSet.add(n);
      return;
    }
    let message: string;
    let rivalNodes: Node[];
    if (onLocal.has(n)) {
      rivalNodes = [local!];
      message = `${n.subnet.text} overlaps this node ${local!.name} ${local!.subnet.text}; left out`;
    } else if (programmed.has(n)) {
      const c = eligible.count(i);
      if (c === 0) {
        keptSet.add(n); // its rivals are newcomers, or left out for overlapping this node
        return;
      }
      rivalNodes = eligible.names(i);
      message = `${n.subnet.text}, programmed here, overlaps programmed peer${c > 1 ? 's' : ''} ${nameList(rivalNodes, c)}; ambiguous, all left out`;
    } else if (prog.count(i) > 0) {
      const c = prog.count(i);
      rivalNodes = prog.names(i);
      message = `${n.subnet.text} overlaps programmed peer${c > 1 ? 's' : ''} ${nameList(rivalNodes, c)}; left out`;
    } else {
      rivalNodes = peers.names(i);
      message = `${n.subnet.text} overlaps ${nameList(rivalNodes, peers.count(i))}; none is programmed here, all left out`;
    }
    problems.push({ subject: `node ${n.name} (${n.origin}).subnet`, message, code: 'overlapping-subnet', node: n.name, field: 'subnet', value: n.subnet.text, conflictsWith: rivalNodes.map((r) => r.name) });
  });
  return { kept: nodes.filter((n) => keptSet.has(n)), problems };
}
