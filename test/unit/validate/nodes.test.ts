import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeError, UsageError } from '../../../src/errors.js';
import { macFromName } from '../../../src/model/mac.js';
import type { ClusterState, Node, Problem, RawNode } from '../../../src/model/types.js';
import { findLocalNode, shortList } from '../../../src/validate/local.js';
import { describe, validateNode } from '../../../src/validate/nodes.js';
import { resolveOverlaps } from '../../../src/validate/overlaps.js';
import { validateCluster } from '../../../src/validate/index.js';
import { prefixesOverlap } from '../../../src/model/ip.js';
import { config, HOSTGW, ip, mac, node, pfx, throwsLike, VXLAN } from '../support/build.js';

const VX = config(VXLAN);
const raw = (over: Partial<RawNode> = {}): RawNode => ({
  origin: 'f: nodes[1]', name: 'node-b', publicIP: '192.0.2.11', subnet: '198.18.1.0/24', ...over,
});

/** What a person reads of a problem (its fields are checked on their own, below). */
function prose(ps: Problem[]): Array<{ subject: string; message: string }> {
  return ps.map(({ subject, message }) => ({ subject, message }));
}

test('a valid node: typed values, MAC derived from the name when absent', () => {
  const { node: n, problem } = validateNode(raw(), VX, false);
  assert.is(problem, undefined);
  assert.equal(n, {
    name: 'node-b', publicIP: ip('192.0.2.11'), subnet: pfx('198.18.1.0/24'), vtepMAC: macFromName('node-b'),
    origin: 'f: nodes[1]', expiresAt: undefined,
  });
  for (const vtepMAC of [undefined, null, '']) assert.is(validateNode(raw({ vtepMAC }), VX, false).node?.vtepMAC.text, macFromName('node-b').text);
  assert.is(validateNode(raw({ vtepMAC: '0E:5A:3C:11:22:33' }), VX, false).node?.vtepMAC.text, '0e:5a:3c:11:22:33');
  const exp = new Date(0);
  assert.is(validateNode(raw({ expiresAt: exp }), VX, false).node?.expiresAt, exp);
});

