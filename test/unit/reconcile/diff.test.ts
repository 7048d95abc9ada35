import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { UsageError } from '../../../src/errors.js';
import { entryKey } from '../../../src/kinds/index.js';
import type { ActualState, Change, DesiredState, Entry, EntryKind, HostRoute, LinkEntry } from '../../../src/model/types.js';
import { diff } from '../../../src/reconcile/diff.js';
import { checkMassDeletion, parseMaxDelete } from '../../../src/reconcile/guard.js';
import { orderChanges, phaseOf } from '../../../src/reconcile/order.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { programmedCheck } from '../../../src/reconcile/programmed.js';
import {
  actualFrom, addChange, cluster, config, delChange, emptyActual, fdb, HOSTGW, hostLink, ip, mac, neigh, node, pfx, route, throwsLike, underlay, VXLAN,
} from '../support/build.js';

const N = [0, 1, 2, 3].map((i) => node(i));
const POLICY = ownershipFor('flannel.1');

function vx(nodes = N.slice(0, 3)): DesiredState {
  return plan({ cluster: cluster(nodes, N[0]), underlay: underlay() });
}
function hg(nodes = N.slice(0, 3)): DesiredState {
  return plan({ cluster: cluster(nodes, N[0], HOSTGW), underlay: underlay() });
}
/** Changes as compact "action key" strings, sorted, with details where given. */
function summary(changes: Change[]): string[] {
  return changes.map((c) => `${c.action} ${c.key}${c.detail ? ` (${c.detail})` : ''}`).sort();
}
function linkOf(d: DesiredState): LinkEntry {
  return d.entries.find((e): e is LinkEntry => e.kind === 'link')!;
}
function withLink(a: ActualState, over: Partial<LinkEntry & { kind: string }>): ActualState {
  const l = a.links.get('flannel.1')!;
  const v = l.vxlan!;
  a.links.set('flannel.1', {
    ...l,
    mtu: over.mtu ?? l.mtu, mac: over.mac ?? l.mac, up: over.up ?? l.up, kind: over.kind ?? l.kind,
    vxlan: { id: over.vni ?? v.id, local: over.local ?? v.local, link: over.underlay ?? v.link, port: over.port ?? v.port, learning: over.learning ?? v.learning },
  });
  return a;
}

// ---- diff -------------------------------------------------------------------

test('diff: empty host, everything is added', () => {
  const d = vx();
  const r = diff(d, emptyActual(), POLICY);
  assert.equal(r.changes.map((c) => [c.action, c.kind]), d.entries.map((e) => ['add', e.kind]));
  assert.equal(r.changes.map((c) => c.desired), d.entries);
  assert.equal([r.inSync, r.adopted, r.conflicts], [0, [], []]);
});

test('diff: host in sync, no change, every entry counted', () => {
  for (const d of [vx(), hg()]) {
    const r = diff(d, actualFrom(d.entries), ownershipFor(d.device));
    assert.equal(r.changes, []);
    assert.is(r.inSync, d.entries.length);
  }
});

test('diff: mutable link attributes are changed in place; entries on it stay', () => {
  const d = vx();
  // Setting the device address makes the kernel flush the device's neighbours
  // (permanent ones too), so only a MAC change re-writes the in-sync ones.
  const flushed = ['198.18.1.0', '198.18.2.0'].map((n) => `change neigh:flannel.1/${n} (flushed by the device address change)`);
  const rows: Array<[Partial<LinkEntry>, string, string[]]> = [
    [{ mtu: 1400 }, 'mtu 1400 -> 1450', []],
    [{ mac: mac('0e:ff:00:00:00:00') }, 'address 0e:ff:00:00:00:00 -> 0e:00:00:00:00:00', flushed],
    [{ up: false }, 'down -> up', []],
    [{ mtu: 9000, up: false }, 'mtu 9000 -> 1450, down -> up', []],
    [{ mtu: 1400, mac: mac('0e:ff:00:00:00:00') }, 'mtu 1400 -> 1450, address 0e:ff:00:00:00:00 -> 0e:00:00:00:00:00', flushed],
  ];
  for (const [over, detail, rewritten] of rows) {
    const r = diff(d, withLink(actualFrom(d.entries), over), POLICY);
    assert.equal(summary(r.changes), [`change link:flannel.1 (${detail})`, ...rewritten], detail);
    assert.is(r.inSync, d.entries.length - 1 - rewritten.length);
    const ordered = orderChanges(r.changes);
    assert.is(ordered[0].kind, 'link', `${detail}: the device first, then the neighbours it flushed`);
    for (const c of ordered.slice(1)) assert.equal(c.desired, d.entries.find((e) => entryKey(e) === c.key), c.key);
  }
});

