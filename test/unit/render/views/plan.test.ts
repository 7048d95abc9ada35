import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Chalk } from 'chalk';
import { plan } from '../../../../src/backends/index.js';
import type { Change, DesiredState, Entry, LinkEntry } from '../../../../src/model/types.js';
import { diff, type DiffResult } from '../../../../src/reconcile/diff.js';
import { ownershipFor } from '../../../../src/reconcile/ownership.js';
import { countChanges, describeChange, describeEntry, SYMBOL } from '../../../../src/render/describe.js';
import { changeLine, DIFF_JSON_VERSION, diffJSON, diffText } from '../../../../src/render/views/diff.js';
import { entryJSON, entryJSONForChange } from '../../../../src/render/json.js';
import { PLAN_JSON_VERSION, planCommands, planJSON, planTable } from '../../../../src/render/views/plan.js';
import { makeStyle } from '../../../../src/render/style.js';
import { actualFrom, cluster, emptyActual, HOSTGW, ip, mac, node, pfx, route, underlay } from '../../support/build.js';

const plain = new Chalk({ level: 0 });
const me = node(0);
const VX = (): DesiredState => plan({ cluster: cluster([me, node(1), node(2)], me), underlay: underlay() });
const HG = (): DesiredState => plan({ cluster: cluster([me, node(1), node(2)], me, HOSTGW), underlay: underlay() });

const LINK = VX().entries[0] as LinkEntry;
const ROUTE: Entry = { kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('198.18.1.0'), dev: 'flannel.1', onlink: true, proto: 244 };

