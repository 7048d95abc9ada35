// Shared VTEP MACs (issue 16.6): the fdb is keyed by MAC, so two peers with
// one MAC made every write move the fdb entry between them and no cycle ever
// converged. Settled like overlapping subnets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterState, Node, RawNode } from '../../../src/model/types.js';
import { validateCluster } from '../../../src/validate/index.js';
import { resolveSharedMACs } from '../../../src/validate/macs.js';
import { mac, node } from '../support/build.js';

const M = mac('0e:aa:00:00:00:01');
const withMAC = (i: number, m = M): Node => node(i, { vtepMAC: m });

const ROWS: Array<{ name: string; nodes: () => Node[]; programmed: number[]; kept: number[]; reports: RegExp[] }> = [
  { name: 'distinct MACs: everyone kept, nothing reported', nodes: () => [0, 1, 2, 3].map((i) => node(i)), programmed: [], kept: [0, 1, 2, 3], reports: [] },
  { name: 'the programmed peer keeps its MAC, the newcomer is left out', nodes: () => [node(0), withMAC(1), withMAC(2), node(3)], programmed: [1], kept: [0, 1, 3],
    reports: [/^node node-2 \(nodes\[2\]\)\.vtepMAC: 0e:aa:00:00:00:01 is the VTEP MAC of programmed peer node-1; left out$/] },
  { name: 'the programmed one wins whatever the source order', nodes: () => [node(0), withMAC(1), withMAC(2)], programmed: [2], kept: [0, 2],
    reports: [/^node node-1 .*programmed peer node-2; left out$/] },
  { name: 'none programmed: all left out, each naming the others', nodes: () => [node(0), withMAC(1), withMAC(2), withMAC(3), node(4)], programmed: [], kept: [0, 4],
    reports: [/^node node-1 .*is also the VTEP MAC of node-2, node-3; none is programmed here, all left out$/, /^node node-2 .*of node-1, node-3;/, /^node node-3 .*of node-1, node-2;/] },
  { name: 'two programmed (the kernel can hold only one): ambiguous, all left out', nodes: () => [node(0), withMAC(1), withMAC(2)], programmed: [1, 2], kept: [0],
    reports: [/^node node-1 .*several are programmed here, ambiguous, all left out$/, /^node node-2 .*ambiguous/] },
  { name: 'this node keeps its own MAC against a programmed peer', nodes: () => [withMAC(0), withMAC(1), node(2)], programmed: [1], kept: [0, 2],
    reports: [/^node node-1 .*\.vtepMAC: 0e:aa:00:00:00:01 is this node's \(node-0\) VTEP MAC; left out$/] },
  { name: 'two groups settled apart', nodes: () => [node(0), withMAC(1), withMAC(2), withMAC(3, mac('0e:bb:00:00:00:01')), withMAC(4, mac('0e:bb:00:00:00:01'))], programmed: [2, 3], kept: [0, 2, 3],
    reports: [/^node node-1 .*programmed peer node-2/, /^node node-4 .*programmed peer node-3/] },
];

for (const r of ROWS) {
  test(`resolveSharedMACs: ${r.name}`, () => {
    const nodes = r.nodes();
    const asked: string[] = [];
    const res = resolveSharedMACs(nodes, nodes[0], (n) => (asked.push(n.name), r.programmed.includes(Number(n.name.slice(5)))));
    assert.equal(res.kept, r.kept.map((i) => nodes[i]));
    assert.is(res.problems.length, r.reports.length, JSON.stringify(res.problems));
    res.problems.forEach((p, i) => assert.match(`${p.subject}: ${p.message}`, r.reports[i]));
    // Only peers sharing a MAC with another peer are asked about.
    for (const name of asked) assert.ok(nodes.filter((n) => n.vtepMAC.text === nodes.find((x) => x.name === name)!.vtepMAC.text).length > 1, name);
  });
}

test('resolveSharedMACs: 20 000 peers on one MAC is linear (names capped at 8, then counted)', () => {
  const nodes = [node(0), ...Array.from({ length: 20_000 }, (_, i) => ({ ...withMAC(1), name: `p${i}`, origin: `n[${i}]` }))];
  const res = resolveSharedMACs(nodes, nodes[0], () => false);
  assert.equal(res.kept, [nodes[0]]);
  assert.match(res.problems[0].message, /of p1, p2, p3, p4, p5, p6, p7, p8 and 19991 more; none is programmed/);
});

function state(nodes: Array<Partial<RawNode>>, backend = 'vxlan', ipv6 = false): ClusterState {
  return {
    config: { origin: 'c.yaml', network: '198.18.0.0/16', backend: { type: backend }, ...(ipv6 ? { ipv6Network: '2001:db8:100::/48', enableIPv6: true } : {}) },
    nodes: nodes.map((n, i) => ({
      origin: `c.yaml: nodes[${i}]`, name: `node-${i}`, publicIP: `192.0.2.${10 + i}`, subnet: `198.18.${i}.0/24`,
      ...(ipv6 ? { publicIPv6: `2001:db8:1::${10 + i}`, ipv6Subnet: `2001:db8:100:${i}::/64` } : {}), ...n,
    })),
    warnings: [],
    namedNodes: true,
  };
}

test('validateCluster: shared VTEP MACs are settled for vxlan only, after overlaps', () => {
  const shared = '0e:aa:00:00:00:09';
  const s = state([{}, { vtepMAC: shared }, { vtepMAC: shared }, {}]);
  const c = validateCluster(s, { name: 'node-0', isProgrammed: (n) => n.name === 'node-2' });
  assert.equal(c.nodes.map((n) => n.name), ['node-0', 'node-2', 'node-3']);
  assert.equal(c.problems.map((p) => p.subject), ['node node-1 (c.yaml: nodes[1]).vtepMAC']);
  // host-gw has no fdb: a MAC is no reason to leave a peer out.
  assert.equal(validateCluster(state([{}, { vtepMAC: shared }, { vtepMAC: shared }], 'host-gw'), { name: 'node-0' }).nodes.length, 3);
  // A node left out for its subnet takes no MAC from anyone.
  const o = state([{}, { vtepMAC: shared }, { vtepMAC: shared, subnet: '198.18.1.0/24' }]);
  const co = validateCluster(o, { name: 'node-0', isProgrammed: (n) => n.name === 'node-1' });
  assert.equal(co.nodes.map((n) => n.name), ['node-0', 'node-1']);
  assert.equal(co.problems.map((p) => p.subject), ['node node-2 (c.yaml: nodes[2]).subnet']);
});

test('validateCluster, dual stack: IPv6 VTEP MACs are settled on their own; a node losing its IPv6 MAC is left out whole', () => {
  const shared6 = '0e:bb:00:00:00:09';
  const s = state([{}, { vtepMACv6: shared6 }, { vtepMACv6: shared6 }], 'vxlan', true);
  const c = validateCluster(s, { name: 'node-0', isProgrammed6: (n) => n.name === 'node-1' });
  assert.equal(c.nodes.map((n) => n.name), ['node-0', 'node-1']);
  assert.equal(c.problems.map((p) => p.subject), ['node node-2 (c.yaml: nodes[2]).vtepMACv6']);
  // One node's IPv4 and IPv6 halves may share a MAC: they live on two devices.
  const same = state([{}, { vtepMAC: shared6, vtepMACv6: shared6 }], 'vxlan', true);
  assert.equal(validateCluster(same, { name: 'node-0' }).problems, []);
});

test.run();