// [raw override, field, message regex]
const BAD: Array<[Partial<RawNode>, string, RegExp]> = [
  // names: printable, bounded
  [{ name: undefined }, 'name', /^missing$/],
  [{ name: '' }, 'name', /^"" is not a valid name/],
  [{ name: 'node b' }, 'name', /^"node b" is not a valid name \(letters, digits, \. _ : @ & -, at most 253\)$/],
  [{ name: 'node-b\n' }, 'name', /^"node-b\\n" is not a valid name/],
  [{ name: 'node-b\nERROR forged log line' }, 'name', /^"node-b\\nERROR forged log line" is not a valid name/],
  [{ name: 'node"b' }, 'name', /is not a valid name/],
  [{ name: "node'b" }, 'name', /is not a valid name/],
  [{ name: 'nöde' }, 'name', /is not a valid name/],
  [{ name: 'node\u2028b' }, 'name', /is not a valid name/],
  [{ name: '-node' }, 'name', /is not a valid name/],
  [{ name: 'a'.repeat(254) }, 'name', /^"a{60}…" is not a valid name/],
  [{ name: 42 }, 'name', /^"42" is not a valid name/],
  [{ name: ['node-b'] }, 'name', /^"\[\\"node-b\\"\]" is not a valid name/],
  // backend type of the lease
  [{ backendType: 'host-gw' }, 'backendType', /^"host-gw" differs from the cluster backend vxlan$/],
  [{ backendType: 'udp' }, 'backendType', /differs from the cluster backend vxlan/],
  // public IP
  [{ publicIP: undefined }, 'publicIP', /^missing$/],
  [{ publicIP: '192.0.2.11 dev eth0' }, 'publicIP', /^"192\.0\.2\.11 dev eth0" is not an IP address$/],
  [{ publicIP: '192.0.2.11\n' }, 'publicIP', /^"192\.0\.2\.11\\n" is not an IP address$/],
  [{ publicIP: '192.0.2.011' }, 'publicIP', /is not an IP address/],
  [{ publicIP: 3221225995 }, 'publicIP', /^"3221225995" is not an IP address$/],
  [{ publicIP: '2001:db8::11' }, 'publicIP', /^2001:db8::11 is not IPv4$/],
  [{ publicIP: '0.0.0.0' }, 'publicIP', /^0\.0\.0\.0 is not a unicast address \(unspecified\)$/],
  [{ publicIP: '127.0.0.1' }, 'publicIP', /^127\.0\.0\.1 is not a unicast address \(loopback\)$/],
  [{ publicIP: '224.0.0.5' }, 'publicIP', /\(multicast\)$/],
  [{ publicIP: '255.255.255.255' }, 'publicIP', /\(broadcast\)$/],
  [{ publicIP: '169.254.0.1' }, 'publicIP', /\(link-local\)$/],
  [{ publicIP: '240.0.0.1' }, 'publicIP', /\(reserved \(240\.0\.0\.0\/4\)\)$/],
  [{ publicIP: '0.1.2.3' }, 'publicIP', /this network/],
  [{ publicIP: '198.18.7.7' }, 'publicIP', /^198\.18\.7\.7 lies inside the pod network 198\.18\.0\.0\/16$/],
  [{ publicIP: '198.18.1.0' }, 'publicIP', /lies inside the pod network/],
  // subnet
  [{ subnet: undefined }, 'subnet', /^missing$/],
  [{ subnet: '198.18.1.0' }, 'subnet', /^"198\.18\.1\.0" is not a CIDR$/],
  [{ subnet: '198.18.1.0/24 dev eth0' }, 'subnet', /is not a CIDR/],
  [{ subnet: '198.18.1.0/24\nroute del default' }, 'subnet', /is not a CIDR/],
  [{ subnet: '198.18.1.1/24' }, 'subnet', /^198\.18\.1\.1\/24 has host bits set$/],
  [{ subnet: '198.18.1.128/24' }, 'subnet', /has host bits set/],
  [{ subnet: '10.0.0.0/24' }, 'subnet', /^10\.0\.0\.0\/24 is not a subnet inside the network 198\.18\.0\.0\/16$/],
  [{ subnet: '198.16.0.0/14' }, 'subnet', /is not a subnet inside the network/],
  [{ subnet: '198.18.0.0/16' }, 'subnet', /^198\.18\.0\.0\/16 is not a subnet inside the network/],
  [{ subnet: '0.0.0.0/0' }, 'subnet', /is not a subnet inside the network/],
  [{ subnet: '2001:db8::/64' }, 'subnet', /is not a subnet inside the network/],
  [{ subnet: '198.18.1.0/31' }, 'subnet', /^198\.18\.1\.0\/31 is too small$/],
  [{ subnet: '198.18.1.1/32' }, 'subnet', /is too small/],
  // MAC
  [{ vtepMAC: 'zz:00:00:00:00:01' }, 'vtepMAC', /^"zz:00:00:00:00:01" is not a MAC address$/],
  [{ vtepMAC: '0e:00:00:00:00:01 dev eth0' }, 'vtepMAC', /is not a MAC address/],
  [{ vtepMAC: '0e:00:00:00:00:01\n' }, 'vtepMAC', /is not a MAC address/],
  [{ vtepMAC: 42 }, 'vtepMAC', /^"42" is not a MAC address$/],
  [{ vtepMAC: 'ff:ff:ff:ff:ff:ff' }, 'vtepMAC', /^ff:ff:ff:ff:ff:ff is not a unicast MAC \(broadcast\)$/],
  [{ vtepMAC: '01:00:5e:00:00:01' }, 'vtepMAC', /is not a unicast MAC \(multicast\)$/],
  [{ vtepMAC: '00:00:00:00:00:00' }, 'vtepMAC', /is not a unicast MAC \(all zero\)$/],
];