test('diff: an immutable link attribute replaces the device, and everything on it is added again', () => {
  const d = vx();
  const rows: Array<[Partial<LinkEntry>, string]> = [
    [{ vni: 2 }, 'id 2 -> 1'],
    [{ local: ip('192.0.2.99') }, 'local 192.0.2.99 -> 192.0.2.10'],
    [{ underlay: 'eth1' }, 'dev eth1 -> eth0'],
    [{ port: 4789 }, 'dstport 4789 -> 8472'],
    [{ learning: true }, 'learning -> nolearning'],
    [{ port: 4789, mtu: 1400 }, 'dstport 4789 -> 8472, mtu 1400 -> 1450'],
  ];
  for (const [over, detail] of rows) {
    // The host also has a stale peer on the device: it goes away with the device.
    const a = withLink(actualFrom(d.entries, {
      neighbors: [neigh('flannel.1', '198.18.9.0', '0e:00:00:00:00:09')],
      fdb: [fdb('flannel.1', '0e:00:00:00:00:09', '192.0.2.19')],
      routes: [route('198.18.9.0/24', '198.18.9.0', 'flannel.1', true)],
    }), over);
    const r = diff(d, a, POLICY);
    assert.equal(r.changes[0], { action: 'replace', kind: 'link', key: 'link:flannel.1', desired: linkOf(d), actual: r.changes[0].actual, detail }, detail);
    assert.equal(summary(r.changes.slice(1)), summary(d.entries.slice(1).map(addChange)), `all re-added: ${detail}`);
    assert.not.ok(r.changes.some((c) => c.action === 'delete'), 'no separate deletes on a replaced device');
    assert.is(r.inSync, 0);
  }
});

test('diff: a non-vxlan device with our name is replaced', () => {
  const d = vx();
  const a = actualFrom(d.entries);
  a.links.set('flannel.1', hostLink({ name: 'flannel.1', kind: 'bridge', addrs: [pfx('198.18.0.0/32')] }));
  const r = diff(d, a, POLICY);
  assert.equal(r.changes[0], { action: 'replace', kind: 'link', key: 'link:flannel.1', desired: linkOf(d), detail: 'not a vxlan device (bridge)' });
  assert.is(r.changes.filter((c) => c.action === 'add').length, d.entries.length - 1);
  a.links.set('flannel.1', hostLink({ name: 'flannel.1' }));
  assert.is(diff(d, a, POLICY).changes[0].detail, 'not a vxlan device (plain)');
});

test('diff: a peer that left the source: its neighbor, fdb entry and route are deleted', () => {
  const before = vx(N.slice(0, 4));
  const r = diff(vx(N.slice(0, 3)), actualFrom(before.entries), POLICY);
  assert.equal(summary(r.changes), [
    'delete fdb:flannel.1/0e:00:00:00:00:03/192.0.2.13',
    'delete neigh:flannel.1/198.18.3.0',
    'delete route:198.18.3.0/24',
  ]);
  for (const c of r.changes) assert.ok(c.actual && !c.desired);
});

