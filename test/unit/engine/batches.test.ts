import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { isIpBatchChange, linesFor, SPLIT_LINES, toBatches, toPhases, type Batch, type Tool } from '../../../src/engine/batches.js';
import { entryKey } from '../../../src/kinds/index.js';
import type { Change, Entry, LinkEntry, RouteEntry } from '../../../src/model/types.js';
import { diff } from '../../../src/reconcile/diff.js';
import { orderChanges } from '../../../src/reconcile/order.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { actualFrom, addChange, cluster, delChange, emptyActual, HOSTGW, ip, mac, node, pfx, underlay } from '../support/build.js';

const LINK: LinkEntry = {
  kind: 'link', name: 'flannel.1', vni: 1, local: ip('192.0.2.10'), underlay: 'eth0', port: 8472, learning: false,
  mtu: 1450, mac: mac('0e:00:00:00:00:00'), up: true,
};
const ADDR: Entry = { kind: 'addr', dev: 'flannel.1', addr: pfx('198.18.0.0/32') };
const NEIGH: Entry = { kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.1.0'), mac: mac('0e:00:00:00:00:01') };
const FDB: Entry = { kind: 'fdb', dev: 'flannel.1', mac: mac('0e:00:00:00:00:01'), dst: ip('192.0.2.11') };
const ROUTE: RouteEntry = { kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('198.18.1.0'), dev: 'flannel.1', onlink: true, proto: 244 };
const HGW: RouteEntry = { kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('192.0.2.11'), dev: 'eth0', onlink: false, proto: 244 };

const change = (action: Change['action'], e: Entry, actual?: Entry): Change => ({
  action, kind: e.kind, key: entryKey(e), ...(action === 'delete' ? { actual: e } : { desired: e, actual }),
}) as Change;

test('exact batch lines per change kind, as flannel programs them', () => {
  const rows: Array<[Change, Array<[Tool, string]>]> = [
    [change('add', LINK), [
      ['ip', 'link add flannel.1 address 0e:00:00:00:00:00 mtu 1450 type vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning'],
      ['ip', 'link set flannel.1 up'],
    ]],
    [change('add', { ...LINK, learning: true, vni: 4096, name: 'flannel.4096', port: 4789 }), [
      ['ip', 'link add flannel.4096 address 0e:00:00:00:00:00 mtu 1450 type vxlan id 4096 local 192.0.2.10 dev eth0 dstport 4789 learning'],
      ['ip', 'link set flannel.4096 up'],
    ]],
    [change('add', ADDR), [['ip', 'addr replace 198.18.0.0/32 dev flannel.1']]],
    [change('add', NEIGH), [['ip', 'neigh replace 198.18.1.0 lladdr 0e:00:00:00:00:01 dev flannel.1 nud permanent']]],
    [change('add', FDB), [['bridge', 'fdb replace 0e:00:00:00:00:01 dev flannel.1 dst 192.0.2.11 self permanent']]],
    // a new route is `add`: a foreign route appearing meanwhile makes the kernel refuse, not ovlnet overwrite it
    [change('add', ROUTE), [['ip', 'route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244']]],
    [change('add', HGW), [['ip', 'route add 198.18.1.0/24 via 192.0.2.11 dev eth0 proto 244']]],
    // changes of owned entries replace them
    [change('change', ROUTE, HGW), [['ip', 'route replace 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244']]],
    [change('change', NEIGH), [['ip', 'neigh replace 198.18.1.0 lladdr 0e:00:00:00:00:01 dev flannel.1 nud permanent']]],
    [change('change', LINK), [['ip', 'link set flannel.1 mtu 1450 address 0e:00:00:00:00:00 up']]],
    [change('change', { ...LINK, up: false }), [['ip', 'link set flannel.1 mtu 1450 address 0e:00:00:00:00:00 down']]],
    [change('replace', LINK), [
      ['ip', 'link del flannel.1'],
      ['ip', 'link add flannel.1 address 0e:00:00:00:00:00 mtu 1450 type vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning'],
      ['ip', 'link set flannel.1 up'],
    ]],
    // deletions name exactly what is removed; routes name ovlnet's protocol so only ours can match
    [change('delete', LINK), [['ip', 'link del flannel.1']]],
    [change('delete', ADDR), [['ip', 'addr del 198.18.0.0/32 dev flannel.1']]],
    [change('delete', NEIGH), [['ip', 'neigh del 198.18.1.0 dev flannel.1']]],
    [change('delete', FDB), [['bridge', 'fdb del 0e:00:00:00:00:01 dev flannel.1 dst 192.0.2.11 self']]],
    [change('delete', ROUTE), [['ip', 'route del 198.18.1.0/24 via 198.18.1.0 dev flannel.1 proto 244']]],
    [change('delete', HGW), [['ip', 'route del 198.18.1.0/24 via 192.0.2.11 dev eth0 proto 244']]],
    // an owned route of a shape ovlnet does not write (blackhole): deleted by destination and protocol
    [{ action: 'delete', kind: 'route', key: 'route:198.18.6.0/24', actual: { kind: 'route', dst: pfx('198.18.6.0/24'), onlink: false, proto: 244 } as unknown as RouteEntry },
      [['ip', 'route del 198.18.6.0/24 proto 244']]],
  ];
  for (const [c, want] of rows) assert.equal(linesFor(c), want, `${c.action} ${c.key}`);
});

test('rendering refuses device names and numbers outside the grammar', () => {
  const bad: Entry[] = [
    { ...LINK, underlay: 'eth0 up' },
    { ...LINK, underlay: 'eth0\nlink del eth0' },
    { ...LINK, name: 'dev' },
    { ...LINK, name: 'flannel.16777215' },
    { ...LINK, mtu: -1 },
    { ...LINK, mtu: 1450.5 },
    { ...LINK, vni: NaN },
    { ...ADDR, dev: '' },
    { ...NEIGH, dev: 'flannel.1 lladdr' },
    { ...FDB, dev: 'via' },
    { ...ROUTE, dev: 'onlink' },
    { ...ROUTE, proto: -244 },
  ];
  for (const [i, e] of bad.entries()) {
    for (const action of ['add', 'delete'] as const) {
      if (action === 'delete' && e.kind === 'link' && e.name === 'flannel.1') continue; // delete names only the device
      assert.throws(() => linesFor(change(action, e)), /^refusing to render (device name|number) /, `${action} bad[${i}]`);
    }
  }
});

test('toBatches: one process per run of the same tool, lines in order, each tied to its change', () => {
  const me = node(0);
  const d = plan({ cluster: cluster([me, node(1), node(2)], me), underlay: underlay() });
  // accept_ra has a writer of its own (one sysctl process).
  const ordered = orderChanges(d.entries.map(addChange).filter(isIpBatchChange));
  const batches = toBatches(ordered);
  assert.equal(batches.map((b) => [b.tool, b.lines.map((l) => l.line)]), [
    ['ip', [
      'link add flannel.1 address 0e:00:00:00:00:00 mtu 1450 type vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning',
      'link set flannel.1 up',
      'addr replace 198.18.0.0/32 dev flannel.1',
      'neigh replace 198.18.1.0 lladdr 0e:00:00:00:00:01 dev flannel.1 nud permanent',
      'neigh replace 198.18.2.0 lladdr 0e:00:00:00:00:02 dev flannel.1 nud permanent',
    ]],
    ['bridge', [
      'fdb replace 0e:00:00:00:00:01 dev flannel.1 dst 192.0.2.11 self permanent',
      'fdb replace 0e:00:00:00:00:02 dev flannel.1 dst 192.0.2.12 self permanent',
    ]],
    ['ip', [
      'route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244',
      'route add 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink proto 244',
    ]],
  ]);
  // Both lines of the link add belong to the link change.
  assert.is(batches[0].lines[0].change, ordered[0]);
  assert.is(batches[0].lines[1].change, ordered[0]);
  assert.is(batches[2].lines[1].change, ordered[ordered.length - 1]);
  assert.equal(toBatches([]), []);
});

test('toBatches: deletions and additions together need at most five processes', () => {
  const me = node(0);
  const before = plan({ cluster: cluster([me, node(1), node(2), node(3)], me), underlay: underlay() });
  const after = plan({ cluster: cluster([me, node(1), { ...node(2), vtepMAC: mac('0e:aa:00:00:00:02') }, node(4)], me), underlay: underlay() });
  const r = diff(after, actualFrom(before.entries), ownershipFor('flannel.1'));
  const batches = toBatches(orderChanges(r.changes));
  // -route (ip) | -fdb (bridge) | -neigh, +neigh (ip) | +fdb (bridge) | +route (ip)
  assert.equal(batches.map((b) => b.tool), ['ip', 'bridge', 'ip', 'bridge', 'ip']);
  assert.equal(batches.flatMap((b) => b.lines.map((l) => l.line)), [
    'route del 198.18.3.0/24 via 198.18.3.0 dev flannel.1 proto 244',
    'fdb del 0e:00:00:00:00:02 dev flannel.1 dst 192.0.2.12 self',
    'fdb del 0e:00:00:00:00:03 dev flannel.1 dst 192.0.2.13 self',
    'neigh del 198.18.3.0 dev flannel.1',
    'neigh replace 198.18.2.0 lladdr 0e:aa:00:00:00:02 dev flannel.1 nud permanent',
    'neigh replace 198.18.4.0 lladdr 0e:00:00:00:00:04 dev flannel.1 nud permanent',
    'fdb replace 0e:aa:00:00:00:02 dev flannel.1 dst 192.0.2.12 self permanent',
    'fdb replace 0e:00:00:00:00:04 dev flannel.1 dst 192.0.2.14 self permanent',
    'route add 198.18.4.0/24 via 198.18.4.0 dev flannel.1 onlink proto 244',
  ]);
});

test('toBatches: host-gw is a single ip process; an empty host plan for a lone node is nothing', () => {
  const me = node(0);
  const d = plan({ cluster: cluster([me, node(1), node(2)], me, HOSTGW), underlay: underlay() });
  const batches = toBatches(orderChanges(diff(d, emptyActual(), ownershipFor(undefined)).changes));
  assert.equal(batches.map((b) => [b.tool, b.lines.length]), [['ip', 2]]);
  const alone = plan({ cluster: cluster([me], me, HOSTGW), underlay: underlay() });
  assert.equal(toBatches(orderChanges(alone.entries.map(addChange))), []);
  assert.equal(toBatches([delChange(NEIGH), delChange(FDB)]).map((b) => b.tool), ['ip', 'bridge']);
});

const shape = (phases: Batch[][]) => phases.map((p) => p.map((b) => `${b.tool}:${b.lines.length}`));

test('toPhases: devices first, then neighbours and routes (one ip) with the fdb (one bridge) at once', () => {
  const me = node(0);
  const d = plan({ cluster: cluster([me, node(1), node(2)], me), underlay: underlay() });
  const ordered = orderChanges(d.entries.map(addChange).filter(isIpBatchChange));
  const phases = toPhases(ordered);
  assert.equal(shape(phases), [['ip:3'], ['ip:4', 'bridge:2']]);
  assert.equal(phases[1][0].lines.map((l) => l.line), [
    'neigh replace 198.18.1.0 lladdr 0e:00:00:00:00:01 dev flannel.1 nud permanent',
    'neigh replace 198.18.2.0 lladdr 0e:00:00:00:00:02 dev flannel.1 nud permanent',
    'route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244',
    'route add 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink proto 244',
  ]);
  // Every line of toBatches, each once, each with its own change.
  const lines = (bs: Batch[]) => bs.flatMap((b) => b.lines.map((l) => [b.tool, l.line, l.change]));
  assert.equal(lines(phases.flat()).map(String).sort(), lines(toBatches(ordered)).map(String).sort());
  for (const b of phases.flat()) for (const l of b.lines) assert.ok(linesFor(l.change).some(([t, x]) => t === b.tool && x === l.line));
  // One new peer: one ip and one bridge, together; a changed MAC the same; nothing: no phase.
  const one = toPhases(orderChanges([addChange(NEIGH), addChange(FDB), addChange(ROUTE)]));
  assert.equal(shape(one), [['ip:2', 'bridge:1']]);
  assert.equal(shape(toPhases([change('change', NEIGH), change('change', FDB)])), [['ip:1', 'bridge:1']]);
  assert.equal(shape(toPhases([addChange(HGW)])), [['ip:1']]);
  assert.equal(toPhases([]), []);
});

test('toPhases: each process removes before it adds; no device change, one phase', () => {
  const me = node(0);
  const before = plan({ cluster: cluster([me, node(1), node(2), node(3)], me), underlay: underlay() });
  const after = plan({ cluster: cluster([me, node(1), { ...node(2), vtepMAC: mac('0e:aa:00:00:00:02') }, node(4)], me), underlay: underlay() });
  const ordered = orderChanges(diff(after, actualFrom(before.entries), ownershipFor('flannel.1')).changes);
  const phases = toPhases(ordered);
  assert.equal(shape(phases), [['ip:5', 'bridge:4']]);
  assert.equal(phases[0][0].lines.map((l) => `${l.change.action} ${l.line}`), [
    'delete neigh del 198.18.3.0 dev flannel.1',
    'delete route del 198.18.3.0/24 via 198.18.3.0 dev flannel.1 proto 244',
    'change neigh replace 198.18.2.0 lladdr 0e:aa:00:00:00:02 dev flannel.1 nud permanent',
    'add neigh replace 198.18.4.0 lladdr 0e:00:00:00:00:04 dev flannel.1 nud permanent',
    'add route add 198.18.4.0/24 via 198.18.4.0 dev flannel.1 onlink proto 244',
  ]);
  const fdb = phases[0][1].lines.map((l) => l.change.action);
  assert.equal(fdb, ['delete', 'delete', 'add', 'add']);
});

test('toPhases: large neighbour and route sets each get an ip process; deletions still first in each', () => {
  const peer = (i: number): Entry[] => {
    const gw = ip(`198.18.${i >> 8}.${(i & 255)}`);
    const m = mac(`0e:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
    return [
      { kind: 'neigh', dev: 'flannel.1', ip: gw, mac: m },
      { kind: 'fdb', dev: 'flannel.1', mac: m, dst: ip(`203.0.113.${i & 255}`) },
      { kind: 'route', dst: pfx(`${gw.text}/32`), via: gw, dev: 'flannel.1', onlink: true, proto: 244 },
    ];
  };
  const changes = (n: number) => [change('delete', ROUTE), change('delete', NEIGH), ...Array.from({ length: n }, (_, i) => peer(i + 1).map(addChange)).flat()];
  const big = toPhases(orderChanges(changes(SPLIT_LINES)));
  assert.equal(shape(big), [[`ip:${SPLIT_LINES + 1}`, `ip:${SPLIT_LINES + 1}`, `bridge:${SPLIT_LINES}`]]);
  assert.ok(big[0][0].lines.every((l) => l.change.kind === 'neigh'));
  assert.ok(big[0][1].lines.every((l) => l.change.kind === 'route'));
  assert.equal(big[0][0].lines[0].change.action, 'delete');
  assert.equal(big[0][1].lines[0].change.action, 'delete');
  // Fewer than SPLIT_LINES additions of one kind: one ip for both, deletions first.
  const small = toPhases(orderChanges(changes(SPLIT_LINES - 1)));
  assert.equal(shape(small), [[`ip:${2 * SPLIT_LINES}`, `bridge:${SPLIT_LINES - 1}`]]);
  assert.equal(small[0][0].lines.slice(0, 2).map((l) => l.change.action), ['delete', 'delete']);
});

test('toPhases: a replaced device goes with the devices, before the entries that need it', () => {
  const old = { ...LINK, vni: 2 };
  const phases = toPhases(orderChanges([addChange(ROUTE), addChange(NEIGH), change('replace', LINK, old), addChange(ADDR), addChange(FDB)]));
  assert.equal(phases.map((p) => p.map((b) => b.lines.map((l) => l.line.split(' ').slice(0, 2).join(' ')))), [
    [['link del', 'link add', 'link set', 'addr replace']],
    [['neigh replace', 'route add'], ['fdb replace']],
  ]);
});

test.run();