test('node rules: a bad node is left out with a problem naming the node and field', () => {
  for (const [over, field, re] of BAD) {
    const r = raw(over);
    const { node: n, problem } = validateNode(r, VX, false);
    const label = JSON.stringify(over);
    assert.is(n, undefined, `${label} must be refused`);
    assert.ok(problem, label);
    const who = field === 'name' ? 'f: nodes[1]' : 'node node-b (f: nodes[1])';
    assert.is(problem!.subject, `${who}.${field}`, label);
    assert.match(problem!.message, re, label);
    assert.not.match(problem!.subject + problem!.message, /[\n\r\u2028]/, `one line: ${label}`);
    assert.ok(problem!.message.length < 200, `bounded: ${label}`);
  }
});

test('vtepMAC required when the source publishes MACs (vxlan only)', () => {
  const r = validateNode(raw(), VX, true);
  assert.equal(prose([r.problem!])[0], { subject: 'node node-b (f: nodes[1]).vtepMAC', message: 'missing: a vxlan peer needs its published VtepMAC' });
  assert.ok(validateNode(raw(), config(HOSTGW), true).node, 'host-gw needs no MAC');
  assert.ok(validateNode(raw({ vtepMAC: '0e:00:00:00:00:01' }), VX, true).node);
});

test('backendType equal to the cluster backend is fine', () => {
  assert.ok(validateNode(raw({ backendType: 'vxlan' }), VX, false).node);
  assert.ok(validateNode(raw({ backendType: 'host-gw' }), config(HOSTGW), false).node);
});

test('subnets of any length inside the network are accepted (aligned, up to /30)', () => {
  for (const subnet of ['198.18.1.0/24', '198.18.0.0/17', '198.18.255.252/30', '198.18.2.0/23']) {
    assert.ok(validateNode(raw({ subnet }), VX, false).node, subnet);
  }
});

test('describe: a hostile name is not echoed into the subject', () => {
  assert.is(describe(raw()), 'node node-b (f: nodes[1])');
  assert.is(describe(raw({ name: 'x\ny' })), 'f: nodes[1]');
  assert.is(describe(raw({ name: 5 })), 'f: nodes[1]');
});

// ---- overlaps -----------------------------------------------------------------

// Every node its own public IP and VTEP MAC: two nodes with the same subnet are
// rivals here, not identical copies (those are folded first; see validate-overlaps).
let serial = 0;
const N = (name: string, subnet: string, i = 0): Node => {
  const k = ++serial;
  const b = [(k >> 16) & 255, (k >> 8) & 255, k & 255];
  return node(i, {
    name, subnet: pfx(subnet), origin: `nodes[${name}]`,
    publicIP: ip(`203.${b.join('.')}`), vtepMAC: mac(`0e:00:00:${b.map((x) => x.toString(16).padStart(2, '0')).join(':')}`),
  });
};

function resolve(nodes: Node[], local: Node | undefined, programmed: Node[] = []) {
  const set = new Set(programmed);
  const r = resolveOverlaps(nodes, local, (n) => set.has(n));
  return { kept: r.kept.map((n) => n.name).sort(), problems: prose(r.problems) };
}

test('overlaps: none, nothing changes', () => {
  const ns = [N('a', '198.18.0.0/24'), N('b', '198.18.1.0/24'), N('c', '198.18.2.0/23')];
  assert.equal(resolve(ns, ns[0]), { kept: ['a', 'b', 'c'], problems: [] });
});

test('overlaps: the local node keeps its range, the peer is left out', () => {
  const local = N('me', '198.18.0.0/24');
  const rows: Node[] = [N('x', '198.18.0.0/24'), N('x', '198.18.0.0/16'), N('x', '198.18.0.128/25'), N('x', '198.18.0.0/23')];
  for (const x of rows) {
    for (const prog of [[], [x]]) {
      const r = resolve([x, local], local, prog);
      assert.equal(r.kept, ['me'], `${x.subnet.text} programmed=${prog.length}`);
      assert.equal(r.problems, [{ subject: 'node x (nodes[x]).subnet', message: `${x.subnet.text} overlaps this node me 198.18.0.0/24; left out` }]);
    }
  }
});