test('diff: a peer with a new MAC: neighbor changed, fdb entry added and the old one deleted', () => {
  const before = vx();
  const after = vx([N[0], { ...N[1], vtepMAC: mac('0e:aa:00:00:00:01') }, N[2]]);
  const r = diff(after, actualFrom(before.entries), POLICY);
  assert.equal(summary(r.changes), [
    'add fdb:flannel.1/0e:aa:00:00:00:01/192.0.2.11',
    'change neigh:flannel.1/198.18.1.0 (lladdr 0e:00:00:00:00:01 -> 0e:aa:00:00:00:01)',
    'delete fdb:flannel.1/0e:00:00:00:00:01/192.0.2.11',
  ]);
});

test('diff: a peer with a new public IP: fdb entry replaced; host-gw: route changed', () => {
  const moved = { ...N[1], publicIP: ip('192.0.2.99') };
  assert.equal(summary(diff(vx([N[0], moved, N[2]]), actualFrom(vx().entries), POLICY).changes), [
    'add fdb:flannel.1/0e:00:00:00:00:01/192.0.2.99',
    'delete fdb:flannel.1/0e:00:00:00:00:01/192.0.2.11',
  ]);
  assert.equal(summary(diff(hg([N[0], moved, N[2]]), actualFrom(hg().entries), ownershipFor(undefined)).changes), [
    'change route:198.18.1.0/24 (via 192.0.2.11 dev eth0 -> via 192.0.2.99 dev eth0)',
  ]);
});

test('diff: an owned route with other forwarding is changed', () => {
  const d = vx();
  const a = actualFrom(d.entries.filter((e) => e.kind !== 'route' || e.dst.text !== '198.18.1.0/24'), {
    routes: [route('198.18.1.0/24', '192.0.2.11', 'eth0')],
  });
  assert.equal(summary(diff(d, a, POLICY).changes), [
    'change route:198.18.1.0/24 (via 192.0.2.11 dev eth0 -> via 198.18.1.0 dev flannel.1 onlink)',
  ]);
});

test('diff ownership: an identical foreign route is adopted, never touched', () => {
  const d = vx();
  // flannel's own route: same forwarding, protocol boot.
  const a = actualFrom(d.entries.filter((e) => !(e.kind === 'route' && e.dst.text === '198.18.1.0/24')), {
    routes: [route('198.18.1.0/24', '198.18.1.0', 'flannel.1', true, 3)],
  });
  const r = diff(d, a, POLICY);
  assert.equal(r.changes, []);
  assert.equal(r.adopted, ['route:198.18.1.0/24']);
  assert.is(r.inSync, d.entries.length);
});

test('diff ownership: a conflicting foreign route is reported and left as is', () => {
  const d = vx();
  const without = d.entries.filter((e) => !(e.kind === 'route' && e.dst.text === '198.18.1.0/24'));
  const rows: Array<[HostRoute, string]> = [
    [route('198.18.1.0/24', '192.0.2.1', 'eth0', false, 4), 'a route not owned by ovlnet (protocol 4 static, via 192.0.2.1 dev eth0) holds 198.18.1.0/24; left as is'],
    [route('198.18.1.0/24', '198.18.1.0', 'flannel.1', false, 3), 'a route not owned by ovlnet (protocol 3 boot, via 198.18.1.0 dev flannel.1) holds 198.18.1.0/24; left as is'],
    [{ dst: pfx('198.18.1.0/24'), onlink: false, proto: 3, type: 'blackhole' }, 'a route not owned by ovlnet (protocol 3 boot, blackhole) holds 198.18.1.0/24; left as is'],
    [{ dst: pfx('198.18.1.0/24'), dev: 'cni0', onlink: false, proto: 2 }, 'a route not owned by ovlnet (protocol 2 kernel, via - dev cni0) holds 198.18.1.0/24; left as is'],
    // a protocol without a name here (186 is bgp's) is printed as its number
    [route('198.18.1.0/24', '192.0.2.1', 'eth0', false, 186), 'a route not owned by ovlnet (protocol 186, via 192.0.2.1 dev eth0) holds 198.18.1.0/24; left as is'],
  ];
  for (const [foreign, message] of rows) {
    const r = diff(d, actualFrom(without, { routes: [foreign] }), POLICY);
    assert.equal(r.changes, [], message);
    assert.equal(r.conflicts.map(({ subject, message: m }) => ({ subject, message: m })), [{ subject: 'route:198.18.1.0/24', message }]);
    assert.equal(r.conflicts.map((p) => [p.code, p.field, p.value]), [['foreign-route', 'route', '198.18.1.0/24']]);
    assert.match(r.conflicts[0].conflictsWith![0], /^route 198\.18\.1\.0\/24 /);
    assert.match(r.conflicts[0].hint!, /ip route del 198\.18\.1\.0\/24/);
    assert.equal(r.adopted, []);
  }
});

