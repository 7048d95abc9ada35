// The incremental plan's view of the kernel model (engine/kernel-index.ts):
// its lookups by key answer what the full diff's collectOwned holds under
// that key, through the model's own indexes (no second map of the entries);
// its doubts send the plan to a full replan; its route count follows writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KernelIndex } from '../../../src/engine/kernel-index.js';
import { policyFor } from '../../../src/engine/devices.js';
import { entryKey, KIND_LIST } from '../../../src/kinds/index.js';
import type { DiffContext } from '../../../src/kinds/types.js';
import { FLANNEL_ROUTE_PROTO, OVLNET_ROUTE_PROTO } from '../../../src/model/keys.js';
import type { ActualState, Change, Entry, FdbEntry, HostRoute, NeighEntry, RouteEntry } from '../../../src/model/types.js';
import { config, emptyActual, ip, mac, pfx } from '../support/build.js';

const CONFIG = config();
const DEV = 'flannel.1';

const ours = (dst: string, via: string): HostRoute => ({ dst: pfx(dst), via: ip(via), dev: DEV, onlink: true, proto: OVLNET_ROUTE_PROTO });
const neigh = (addr: string, m: string, dev = DEV): NeighEntry => ({ kind: 'neigh', dev, ip: ip(addr), mac: mac(m) });
const fdb = (m: string, dst: string, dev = DEV): FdbEntry => ({ kind: 'fdb', dev, mac: mac(m), dst: ip(dst) });

/** A host with two peers of ovlnet's, a foreign route, and a neighbour and fdb entry on another device. */
function host(): ActualState {
  const a = emptyActual();
  a.routes.push(
    { dst: pfx('192.0.2.0/24'), dev: 'eth0', onlink: false, proto: 2 },
    ours('198.18.1.0/24', '198.18.1.0'),
    ours('198.18.2.0/24', '198.18.2.0'),
    { dst: pfx('203.0.113.0/24'), via: ip('192.0.2.1'), dev: 'eth0', onlink: false, proto: 4 },
  );
  a.neighbors.push(neigh('198.18.1.0', '0e:00:00:00:00:01'), neigh('198.18.2.0', '0e:00:00:00:00:02'), neigh('192.0.2.1', '0e:00:00:00:00:09', 'eth0'));
  a.fdb.push(fdb('0e:00:00:00:00:01', '192.0.2.11'), fdb('0e:00:00:00:00:02', '192.0.2.12'), fdb('0e:00:00:00:00:09', '192.0.2.1', 'eth0'));
  return a;
}

/** What the full diff holds as ovlnet's, by key (the kinds' own collectOwned). */
function collected(actual: ActualState): Map<string, Entry> {
  const owned = new Map<string, Entry>();
  const ctx = { actual, policy: policyFor(CONFIG), owned, changes: [] as Change[], foreignRoutes: new Map(), inherited: new Map(), nodeIPs: new Set<string>() } as unknown as DiffContext;
  for (const spec of KIND_LIST) if (spec.kind === 'route' || spec.kind === 'neigh' || spec.kind === 'fdb') spec.collectOwned?.(ctx, () => false);
  return owned;
}

const asDesired = (r: HostRoute): RouteEntry => ({ kind: 'route', dst: r.dst, via: r.via, dev: r.dev!, onlink: r.onlink, proto: r.proto });

test('lookups: every planned-looking entry gets what the full diff holds under its key, or nothing', () => {
  const a = host();
  const ix = KernelIndex.build(a, CONFIG);
  const want = collected(a);
  const asked: Entry[] = [
    ...a.routes.map(asDesired), ...a.neighbors, ...a.fdb,
    asDesired(ours('198.18.7.0/24', '198.18.7.0')), // not on the host
    neigh('198.18.1.0', '0e:00:00:00:00:07'), // on the host with another MAC: the host's one
    fdb('0e:00:00:00:00:01', '192.0.2.99'), // the MAC there, to another destination
    { kind: 'link', name: DEV, mtu: 1450 } as unknown as Entry, // not a kind looked up here
  ];
  for (const e of asked) assert.equal(ix.owned(e), want.get(entryKey(e)), entryKey(e));
  assert.is(ix.ownedRoutes, 2);
  assert.equal([...ix.foreignDsts.keys()], ['192.0.2.0/24', '203.0.113.0/24']);
  assert.is(ix.doubt, undefined);
});