test('overlaps: the programmed peer keeps its range against a newcomer, either order', () => {
  const local = N('me', '198.18.9.0/24');
  const old = N('old', '198.18.1.0/24');
  for (const sub of ['198.18.1.0/24', '198.18.1.0/25', '198.18.0.0/23', '198.18.0.0/16']) {
    const nu = N('new', sub);
    for (const order of [[old, nu, local], [nu, old, local], [local, nu, old]]) {
      const r = resolve(order, local, [old]);
      // (a /16 newcomer also overlaps the local node; it is left out either way)
      assert.equal(r.kept, ['me', 'old'], sub);
      assert.is(r.problems.length, 1);
      assert.is(r.problems[0].subject, 'node new (nodes[new]).subnet');
      assert.match(r.problems[0].message, new RegExp(`^${sub.replace(/\./g, '\\.')} overlaps (programmed peer old 198\\.18\\.1\\.0/24|this node me 198\\.18\\.9\\.0/24); left out$`));
    }
  }
});

test('overlaps: none programmed, all of them are left out and each report names its own rivals', () => {
  const local = N('me', '198.18.9.0/24');
  const a = N('a', '198.18.1.0/24');
  const b = N('b', '198.18.1.0/24');
  const c = N('c', '198.18.1.0/25');
  const r = resolve([a, b, c, local], local);
  assert.equal(r.kept, ['me']);
  assert.equal(r.problems, [
    { subject: 'node a (nodes[a]).subnet', message: '198.18.1.0/24 overlaps b 198.18.1.0/24, c 198.18.1.0/25; none is programmed here, all left out' },
    { subject: 'node b (nodes[b]).subnet', message: '198.18.1.0/24 overlaps a 198.18.1.0/24, c 198.18.1.0/25; none is programmed here, all left out' },
    { subject: 'node c (nodes[c]).subnet', message: '198.18.1.0/25 overlaps a 198.18.1.0/24, b 198.18.1.0/24; none is programmed here, all left out' },
  ]);
});

test('overlaps: two programmed peers that overlap each other both lose (ambiguous)', () => {
  const local = N('me', '198.18.9.0/24');
  const a = N('a', '198.18.0.0/23');
  const b = N('b', '198.18.1.0/24');
  const r = resolve([a, b, local], local, [a, b]);
  assert.equal(r.kept, ['me']);
  assert.equal(r.problems, [
    { subject: 'node a (nodes[a]).subnet', message: '198.18.0.0/23, programmed here, overlaps programmed peer b 198.18.1.0/24; ambiguous, all left out' },
    { subject: 'node b (nodes[b]).subnet', message: '198.18.1.0/24, programmed here, overlaps programmed peer a 198.18.0.0/23; ambiguous, all left out' },
  ]);
});

test('overlaps: a programmed peer that overlaps this node does not count against another programmed peer', () => {
  // q (programmed) overlaps this node: q goes. p (programmed) overlaps only q: p stays.
  // n (newcomer) overlaps q: it goes, and its report says whom it overlaps.
  const local = N('me', '198.18.0.0/24');
  const q = N('q', '198.18.0.0/22');
  const p = N('p', '198.18.2.0/24');
  const n = N('n', '198.18.3.0/25');
  const r = resolve([local, q, p, n], local, [q, p]);
  assert.equal(r.kept, ['me', 'p']);
  assert.equal(r.problems, [
    { subject: 'node q (nodes[q]).subnet', message: '198.18.0.0/22 overlaps this node me 198.18.0.0/24; left out' },
    { subject: 'node n (nodes[n]).subnet', message: '198.18.3.0/25 overlaps programmed peer q 198.18.0.0/22; left out' },
  ]);
});