test('diff ownership: foreign routes are never changed or deleted, even in the pod network', () => {
  const d = vx();
  const foreign: HostRoute[] = [
    route('198.18.9.0/24', '192.0.2.1', 'eth0', false, 4),
    route('198.18.10.0/24', '198.18.10.0', 'flannel.1', true, 3), // a stale flannel route
    route('0.0.0.0/0', '192.0.2.1', 'eth0', false, 3),
    { dst: pfx('198.18.0.0/24'), dev: 'cni0', onlink: false, proto: 2 },
    { dst: pfx('198.18.11.0/24'), onlink: false, proto: 3, type: 'blackhole' },
  ];
  const r = diff(d, actualFrom(d.entries, { routes: foreign }), POLICY);
  assert.equal(r.changes, []);
  assert.equal(r.conflicts, []);
});

test('diff ownership: owned routes not desired are deleted, wherever they point; odd shapes deleted whole', () => {
  const d = vx();
  const owned: HostRoute[] = [
    route('198.18.9.0/24', '192.0.2.19', 'eth0'), // a host-gw leftover
    route('198.18.0.0/24', '198.18.0.0', 'flannel.1', true), // our own subnet: never a route for it
    { dst: pfx('198.18.12.0/24'), onlink: false, proto: 244, type: 'blackhole' }, // `6` with `ip -N`, named by the parser
    { dst: pfx('198.18.13.0/24'), dev: 'eth0', onlink: false, proto: 244 }, // no gateway
  ];
  const r = diff(d, actualFrom(d.entries, { routes: owned }), POLICY);
  assert.equal(summary(r.changes), [
    'delete route:198.18.0.0/24',
    'delete route:198.18.12.0/24',
    'delete route:198.18.13.0/24',
    'delete route:198.18.9.0/24',
  ]);
  const bh = r.changes.find((c) => c.key === 'route:198.18.12.0/24')!;
  assert.equal(bh.actual, { kind: 'route', dst: pfx('198.18.12.0/24'), via: undefined, dev: undefined, onlink: false, proto: 244 } as unknown as Entry);
});

test('diff ownership: an owned blackhole on a desired destination is deleted, then the route added', () => {
  const d = vx();
  const without = d.entries.filter((e) => !(e.kind === 'route' && e.dst.text === '198.18.1.0/24'));
  const r = diff(d, actualFrom(without, { routes: [{ dst: pfx('198.18.1.0/24'), onlink: false, proto: 244, type: 'blackhole' }] }), POLICY);
  assert.equal(orderChanges(r.changes).map((c) => `${c.action} ${c.key}`), ['delete route:198.18.1.0/24', 'add route:198.18.1.0/24']);
});

