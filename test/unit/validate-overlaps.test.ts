// resolveOverlaps asks whether a node is programmed only when the answer can
// matter (the node overlaps another peer), so a cycle or a plan without
// overlaps never indexes (or reads) the host's routes, neighbours and fdb.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { resolveOverlaps } from '../../src/validate/overlaps.js';
import type { Node } from '../../src/model/types.js';
import { node, pfx } from './support/build.js';

const at = (i: number, subnet: string): Node => node(i, { name: `n${i}`, subnet: pfx(subnet) });

// [subnets (node 0 is local), the nodes asked about, in any order]
const ASKED: Array<[string, string[], string[]]> = [
  ['nothing overlaps', ['198.18.0.0/24', '198.18.1.0/24', '198.18.2.0/24'], []],
  ['a peer on the local subnet only', ['198.18.0.0/24', '198.18.0.128/25', '198.18.2.0/24'], []],
  ['two copies of one subnet', ['198.18.0.0/24', '198.18.1.0/24', '198.18.1.0/24', '198.18.2.0/24'], ['n1', 'n2']],
  ['a range over two peers', ['198.18.0.0/24', '198.18.4.0/22', '198.18.4.0/24', '198.18.5.0/24', '198.18.9.0/24'], ['n1', 'n2', 'n3']],
  ['a range over this node and a peer', ['198.18.0.0/24', '198.18.0.0/23', '198.18.1.0/24', '198.18.9.0/24'], ['n1', 'n2']],
  ['IPv6 copies', ['2001:db8:100::/64', '2001:db8:100:1::/64', '2001:db8:100:1::/64', '2001:db8:100:2::/64'], ['n1', 'n2']],
  ['IPv6 nesting', ['2001:db8:100::/64', '2001:db8:100:1::/64', '2001:db8:100:0:8000::/65', '2001:db8:100:1:8000::/65'], ['n1', 'n3']],
];

for (const [name, subnets, want] of ASKED) {
  test(`resolveOverlaps asks about overlapping peers only: ${name}`, () => {
    const nodes = subnets.map((s, i) => at(i, s));
    const asked: string[] = [];
    resolveOverlaps(nodes, nodes[0], (n) => (asked.push(n.name), false));
    assert.equal(asked.sort(), want);
  });
}

test('resolveOverlaps: nothing overlapping keeps every node, in order, with no problem', () => {
  const nodes = ['198.18.3.0/24', '198.18.0.0/24', '198.18.1.0/25', '198.18.1.128/25'].map((s, i) => at(i, s));
  const r = resolveOverlaps(nodes, nodes[1], () => true);
  assert.equal(r.kept, nodes);
  assert.equal(r.problems, []);
});

// Subnets drawn from a small space (198.18.0.0/20, lengths 22 to 26) so that overlaps are common.
const subnet = fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 22, max: 26 }), fc.integer({ min: 0, max: 3 })).map(([k, len, m]) => {
  const third = len <= 24 ? k - (k % 2 ** (24 - len)) : k;
  const fourth = len > 24 ? (m % 2 ** (len - 24)) * 2 ** (32 - len) : 0;
  return `198.18.${third}.${fourth}/${len}`;
});

/** The rule of docs/safety.md "Safety", pair by pair, asking about every peer (as before): who is kept. */
function keptBySpec(nodes: Node[], local: Node, programmed: (n: Node) => boolean): Node[] {
  const overlap = (a: Node, b: Node) => {
    const [x, y] = [a.subnet, b.subnet].map((p) => {
      const start = Number(p.addr.value);
      return [start, start + 2 ** (32 - p.len) - 1];
    });
    return x[0] <= y[1] && y[0] <= x[1];
  };
  const peers = nodes.filter((n) => n !== local);
  const onLocal = (n: Node) => overlap(n, local);
  const isProg = new Map(peers.map((n) => [n, programmed(n)]));
  return nodes.filter((n) => {
    if (n === local) return true;
    if (onLocal(n)) return false;
    const rivals = peers.filter((r) => r !== n && overlap(n, r));
    if (rivals.length === 0) return true;
    if (!isProg.get(n)) return false;
    return !rivals.some((r) => isProg.get(r) && !onLocal(r));
  });
}