test('overlaps are judged pairwise: a newcomer spanning working peers knocks out none and names them all', () => {
  const local = N('me', '198.18.9.0/24');
  const a = N('a', '198.18.0.0/24');
  const c = N('c', '198.18.1.0/24');
  const big = N('big', '198.18.0.0/23');
  for (const order of [[a, big, c, local], [big, local, c, a]]) {
    const r = resolve(order, local, [a, c]);
    assert.equal(r.kept, ['a', 'c', 'me']);
    assert.equal(r.problems, [{ subject: 'node big (nodes[big]).subnet', message: '198.18.0.0/23 overlaps programmed peers a 198.18.0.0/24, c 198.18.1.0/24; left out' }]);
  }
  // A newcomer inside a working peer is left out too, and the peer stays.
  const small = N('small', '198.18.1.128/25');
  const r = resolve([a, c, small, local], local, [a, c]);
  assert.equal(r.kept, ['a', 'c', 'me']);
  assert.equal(r.problems, [{ subject: 'node small (nodes[small]).subnet', message: '198.18.1.128/25 overlaps programmed peer c 198.18.1.0/24; left out' }]);
});

test('overlaps: a newcomer spanning the local node and a working peer knocks out neither', () => {
  const local = N('me', '198.18.0.0/24');
  const c = N('c', '198.18.1.0/24');
  const big = N('big', '198.18.0.0/23');
  const r = resolve([local, big, c], local, [c]);
  assert.equal(r.kept, ['c', 'me']);
  assert.equal(r.problems, [{ subject: 'node big (nodes[big]).subnet', message: '198.18.0.0/23 overlaps this node me 198.18.0.0/24; left out' }]);
});

test('overlaps: transitive groups: only nodes that overlap something are left out, each for its own overlaps', () => {
  // big overlaps a (programmed) and d; d overlaps only big; e overlaps nothing.
  const local = N('me', '198.18.9.0/24');
  const a = N('a', '198.18.0.0/24');
  const big = N('big', '198.18.0.0/22');
  const d = N('d', '198.18.2.0/24');
  const e = N('e', '198.18.4.0/24');
  const r = resolve([a, big, d, e, local], local, [a]);
  assert.equal(r.kept, ['a', 'e', 'me']);
  assert.equal(r.problems, [
    { subject: 'node big (nodes[big]).subnet', message: '198.18.0.0/22 overlaps programmed peer a 198.18.0.0/24; left out' },
    // d's only rival is big, a newcomer: "none is programmed" is about d's own overlaps, not a's.
    { subject: 'node d (nodes[d]).subnet', message: '198.18.2.0/24 overlaps big 198.18.0.0/22; none is programmed here, all left out' },
  ]);
});

test('overlaps: kept nodes never overlap each other, whatever is programmed (exhaustive over small clusters)', () => {
  const local = N('me', '198.18.8.0/24');
  const pool = ['198.18.0.0/22', '198.18.0.0/23', '198.18.0.0/24', '198.18.0.0/24', '198.18.1.0/24', '198.18.2.0/23', '198.18.3.0/25', '198.18.8.0/23'];
  const nodes = pool.map((s, i) => N(`p${i}`, s));
  for (let mask = 0; mask < 1 << nodes.length; mask++) {
    const prog = nodes.filter((_, i) => mask & (1 << i));
    const r = resolveOverlaps([...nodes, local], local, (n) => prog.includes(n));
    const kept = r.kept;
    assert.ok(kept.includes(local), 'the local node is always kept');
    for (let i = 0; i < kept.length; i++) for (let j = i + 1; j < kept.length; j++) {
      assert.not.ok(prefixesOverlap(kept[i].subnet, kept[j].subnet), `${kept[i].name} / ${kept[j].name} (programmed ${mask})`);
    }
    // Every node left out is reported once; a programmed peer overlapping only newcomers is kept.
    assert.is(r.problems.length + kept.length, nodes.length + 1);
    for (const p of prog) {
      const others = nodes.filter((x) => x !== p && prefixesOverlap(x.subnet, p.subnet));
      const rivalProg = others.some((x) => prog.includes(x) && !prefixesOverlap(x.subnet, local.subnet));
      const expectKept = !prefixesOverlap(p.subnet, local.subnet) && !rivalProg;
      assert.is(kept.includes(p), expectKept, `${p.name} programmed ${mask}`);
    }
    for (const n of nodes.filter((x) => !prog.includes(x))) {
      const alone = !prefixesOverlap(n.subnet, local.subnet) && nodes.every((x) => x === n || !prefixesOverlap(x.subnet, n.subnet));
      assert.is(kept.includes(n), alone, `${n.name} newcomer ${mask}`);
    }
  }
});