test("diff ownership: neighbors, fdb entries and addresses on other devices are not ovlnet's", () => {
  const d = vx();
  const a = actualFrom(d.entries, {
    neighbors: [neigh('eth0', '192.0.2.1', '02:00:00:00:00:01'), neigh('flannel.2', '198.18.1.0', '0e:00:00:00:00:01')],
    fdb: [fdb('vxlan0', '0e:00:00:00:00:09', '192.0.2.19')],
    links: new Map([['cni0', hostLink({ name: 'cni0', kind: 'bridge', addrs: [pfx('198.18.0.1/24')] })]]),
  });
  assert.equal(diff(d, a, POLICY).changes, []);
  // ...but stale ones on ovlnet's device are.
  a.neighbors.push(neigh('flannel.1', '198.18.9.0', '0e:00:00:00:00:09'));
  a.fdb.push(fdb('flannel.1', '0e:00:00:00:00:09', '192.0.2.19'));
  a.links.get('flannel.1')!.addrs.push(pfx('198.18.5.0/32'));
  assert.equal(summary(diff(d, a, POLICY).changes), [
    'delete addr:flannel.1/198.18.5.0/32',
    'delete fdb:flannel.1/0e:00:00:00:00:09/192.0.2.19',
    'delete neigh:flannel.1/198.18.9.0',
  ]);
});

test('diff host-gw: no device is owned; a vxlan leftover keeps its neighbors, only owned routes go', () => {
  const old = vx();
  const r = diff(hg(), actualFrom(old.entries), ownershipFor(undefined));
  assert.equal(summary(r.changes), [
    'change route:198.18.1.0/24 (via 198.18.1.0 dev flannel.1 onlink -> via 192.0.2.11 dev eth0)',
    'change route:198.18.2.0/24 (via 198.18.2.0 dev flannel.1 onlink -> via 192.0.2.12 dev eth0)',
  ]);
});

// ---- ownership --------------------------------------------------------------

test('ownership policy', () => {
  const p = ownershipFor('flannel.1');
  assert.ok(p.ownsRoute(route('10.0.0.0/24', '10.0.0.1', 'eth0', false, 244)));
  for (const proto of [0, 2, 3, 4, 16, 186, 243, 245]) assert.not.ok(p.ownsRoute(route('10.0.0.0/24', '10.0.0.1', 'eth0', false, proto)), String(proto));
  assert.ok(p.ownsDevice('flannel.1'));
  for (const d of ['flannel.2', 'eth0', 'flannel.10', 'flannel', '']) assert.not.ok(p.ownsDevice(d), d);
  const none = ownershipFor(undefined);
  assert.not.ok(none.ownsDevice('flannel.1'));
  assert.not.ok(none.ownsDevice(''));
  assert.ok(ownershipFor('x', 99).ownsRoute(route('10.0.0.0/24', '10.0.0.1', 'eth0', false, 99)));
});

// ---- order --------------------------------------------------------------------

test('order: deletions first (routes before what they use), then link, addr, neigh, fdb, route', () => {
  const d = vx();
  // The per-device setting has a test of its own (reconcile-sysctl): the ip/bridge entries here.
  const adds = d.entries.filter((e) => e.kind !== 'sysctl').map(addChange);
  const all = vx(N.slice(0, 4)).entries;
  const pick = (kind: EntryKind, i: number) => delChange(all.filter((e) => e.kind === kind)[i]);
  // peers 1 and 3: neighbors, fdb entries, routes
  const dels = [pick('neigh', 0), pick('neigh', 2), pick('fdb', 0), pick('fdb', 2), pick('route', 0), pick('route', 2)];
  const shuffled = [adds[6], dels[0], adds[0], dels[5], adds[3], dels[2], adds[1], adds[7], dels[4], adds[2], adds[5], dels[1], adds[4], dels[3]];
  const ordered = orderChanges(shuffled);
  const seq = ordered.map((c) => `${c.action === 'delete' ? '-' : '+'}${c.kind}`);
  assert.equal(seq, ['-route', '-route', '-fdb', '-fdb', '-neigh', '-neigh', '+link', '+addr', '+neigh', '+neigh', '+fdb', '+fdb', '+route', '+route']);
  // Within a phase the planner's order is kept (stable).
  assert.equal(ordered.filter((c) => c.action === 'add' && c.kind === 'route').map((c) => c.key), ['route:198.18.1.0/24', 'route:198.18.2.0/24']);
  assert.equal(ordered.filter((c) => c.action === 'delete' && c.kind === 'route').map((c) => c.key), ['route:198.18.3.0/24', 'route:198.18.1.0/24']); // input order
});