test('resolveOverlaps keeps what the pairwise rule keeps when asked about every peer', () => {
  fc.assert(fc.property(fc.array(subnet, { minLength: 1, maxLength: 12 }), fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), (subnets, p) => {
    const nodes = subnets.map((s, i) => at(i, s));
    const programmed = (n: Node) => p[nodes.indexOf(n)];
    assert.equal(resolveOverlaps(nodes, nodes[0], programmed).kept.map((n) => n.name), keptBySpec(nodes, nodes[0], programmed).map((n) => n.name));
  }), { numRuns: 500 });
});


// Issue 16.5: identical copies of a peer under other names (same subnet, public IP and VTEP MAC).
const copyOf = (n: Node, name: string, over: Partial<Node> = {}): Node => ({ ...n, name, origin: `copy ${name}`, ...over });
const DUPLICATES: Array<{ name: string; nodes: () => Node[]; programmed: string[]; kept: string[]; reports: RegExp[] }> = (() => {
  const [l, p1, p2] = [0, 1, 2].map((i) => node(i));
  return [
    { name: 'a programmed peer and its copy: the peer keeps its range', nodes: () => [l, p1, copyOf(p1, 'twin'), p2], programmed: ['node-1', 'twin'], kept: ['node-0', 'node-1', 'node-2'],
      reports: [/^node twin \(copy twin\)\.subnet: 198\.18\.1\.0\/24, public IP and VTEP MAC are those of node node-1; duplicate left out$/] },
    { name: 'the copy first in source order stays (the kernel cannot tell them apart)', nodes: () => [l, copyOf(p1, 'twin'), p1, p2], programmed: ['node-1', 'twin'], kept: ['node-0', 'twin', 'node-2'],
      reports: [/^node node-1 \(nodes\[1\]\)\.subnet: .* those of node twin; duplicate left out$/] },
    { name: 'three copies of a new peer: one is programmed, not all left out', nodes: () => [l, p1, copyOf(p1, 'b'), copyOf(p1, 'c')], programmed: [], kept: ['node-0', 'node-1'],
      reports: [/^node b .*duplicate left out$/, /^node c .*duplicate left out$/] },
    { name: 'a copy with another MAC is a rival, not a duplicate', nodes: () => [l, p1, copyOf(p1, 'twin', { vtepMAC: node(9).vtepMAC })], programmed: ['node-1'], kept: ['node-0', 'node-1'],
      reports: [/^node twin .*overlaps programmed peer node-1 198\.18\.1\.0\/24; left out$/] },
    { name: 'a copy with another public IP is a rival, not a duplicate', nodes: () => [l, p1, copyOf(p1, 'twin', { publicIP: node(9).publicIP })], programmed: ['node-1'], kept: ['node-0', 'node-1'],
      reports: [/^node twin .*overlaps programmed peer node-1/] },
    { name: 'a copy of this node is no duplicate: it overlaps this node', nodes: () => [l, copyOf(l, 'twin'), p1], programmed: [], kept: ['node-0', 'node-1'],
      reports: [/^node twin .*overlaps this node node-0 198\.18\.0\.0\/24; left out$/] },
    { name: 'dual stack: copies differing only in their IPv6 half are rivals', nodes: () => {
      const v6 = (i: number) => ({ publicIP: node(i).publicIP, subnet: pfx(`2001:db8:100:${i}::/64`), vtepMAC: node(i).vtepMAC });
      return [l, { ...p1, v6: v6(1) }, copyOf(p1, 'twin', { v6: v6(7) })];
    }, programmed: ['node-1', 'twin'], kept: ['node-0'], reports: [/ambiguous, all left out$/, /ambiguous, all left out$/] },
  ];
})();

for (const d of DUPLICATES) {
  test(`resolveOverlaps, identical copies: ${d.name}`, () => {
    const nodes = d.nodes();
    const r = resolveOverlaps(nodes, nodes[0], (n) => d.programmed.includes(n.name));
    assert.equal(r.kept.map((n) => n.name), d.kept);
    assert.is(r.problems.length, d.reports.length, JSON.stringify(r.problems));
    r.problems.forEach((p, i) => assert.match(`${p.subject}: ${p.message}`, d.reports[i]));
  });
}

test.run();