test('overlaps: a hostile supernet over many nodes stays fast and its reports stay bounded', () => {
  const n = 5_000;
  const nodes: Node[] = Array.from({ length: n }, (_, i) => N(`n${i}`, `10.${(i >> 8) & 255}.${i & 255}.0/24`));
  const hostile = N('hostile', '10.0.0.0/9');
  const local = nodes[0];
  // Nothing programmed: all overlapping nodes go (the rule), but every report is short.
  const r1 = resolveOverlaps([hostile, ...nodes], local, () => false);
  assert.equal(r1.kept.map((x) => x.name), ['n0']);
  assert.is(r1.problems.length, n);
  for (const p of r1.problems) assert.ok(p.message.length < 400, `report of ${p.message.length} chars`);
  assert.is(r1.problems[0].message, '10.0.0.0/9 overlaps this node n0 10.0.0.0/24; left out');
  assert.is(r1.problems[1].message, '10.0.1.0/24 overlaps hostile 10.0.0.0/9; none is programmed here, all left out');
  // All programmed: only the hostile node goes.
  const r2 = resolveOverlaps([hostile, ...nodes], local, (x) => x !== hostile);
  assert.is(r2.kept.length, n);
  assert.equal(r2.problems.map((p) => p.subject), ['node hostile (nodes[hostile]).subnet']);
  // Not overlapping this node, it names the first peers it covers and counts the rest.
  const r3 = resolveOverlaps([hostile, ...nodes], N('me', '192.168.0.0/24'), (x) => x !== hostile);
  assert.equal(r3.problems.map((p) => p.message), [
    `10.0.0.0/9 overlaps programmed peers ${Array.from({ length: 8 }, (_, i) => `n${i} 10.0.${i}.0/24`).join(', ')} and ${n - 8} more; left out`,
  ]);
});

test('overlaps: many copies of one subnet (n^2 pairs) are resolved without pairing them, reports bounded', () => {
  const n = 40_000;
  const copies: Node[] = Array.from({ length: n }, (_, i) => N(`c${i}`, '10.1.0.0/24'));
  const local = N('me', '10.9.0.0/24');
  const working = copies[n - 1];
  const r = resolveOverlaps([local, ...copies], local, (x) => x === working);
  assert.equal(r.kept.map((x) => x.name), ['me', working.name]);
  assert.is(r.problems.length, n - 1);
  assert.is(r.problems[0].message, '10.1.0.0/24 overlaps programmed peer c39999 10.1.0.0/24; left out');
  for (const p of r.problems) assert.ok(p.message.length < 400, `report of ${p.message.length} chars`);
  const none = resolveOverlaps([local, ...copies], local, () => false);
  assert.equal(none.kept, [local]);
  assert.is(none.problems[5].message,
    `10.1.0.0/24 overlaps ${[0, 1, 2, 3, 4, 6, 7, 8].map((i) => `c${i} 10.1.0.0/24`).join(', ')} and ${n - 9} more; none is programmed here, all left out`);
});

// ---- the local node -----------------------------------------------------------

const NODES = [node(0), node(1), node(2)];

test('local node: by --node name', () => {
  assert.is(findLocalNode(NODES, { name: 'node-1', hostname: 'node-2' }, true, new Map()), NODES[1]);
  const e = throwsLike(() => findLocalNode(NODES, { name: 'nope' }, true, new Map()), NodeError,
    /^node nope is not in the source; known nodes: node-0, node-1, node-2$/);
  assert.is((e as NodeError).hint, 'pass --node NAME with one of the known nodes');
  throwsLike(() => findLocalNode(NODES, { name: 'bad' }, true, new Map([['bad', 'node bad (nodes[3]).publicIP: 127.0.0.1 is not a unicast address (loopback)']])),
    NodeError, /^node bad is invalid: node bad \(nodes\[3\]\)\.publicIP: 127\.0\.0\.1 is not a unicast address \(loopback\)$/);
});