test('order: phases per action and kind; a replaced device goes with the additions, after every deletion', () => {
  const kinds: EntryKind[] = ['link', 'addr', 'neigh', 'fdb', 'route'];
  const phase = (action: Change['action'], kind: EntryKind) => phaseOf({ action, kind });
  const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] < x);
  const deleted = kinds.filter((k) => k !== 'addr');
  // Deletions run routes first and the device last; additions the other way round.
  assert.ok(increasing(deleted.map((k) => phase('delete', k)).reverse()), 'delete order route, fdb, neigh, link');
  assert.ok(increasing(kinds.map((k) => phase('add', k))), 'add order link, addr, neigh, fdb, route');
  assert.equal(kinds.map((k) => phase('change', k)), kinds.map((k) => phase('add', k)));
  assert.ok(Math.max(...deleted.map((k) => phase('delete', k))) < Math.min(...kinds.map((k) => phase('add', k))), 'every deletion but an address\'s before every addition');
  // A stale address goes once the new one is in place (the last IPv4 address's removal flushes the device's routes),
  // and before the neighbours and routes are written.
  assert.ok(phase('add', 'addr') < phase('delete', 'addr') && phase('delete', 'addr') < phase('add', 'neigh'));
  assert.is(phase('replace', 'link'), phase('add', 'link'));
  // Masquerade rules go before any route is removed and after every route is added.
  assert.ok(phase('delete', 'nat') < phase('delete', 'route') && phase('add', 'nat') > phase('add', 'route'));
  const del = { action: 'delete', kind: 'link', key: 'link:flannel.2' } as Change;
  const rep = { action: 'replace', kind: 'link', key: 'link:flannel.1' } as Change;
  const chg = { action: 'change', kind: 'route', key: 'route:x' } as Change;
  assert.equal(orderChanges([chg, rep, del]), [del, rep, chg]);
  assert.equal(orderChanges([]), []);
});

// ---- guard ------------------------------------------------------------------------

const routeDeletes = (n: number): Change[] => Array.from({ length: n }, (_, i) => ({ action: 'delete', kind: 'route', key: `route:${i}` }) as Change);

test('guard default: refuse removing more than half of the current peers, when that is at least 2', () => {
  for (let current = 0; current <= 40; current++) {
    for (let removing = 0; removing <= current; removing++) {
      const v = checkMassDeletion(routeDeletes(removing), current, { kind: 'default' });
      const want = removing * 2 > current && removing >= 2;
      assert.is(v.refused, want, `${removing} of ${current}`);
      assert.is(v.removing, removing);
      assert.is(v.current, current);
    }
  }
  assert.equal(checkMassDeletion(routeDeletes(3), 4, { kind: 'default' }), { removing: 3, current: 4, allowed: 2, refused: true });
  assert.equal(checkMassDeletion(routeDeletes(1), 1, { kind: 'default' }), { removing: 1, current: 1, allowed: 1, refused: false });
});

test('guard: only route deletions count as removed peers', () => {
  const others = [
    { action: 'delete', kind: 'neigh', key: 'n' }, { action: 'delete', kind: 'fdb', key: 'f' }, { action: 'delete', kind: 'link', key: 'l' },
    { action: 'change', kind: 'route', key: 'r' }, { action: 'add', kind: 'route', key: 'r2' }, { action: 'replace', kind: 'link', key: 'l' },
  ] as Change[];
  assert.is(checkMassDeletion(others, 4, { kind: 'default' }).removing, 0);
  assert.is(checkMassDeletion([...others, ...routeDeletes(2)], 4, { kind: 'default' }).removing, 2);
});