test('describeEntry: one line per kind', () => {
  const rows: Array<[Entry, string]> = [
    [LINK, 'link flannel.1 vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning mtu 1450 address 0e:00:00:00:00:00'],
    [{ ...LINK, learning: true } as Entry, 'link flannel.1 vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 mtu 1450 address 0e:00:00:00:00:00'],
    [{ kind: 'addr', dev: 'flannel.1', addr: pfx('198.18.0.0/32') }, 'addr 198.18.0.0/32 dev flannel.1'],
    [{ kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.1.0'), mac: mac('0e:00:00:00:00:01') }, 'neigh 198.18.1.0 lladdr 0e:00:00:00:00:01 dev flannel.1 permanent'],
    [{ kind: 'fdb', dev: 'flannel.1', mac: mac('0e:00:00:00:00:01'), dst: ip('192.0.2.11') }, 'fdb 0e:00:00:00:00:01 dev flannel.1 dst 192.0.2.11 self permanent'],
    [ROUTE, 'route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink'],
    [{ kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('192.0.2.11'), dev: 'eth0', onlink: false, proto: 244 }, 'route 198.18.1.0/24 via 192.0.2.11 dev eth0'],
    [{ kind: 'route', dst: pfx('198.18.6.0/24'), onlink: false, proto: 244 } as unknown as Entry, 'route 198.18.6.0/24'],
  ];
  for (const [e, want] of rows) assert.is(describeEntry(e), want);
});

test('symbols, change descriptions and counts', () => {
  assert.equal(SYMBOL, { add: '+', change: '~', delete: '-', replace: '-/+' });
  const changes: Change[] = [
    { action: 'add', kind: 'route', key: 'k1', desired: ROUTE },
    { action: 'change', kind: 'link', key: 'k2', desired: LINK, detail: 'mtu 1400 -> 1450' },
    { action: 'replace', kind: 'link', key: 'k3', desired: LINK, detail: 'dstport 4789 -> 8472' },
    { action: 'delete', kind: 'route', key: 'k4', actual: ROUTE },
    { action: 'delete', kind: 'route', key: 'k5', actual: ROUTE },
  ];
  assert.is(describeChange(changes[0]), 'route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink');
  assert.is(describeChange(changes[1]), `${describeEntry(LINK)}  (mtu 1400 -> 1450)`);
  assert.is(describeChange(changes[3]), 'route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink');
  assert.equal(countChanges(changes), { add: 1, change: 2, delete: 2 });
  assert.equal(countChanges([]), { add: 0, change: 0, delete: 0 });
  assert.equal(changes.map((c) => changeLine(c, plain).slice(0, 4)), ['  + ', '  ~ ', '-/+ ', '  - ', '  - ']);
});

test('diffText: in sync', () => {
  const d = VX();
  const r = diff(d, actualFrom(d.entries), ownershipFor('flannel.1'));
  assert.is(diffText(r, plain), 'No changes. The host matches the plan (9 entries in sync).');
  const r2: DiffResult = { ...r, adopted: ['route:198.18.1.0/24'] };
  assert.is(diffText(r2, plain), 'No changes. The host matches the plan (9 entries in sync, 1 held by identical foreign routes).');
});

test('diffText: + ~ - -/+ lines in apply order, conflicts, then the footer', () => {
  const d = VX();
  const a = actualFrom(d.entries.filter((e) => !(e.kind === 'route' && e.dst.text === '198.18.2.0/24')), {
    routes: [route('198.18.9.0/24', '198.18.9.0', 'flannel.1', true), route('198.18.2.0/24', '192.0.2.1', 'eth0', false, 4)],
  });
  a.links.get('flannel.1')!.mtu = 1400;
  a.neighbors[0] = { ...a.neighbors[0], mac: mac('0e:ff:00:00:00:01') };
  const r = diff(d, a, ownershipFor('flannel.1'));
  assert.is(diffText(r, plain), [
    '  - route 198.18.9.0/24 via 198.18.9.0 dev flannel.1 onlink',
    '  ~ link flannel.1 vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning mtu 1450 address 0e:00:00:00:00:00  (mtu 1400 -> 1450)',
    '  ~ neigh 198.18.1.0 lladdr 0e:00:00:00:00:01 dev flannel.1 permanent  (lladdr 0e:ff:00:00:00:01 -> 0e:00:00:00:00:01)',
    '  ! route:198.18.2.0/24: a route not owned by ovlnet (protocol 4 static, via 192.0.2.1 dev eth0) holds 198.18.2.0/24; left as is',
    '',
    'Diff: 0 to add, 2 to change, 1 to destroy. 1 conflict with foreign routes. 6 in sync.',
  ].join('\n'));
  // A replaced device, and adds on an empty host.
  a.links.get('flannel.1')!.vxlan!.port = 4789;
  const rep = diffText(diff(d, a, ownershipFor('flannel.1')), plain).split('\n');
  assert.ok(rep.includes('-/+ link flannel.1 vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning mtu 1450 address 0e:00:00:00:00:00  (dstport 4789 -> 8472, mtu 1400 -> 1450)'), rep.join('\n'));
  const empty = diffText(diff(d, emptyActual(), ownershipFor('flannel.1')), plain).split('\n');
  assert.is(empty[0], '  + link flannel.1 vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning mtu 1450 address 0e:00:00:00:00:00');
  assert.is(empty[empty.length - 1], 'Diff: 9 to add, 0 to change, 0 to destroy. 0 in sync.');
  assert.is(empty[empty.length - 2], '');
});

test('diffText: several conflicts are counted in the plural', () => {
  const r: DiffResult = { changes: [], adopted: [], inSync: 3, conflicts: [{ subject: 'a', message: 'x' }, { subject: 'b', message: 'y' }] };
  assert.is(diffText(r, plain), '  ! a: x\n  ! b: y\n\nDiff: 0 to add, 0 to change, 0 to destroy. 2 conflicts with foreign routes. 3 in sync.');
});

test('diffJSON: versioned, summary, ordered changes with flattened entries', () => {
  const d = VX();
  const a = actualFrom(d.entries, { routes: [route('198.18.9.0/24', '198.18.9.0', 'flannel.1', true)] });
  const r = diff(d, a, ownershipFor('flannel.1'));
  const problems = [{ subject: 'node x', message: 'bad' }];
  const j = JSON.parse(JSON.stringify(diffJSON(r, problems, d)));
  assert.is(DIFF_JSON_VERSION, 3);
  assert.equal(j, {
    version: 3,
    inSync: false,
    summary: { add: 0, change: 0, delete: 1, conflicts: 0, unchanged: 9, adopted: 0 },
    changes: [{
      action: 'delete', kind: 'route', key: 'route:198.18.9.0/24',
      actual: { key: 'route:198.18.9.0/24', kind: 'route', dst: '198.18.9.0/24', via: '198.18.9.0', dev: 'flannel.1', onlink: true, proto: 244 },
      // A route of a node no longer in the source: no peer to name.
      peer: null,
    }],
    conflicts: [],
    // Fields from the subject: the node named, the code a node problem has without one of its own.
    problems: [{ code: 'node', subject: 'node x', message: 'bad', node: 'x' }],
  });
  assert.is((diffJSON(diff(d, actualFrom(d.entries), ownershipFor('flannel.1')), []) as { inSync: boolean }).inSync, true);
});

test('diffJSON: every change names the peer it belongs to (route, fdb, neigh), null for the node\'s own state', () => {
  const d = VX();
  const r = diff(d, actualFrom([]), ownershipFor('flannel.1'));
  const j = JSON.parse(JSON.stringify(diffJSON(r, [], d))) as { changes: Array<{ kind: string; peer: string | null; desired: Record<string, string> }> };
  const peerNames = d.peers.map((p) => p.node.name);
  assert.ok(peerNames.length >= 2);
  for (const c of j.changes) {
    if (['route', 'fdb', 'neigh'].includes(c.kind)) assert.ok(c.peer !== null && peerNames.includes(c.peer), `${c.kind} ${JSON.stringify(c.desired)} -> ${c.peer}`);
    else assert.is(c.peer, null, c.kind);
  }
  for (const name of peerNames) assert.is(j.changes.filter((c) => c.peer === name).length, 3, `${name}: its route, fdb and neigh entries`);
});

test('entryJSON flattens typed values to their canonical text (no BigInt reaches JSON)', () => {
  assert.equal(entryJSON(LINK), {
    key: 'link:flannel.1', kind: 'link', name: 'flannel.1', vni: 1, local: '192.0.2.10', underlay: 'eth0', port: 8472,
    learning: false, mtu: 1450, mac: '0e:00:00:00:00:00', up: true,
  });
  assert.equal(entryJSONForChange({ action: 'change', kind: 'route', key: 'route:198.18.1.0/24', desired: ROUTE, actual: ROUTE, detail: 'd' }), {
    action: 'change', kind: 'route', key: 'route:198.18.1.0/24', detail: 'd',
    desired: entryJSON(ROUTE), actual: entryJSON(ROUTE),
  });
});

test('planJSON: "version": 2 and the whole desired state, serialisable', () => {
  const d = VX();
  const j = JSON.parse(JSON.stringify(planJSON(d, [])));
  assert.is(PLAN_JSON_VERSION, 2);
  assert.is(j.version, 2);
  assert.equal(Object.keys(j), ['version', 'backend', 'device', 'underlay', 'local', 'peers', 'entries', 'problems']);
  assert.equal([j.backend, j.device, j.underlay], ['vxlan', 'flannel.1', { dev: 'eth0', mtu: 1500, found: true }]);
  assert.equal(j.local, { name: 'node-0', publicIP: '192.0.2.10', subnet: '198.18.0.0/24', vtepMAC: '0e:00:00:00:00:00' });
  assert.equal(j.peers[0], { name: 'node-1', publicIP: '192.0.2.11', subnet: '198.18.1.0/24', vtepMAC: '0e:00:00:00:00:01', via: 'vxlan' });
  assert.is(j.entries.length, 9);
  assert.equal(j.entries[8], { key: 'route:198.18.2.0/24', kind: 'route', dst: '198.18.2.0/24', via: '198.18.2.0', dev: 'flannel.1', onlink: true, proto: 244 });
  const h = JSON.parse(JSON.stringify(planJSON(HG(), [{ subject: 's', message: 'm' }])));
  assert.equal([h.version, h.backend, h.device, h.problems], [2, 'host-gw', null, [{ code: 'warning', subject: 's', message: 'm' }]]);
});

test('planCommands: the exact lines apply would run on an empty host, prefixed with their tool', () => {
  assert.equal(planCommands(VX()), [
    'ip link add flannel.1 address 0e:00:00:00:00:00 mtu 1450 type vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning',
    'ip link set flannel.1 up',
    'ip addr replace 198.18.0.0/32 dev flannel.1',
    'ip neigh replace 198.18.1.0 lladdr 0e:00:00:00:00:01 dev flannel.1 nud permanent',
    'ip neigh replace 198.18.2.0 lladdr 0e:00:00:00:00:02 dev flannel.1 nud permanent',
    'bridge fdb replace 0e:00:00:00:00:01 dev flannel.1 dst 192.0.2.11 self permanent',
    'bridge fdb replace 0e:00:00:00:00:02 dev flannel.1 dst 192.0.2.12 self permanent',
    'ip route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244',
    'ip route add 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink proto 244',
    'sysctl -q -w net/ipv6/conf/flannel.1/accept_ra=0',
  ]);
  assert.equal(planCommands(HG()), [
    'ip route add 198.18.1.0/24 via 192.0.2.11 dev eth0 proto 244',
    'ip route add 198.18.2.0/24 via 192.0.2.12 dev eth0 proto 244',
  ]);
  // The same lines as diff against an empty host would produce.
  assert.equal(planCommands(VX()).length, diff(VX(), emptyActual(), ownershipFor('flannel.1')).changes.length + 1);
});

test('planTable: header lines, a row per peer, the count line', () => {
  const t = planTable(VX(), plain).split('\n');
  assert.is(t[0], 'Node node-0  public IP 192.0.2.10  subnet 198.18.0.0/24  VTEP MAC 0e:00:00:00:00:00');
  assert.is(t[1], 'Backend vxlan  device flannel.1 (VNI 1, port 8472, MTU 1450)');
  assert.is(t[2], 'Underlay eth0  MTU 1500');
  assert.is(t[t.length - 1], '2 peers: 1 device, 1 address, 2 neighbors, 2 fdb entries, 2 routes, 1 device setting.');
  const body = t.join('\n');
  for (const cell of ['Peer', 'Subnet', 'Public IP', 'VTEP MAC', 'Route', 'node-1', '198.18.1.0/24', '192.0.2.11', '0e:00:00:00:00:01', 'via 198.18.1.0 dev flannel.1 onlink']) {
    assert.ok(body.includes(cell), `table has ${cell}`);
  }
  const h = planTable(HG(), plain).split('\n');
  assert.is(h[0], 'Node node-0  public IP 192.0.2.10  subnet 198.18.0.0/24');
  assert.is(h[1], 'Backend host-gw');
  assert.is(h[h.length - 1], '2 peers: 2 routes.');
  assert.not.ok(h.join('\n').includes('VTEP MAC'));
  assert.ok(h.join('\n').includes('via 192.0.2.11 dev eth0'));
  const alone = plan({ cluster: cluster([me], me), underlay: underlay({ found: false, connected: [] }) });
  const a = planTable(alone, plain).split('\n');
  assert.is(a[2], 'Underlay eth0  MTU 1500  (not on this host: assumed; use --iface)');
  assert.is(a[3], '(no peers)');
  assert.is(a[4], '0 peers: 1 device, 1 address, 0 neighbors, 0 fdb entries, 0 routes, 1 device setting.');
  const one = plan({ cluster: cluster([me, node(1)], me), underlay: underlay() });
  assert.is(planTable(one, plain).split('\n').pop(), '1 peer: 1 device, 1 address, 1 neighbor, 1 fdb entry, 1 route, 1 device setting.');
});

test('makeStyle: colour only for a TTY, never with NO_COLOR or --no-color, FORCE_COLOR forces', () => {
  const rows: Array<[boolean, boolean, NodeJS.ProcessEnv, boolean]> = [
    // isTTY, noColor flag, env, coloured
    [true, false, {}, true],
    [false, false, {}, false],
    [true, true, {}, false],
    [true, false, { NO_COLOR: '1' }, false],
    [true, false, { NO_COLOR: '' }, true],
    [false, false, { FORCE_COLOR: '1' }, true],
    [false, false, { FORCE_COLOR: '0' }, false],
    [true, false, { NO_COLOR: '1', FORCE_COLOR: '1' }, true],
    [true, true, { FORCE_COLOR: '1' }, false],
  ];
  for (const [isTTY, noColor, env, coloured] of rows) {
    assert.is(makeStyle({ isTTY }, noColor, env).level > 0, coloured, JSON.stringify([isTTY, noColor, env]));
  }
});

test.run();