test('local node: by host name (named sources only), then --public-ip, then host addresses', () => {
  assert.is(findLocalNode(NODES, { hostname: 'node-2' }, true, new Map()), NODES[2]);
  // etcd-style sources: names are not host names
  assert.is(findLocalNode(NODES, { hostname: 'node-2', hostIPs: [ip('192.0.2.10')] }, false, new Map()), NODES[0]);
  assert.is(findLocalNode(NODES, { hostname: 'other', publicIP: '192.0.2.11' }, true, new Map()), NODES[1]);
  throwsLike(() => findLocalNode(NODES, { publicIP: '192.0.2.99' }, true, new Map()), NodeError,
    /^no node with public IP 192\.0\.2\.99 in the source; known nodes: node-0, node-1, node-2$/);
  throwsLike(() => findLocalNode(NODES, { publicIP: '192.0.2.11 dev eth0' }, true, new Map()), UsageError,
    /^--public-ip 192\.0\.2\.11 dev eth0 is not an IP address$/);
  assert.is(findLocalNode(NODES, { hostIPs: [ip('127.0.0.1'), ip('192.0.2.12')] }, true, new Map()), NODES[2]);
  const e = throwsLike(() => findLocalNode(NODES, { hostname: 'h', hostIPs: [ip('127.0.0.1')] }, true, new Map()), NodeError,
    /^cannot tell which node this is: no node matches host name h and this host's addresses; known nodes: node-0, node-1, node-2$/);
  assert.is((e as NodeError).hint, 'pass --node NAME or --public-ip IP');
  throwsLike(() => findLocalNode(NODES, { hostname: 'h' }, false, new Map()), NodeError, /no node matches this host's addresses;/);
});

test('local node: the error lists known nodes, shortened', () => {
  const many = Array.from({ length: 30 }, (_, i) => node(i));
  throwsLike(() => findLocalNode(many, { name: 'x' }, true, new Map()), NodeError,
    /^node x is not in the source; known nodes: node-0, node-1, node-2, node-3, node-4, node-5, node-6, node-7, … \(22 more\)$/);
  throwsLike(() => findLocalNode([], { name: 'x' }, true, new Map()), NodeError, /known nodes: \(none\)$/);
  assert.is(shortList(['a', 'b'], 1), 'a, … (1 more)');
  assert.is(shortList(['a', 'b'], 2), 'a, b');
  assert.is(shortList([]), '(none)');
});

// ---- the whole cluster --------------------------------------------------------

function state(nodes: Array<Partial<RawNode>>, over: Partial<ClusterState> = {}): ClusterState {
  return {
    config: { origin: 'c.yaml', network: '198.18.0.0/16', backend: { type: 'vxlan' } },
    nodes: nodes.map((n, i) => ({ origin: `c.yaml: nodes[${i}]`, name: `node-${i}`, publicIP: `192.0.2.${10 + i}`, subnet: `198.18.${i}.0/24`, ...n })),
    warnings: [],
    namedNodes: true,
    ...over,
  };
}

test('validateCluster: bad nodes are skipped with a problem, the rest converges', () => {
  const c = validateCluster(state([{}, { publicIP: '127.0.0.1' }, {}, { subnet: '10.0.0.0/24' }]), { name: 'node-0' });
  assert.equal(c.nodes.map((n) => n.name), ['node-0', 'node-2']);
  assert.equal(c.problems.map((p) => p.subject), ['node node-1 (c.yaml: nodes[1]).publicIP', 'node node-3 (c.yaml: nodes[3]).subnet']);
  assert.is(c.local.name, 'node-0');
  assert.is(c.config.subnetLen, 24);
});

test('validateCluster: duplicate names, first one wins, the duplicate is reported', () => {
  const c = validateCluster(state([{}, { name: 'node-0', subnet: '198.18.5.0/24' }]), { name: 'node-0' });
  assert.equal(c.nodes.map((n) => n.subnet.text), ['198.18.0.0/24']);
  assert.equal(prose(c.problems), [{ subject: 'node node-0 (c.yaml: nodes[1]).name', message: 'duplicate name; left out' }]);
});

test('validateCluster: source warnings become problems; overlaps resolved with isProgrammed', () => {
  const s = state([{}, { subnet: '198.18.1.0/24' }, { subnet: '198.18.1.0/24' }], { warnings: ['c.yaml: nodes[9]: not a mapping; skipped'] });
  const c = validateCluster(s, { name: 'node-0', isProgrammed: (n) => n.name === 'node-1' });
  assert.equal(c.nodes.map((n) => n.name), ['node-0', 'node-1']);
  assert.equal(c.problems.map((p) => p.subject), ['source', 'node node-2 (c.yaml: nodes[2]).subnet']);
});

test('validateCluster: a bad config refuses the whole run', () => {
  throwsLike(() => validateCluster(state([{}], { config: { origin: 'c.yaml', network: '0.0.0.0/0' } }), { name: 'node-0' }), Error, /default route/);
});

test('validateCluster: macRequired defaults to "the source has no names" (etcd)', () => {
  const s = state([{ vtepMAC: '0e:00:00:00:00:01' }, {}], { namedNodes: false });
  const c = validateCluster(s, { hostIPs: [ip('192.0.2.10')] });
  assert.equal(c.nodes.map((n) => n.name), ['node-0']);
  assert.equal(c.problems.map((p) => p.subject), ['node node-1 (c.yaml: nodes[1]).vtepMAC']);
});

test('validateCluster: an underlay address inside the pod network is refused through the local node', () => {
  const s = state([{ publicIP: '198.18.200.1' }, {}]);
  throwsLike(() => validateCluster(s, { name: 'node-0' }), NodeError, /^node node-0 is invalid: .*publicIP: 198\.18\.200\.1 lies inside the pod network 198\.18\.0\.0\/16$/);
});

test('validateCluster: the local node found by host name but invalid says why', () => {
  const s = state([{ publicIP: '127.0.0.1' }, {}]);
  throwsLike(() => validateCluster(s, { hostname: 'node-0', hostIPs: [ip('127.0.0.1')] }), NodeError,
    /node node-0 is invalid: node node-0 \(c\.yaml: nodes\[0\]\)\.publicIP: 127\.0\.0\.1 is not a unicast address \(loopback\)/);
});

test('problems carry fields a program can read: code, node, field, value, conflictsWith', () => {
  type Fields = Pick<Problem, 'code' | 'node' | 'field' | 'value' | 'conflictsWith'>;
  const fields = (p: Problem | undefined): Fields => ({ code: p?.code, node: p?.node, field: p?.field, value: p?.value, conflictsWith: p?.conflictsWith });
  const local = N('me', '198.18.0.0/24');
  const rows: Array<[string, Problem | undefined, Fields]> = [
    ['bad public IP', validateCluster(state([{}, { publicIP: '127.0.0.1' }]), { name: 'node-0' }).problems[0],
      { code: 'invalid-node', node: 'node-1', field: 'publicIP', value: '"127.0.0.1"', conflictsWith: undefined }],
    ['duplicate name', validateCluster(state([{}, { name: 'node-0', subnet: '198.18.5.0/24' }]), { name: 'node-0' }).problems[0],
      { code: 'duplicate-name', node: 'node-0', field: 'name', value: 'node-0', conflictsWith: undefined }],
    ['overlaps this node', resolveOverlaps([N('x', '198.18.0.0/16'), local], local, () => false).problems[0],
      { code: 'overlapping-subnet', node: 'x', field: 'subnet', value: '198.18.0.0/16', conflictsWith: ['me'] }],
    ['overlapping peers', resolveOverlaps([N('a', '198.18.4.0/23'), N('b', '198.18.5.0/24'), local], local, () => false).problems.find((p) => p.node === 'b'),
      { code: 'overlapping-subnet', node: 'b', field: 'subnet', value: '198.18.5.0/24', conflictsWith: ['a'] }],
  ];
  for (const [name, p, want] of rows) assert.equal(fields(p), want, name);
});

test.run();