test('guard: --max-delete counts and percentages', () => {
  const rows: Array<[string, number, number, number, boolean]> = [
    // flag, removing, current, allowed, refused
    ['0', 1, 10, 0, true],
    ['0', 0, 10, 0, false],
    ['3', 3, 10, 3, false],
    ['3', 4, 10, 3, true],
    ['100', 50, 50, 100, false],
    ['30%', 3, 10, 3, false],
    ['30%', 4, 10, 3, true],
    ['30%', 1, 3, 0, true],
    ['50%', 5, 10, 5, false],
    ['100%', 10, 10, 10, false],
    ['250%', 10, 10, 10, false],
    ['0%', 1, 100, 0, true],
    [' 5 ', 5, 10, 5, false],
  ];
  for (const [flag, removing, current, allowed, refused] of rows) {
    assert.equal(checkMassDeletion(routeDeletes(removing), current, parseMaxDelete(flag)), { removing, current, allowed, refused }, flag);
  }
});

test('guard: parseMaxDelete', () => {
  assert.equal(parseMaxDelete(undefined), { kind: 'default' });
  assert.equal(parseMaxDelete('10'), { kind: 'count', n: 10 });
  assert.equal(parseMaxDelete('30%'), { kind: 'percent', p: 30 });
  assert.equal(parseMaxDelete('150%'), { kind: 'percent', p: 100 });
  for (const bad of ['', '-1', '1.5', '10 %', '%', 'half', '1e3', '0x10', '1234567890', '10%%']) {
    throwsLike(() => parseMaxDelete(bad), UsageError, /^--max-delete .*: expected a number of peers \(e\.g\. 10\) or a percentage \(e\.g\. 30%\)$/);
  }
});

// ---- programmed -----------------------------------------------------------------

test('programmedCheck vxlan: route via .0 on the device, matching neighbor and fdb entry', () => {
  const d = vx();
  const cfg = config(VXLAN);
  const yes = programmedCheck(actualFrom(d.entries), cfg, POLICY);
  assert.ok(yes(N[1]));
  assert.ok(yes(N[2]));
  assert.not.ok(yes(N[3]), 'not on the host');
  assert.not.ok(yes({ ...N[1], vtepMAC: mac('0e:aa:00:00:00:01') }), 'another MAC');
  assert.not.ok(yes({ ...N[1], publicIP: ip('192.0.2.99') }), 'another public IP');
  const drop = (pred: (e: Entry) => boolean) => programmedCheck(actualFrom(d.entries.filter((e) => !pred(e))), cfg, POLICY)(N[1]);
  assert.not.ok(drop((e) => e.kind === 'fdb' && e.dst.text === '192.0.2.11'), 'no fdb');
  assert.not.ok(drop((e) => e.kind === 'neigh' && e.ip.text === '198.18.1.0'), 'no neighbor');
  assert.not.ok(drop((e) => e.kind === 'route' && e.dst.text === '198.18.1.0/24'), 'no route');
  // A foreign route (not ours) does not count as programmed by ovlnet.
  const foreign = actualFrom(d.entries.filter((e) => e.kind !== 'route'), { routes: [route('198.18.1.0/24', '198.18.1.0', 'flannel.1', true, 3)] });
  assert.not.ok(programmedCheck(foreign, cfg, POLICY)(N[1]));
  // DirectRouting: a route via the public IP counts.
  assert.ok(programmedCheck(actualFrom([], { routes: [route('198.18.1.0/24', '192.0.2.11', 'eth0')] }), cfg, POLICY)(N[1]));
});

test('programmedCheck host-gw: route via the public IP', () => {
  const cfg = config(HOSTGW);
  const a = actualFrom(hg().entries);
  const p = programmedCheck(a, cfg, ownershipFor(undefined));
  assert.ok(p(N[1]));
  assert.not.ok(p({ ...N[1], publicIP: ip('192.0.2.99') }));
  assert.not.ok(p(N[3]));
  assert.not.ok(programmedCheck(actualFrom(vx().entries), cfg, ownershipFor(undefined))(N[1]), 'a vxlan route is not a host-gw one');
});

test('entry keys used by diff are the model keys', () => {
  for (const e of vx().entries) assert.is(addChange(e).key, entryKey(e));
});

test.run();