const doubts: Array<[what: string, edit: (a: ActualState) => void, doubt: string | undefined]> = [
  ['nothing odd', () => undefined, undefined],
  ['a route flanneld left in the pod network', (a) => a.routes.push({ dst: pfx('198.18.5.0/24'), via: ip('192.0.2.15'), dev: 'eth0', onlink: false, proto: FLANNEL_ROUTE_PROTO }), 'a route flanneld left: 198.18.5.0/24'],
  ['a flannel route outside the pod network', (a) => a.routes.push({ dst: pfx('203.0.113.128/25'), via: ip('192.0.2.1'), dev: 'eth0', onlink: false, proto: FLANNEL_ROUTE_PROTO }), undefined],
  ['a blackhole route of ovlnet\'s', (a) => a.routes.push({ dst: pfx('198.18.6.0/24'), onlink: false, proto: OVLNET_ROUTE_PROTO, type: 'blackhole' }), "a route of ovlnet's in a shape it never writes: route:198.18.6.0/24"],
  ['two routes of ovlnet\'s to one destination', (a) => a.routes.push({ ...ours('198.18.1.0/24', '198.18.1.9') }), "two entries of ovlnet's with one key"],
  ['a foreign route beside ovlnet\'s to one destination', (a) => a.routes.push({ ...ours('198.18.1.0/24', '198.18.1.9'), proto: 4 }), undefined],
  ['two neighbours of one address on ovlnet\'s device', (a) => a.neighbors.push(neigh('198.18.1.0', '0e:00:00:00:00:05')), "two entries of ovlnet's with one key"],
  ['two neighbours of one address on another device', (a) => a.neighbors.push(neigh('192.0.2.1', '0e:00:00:00:00:05', 'eth0')), undefined],
  ['one fdb entry twice', (a) => a.fdb.push(fdb('0e:00:00:00:00:01', '192.0.2.11')), "two entries of ovlnet's with one key"],
  ['one MAC to two destinations', (a) => a.fdb.push(fdb('0e:00:00:00:00:01', '192.0.2.21')), undefined],
];
for (const [what, edit, doubt] of doubts) {
  test(`doubt: ${what}`, () => {
    const a = host();
    edit(a);
    assert.is(KernelIndex.build(a, CONFIG).doubt, doubt);
  });
}

test('follow: the route count moves with the writes, lookups read the model followed', () => {
  const a = host();
  const ix = KernelIndex.build(a, CONFIG);
  const added = asDesired(ours('198.18.3.0/24', '198.18.3.0'));
  const gone = asDesired(a.routes[1]);
  const changed = asDesired(ours('198.18.2.0/24', '198.18.2.9'));
  const applied: Change[] = [
    { action: 'add', kind: 'route', key: entryKey(added), desired: added },
    { action: 'delete', kind: 'route', key: entryKey(gone), actual: gone },
    { action: 'change', kind: 'route', key: entryKey(changed), desired: changed, actual: asDesired(a.routes[2]), detail: 'x' },
    { action: 'add', kind: 'neigh', key: 'neigh:flannel.1/198.18.3.0', desired: neigh('198.18.3.0', '0e:00:00:00:00:03') },
  ];
  const next: ActualState = { ...a, routes: [a.routes[0], { ...changed }, a.routes[3], { ...added }] };
  ix.follow(applied, next);
  assert.is(ix.of, next);
  assert.is(ix.ownedRoutes, 2, 'one added, one deleted, one changed in place');
  const table: Array<[RouteEntry, RouteEntry | undefined]> = [[added, added], [gone, undefined], [changed, changed]];
  for (const [e, want] of table) assert.equal(ix.owned(e), want, entryKey(e));
});

test.run();
