// Kernel events applied to the daemon's model: each row starts from a model
// equal to a converged vxlan plan, feeds events as the monitors report them,
// and checks the repairs named, whether the model is still known, and that a
// diff of the same plan against the model writes back exactly what was lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { applyKernelEvents, BULK_DELETIONS, ownedFrom, type WatchEvent } from '../../../src/daemon/kernel-events.js';
import type { KernelEvent } from '../../../src/host/parse-monitor.js';
import { parseBridgeFdbLine, parseIpMonitorLine } from '../../../src/host/parse-monitor.js';
import type { DesiredState, Entry, HostLink, Node } from '../../../src/model/types.js';
import { KIND_LIST } from '../../../src/kinds/index.js';
import { parseIP } from '../../../src/model/ip.js';
import { parseMAC } from '../../../src/model/mac.js';
import { diff } from '../../../src/reconcile/diff.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { actualFrom, cluster, hostLink, ip, mac, node, pfx, underlay } from '../support/build.js';

const N: Node[] = Array.from({ length: 4 }, (_, i) => node(i));
const desired: DesiredState = plan({ cluster: cluster(N, N[0]), underlay: underlay() });
const owned = ownedFrom(desired);
const peer = desired.entries.filter((e) => e.kind === 'route')[0];
const neighOf = desired.entries.filter((e) => e.kind === 'neigh')[0];
const fdbOf = desired.entries.filter((e) => e.kind === 'fdb')[0];
if (peer.kind !== 'route' || neighOf.kind !== 'neigh' || fdbOf.kind !== 'fdb') throw new Error('test setup');

// Lines as the monitors print them (the shapes of test/fixtures/host/monitor/).
const routeLine = `${peer.dst.text} via ${peer.via!.text} dev ${peer.dev} proto ${peer.proto}${peer.onlink ? ' onlink' : ''} `;
const neighLine = `${neighOf.ip.text} dev ${neighOf.dev} lladdr ${neighOf.mac.text} PERMANENT `;
const fdbLine = `${fdbOf.mac.text} dev ${fdbOf.dev} dst ${fdbOf.dst.text} self permanent`;
const ipEv = (l: string): KernelEvent => parseIpMonitorLine(l)!;
const brEv = (l: string): KernelEvent => parseBridgeFdbLine(l)!;

/** A read of the host's devices (as kernel-watch.ts gives it) with flannel.1 as modelled, changed by `over`, or absent (null). */
const devicesRead = (over: Partial<HostLink> | null): WatchEvent => {
  const links = new Map(actualFrom(desired.entries).links);
  if (over === null) links.delete('flannel.1');
  else links.set('flannel.1', { ...links.get('flannel.1')!, ...over });
  return { kind: 'devices', links, names: ['flannel.1'] };
};
const DOWN = ipEv('[LINK]10: flannel.1: <BROADCAST,MULTICAST> mtu 1450 qdisc noqueue state DOWN group 0 ');
const UP = ipEv('[LINK]10: flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group 0 ');
const DELETED = ipEv('[LINK]Deleted 10: flannel.1: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN group 0 ');
/** Every peer's fdb entry, neighbour and route on flannel.1 deleted, as the kernel flushes them when the device goes. */
const FLUSH: KernelEvent[] = desired.entries.flatMap((e): KernelEvent[] => {
  if (e.kind === 'fdb') return [brEv(`Deleted ${e.mac.text} dev ${e.dev} dst ${e.dst.text} self permanent`)];
  if (e.kind === 'neigh') return [ipEv(`[NEIGH]Deleted ${e.ip.text} dev ${e.dev} lladdr ${e.mac.text} PERMANENT `)];
  if (e.kind === 'route') return [ipEv(`[ROUTE]Deleted ${e.dst.text} via ${e.via!.text} dev ${e.dev} proto ${e.proto}${e.onlink ? ' onlink' : ''} `)];
  return [];
});
const FLUSH_REPAIRS = applyKernelEvents(actualFrom(desired.entries), FLUSH, owned).repairs.map((x) => `${x.what} ${x.object}`);
if (FLUSH.length < BULK_DELETIONS) throw new Error('test setup: the flush is too small to be one');

/** Every entry of the plan, added (devices first, as the diff orders them). */
const WHOLE_PLAN = diff(desired, { ...actualFrom([]), links: new Map() }, ownershipFor('flannel.1')).changes.map((c) => `${c.action} ${c.key}`);

const ROWS: Array<{ name: string; events: WatchEvent[]; repairs: string[]; known: boolean; rewrites: string[]; check?: string[] }> = [
  { name: 'own writes echoed: nothing', events: [ipEv(`[ROUTE]${routeLine}`), ipEv(`[NEIGH]${neighLine}`), brEv(fdbLine)], repairs: [], known: true, rewrites: [] },
  {
    name: 'a route deleted by hand', events: [ipEv(`[ROUTE]Deleted ${routeLine}`)],
    repairs: [`deleted route:${peer.dst.text}`], known: true, rewrites: [`add route:${peer.dst.text}`],
  },
  {
    name: 'a neighbour deleted (FAILED first, then Deleted)',
    events: [ipEv(`[NEIGH]${neighOf.ip.text} dev ${neighOf.dev} FAILED `), ipEv(`[NEIGH]Deleted ${neighOf.ip.text} dev ${neighOf.dev} FAILED `)],
    repairs: [`deleted neigh:${neighOf.dev}/${neighOf.ip.text}`], known: true, rewrites: [`add neigh:${neighOf.dev}/${neighOf.ip.text}`],
  },
  {
    name: 'an fdb entry deleted (and its bridge-family echo in ip monitor)',
    events: [ipEv(`[NEIGH]Deleted ${fdbOf.dst.text} dev ${fdbOf.dev} lladdr ${fdbOf.mac.text} NOARP PERMANENT `), brEv(`Deleted ${fdbLine}`)],
    repairs: [`deleted fdb:${fdbOf.dev}/${fdbOf.mac.text}/${fdbOf.dst.text}`], known: true,
    rewrites: [`add fdb:${fdbOf.dev}/${fdbOf.mac.text}/${fdbOf.dst.text}`],
  },
  {
    name: 'the same route deleted twice in one batch: one repair',
    events: [ipEv(`[ROUTE]Deleted ${routeLine}`), ipEv(`[ROUTE]${routeLine}`), ipEv(`[ROUTE]Deleted ${routeLine}`)],
    repairs: [`deleted route:${peer.dst.text}`], known: true, rewrites: [`add route:${peer.dst.text}`],
  },
  {
    // Both queued during a cycle that read the host after them: the read has the route, the replay must end with it too.
    name: 'a deletion, then ovlnet\'s own re-addition echoed (as planned): the model keeps the route, without a host read',
    events: [ipEv(`[ROUTE]Deleted ${routeLine}`), ipEv(`[ROUTE]${routeLine}`), ipEv(`[NEIGH]Deleted ${neighLine}`), ipEv(`[NEIGH]${neighLine}`)],
    repairs: [`deleted route:${peer.dst.text}`, `deleted neigh:${neighOf.dev}/${neighOf.ip.text}`], known: true, rewrites: [],
  },
  {
    name: 'a route replaced by another writer', events: [ipEv(`[ROUTE]${peer.dst.text} via 192.0.2.99 dev eth0 proto 3 `)],
    repairs: [`changed route:${peer.dst.text}`], known: false, rewrites: [],
  },
  {
    name: 'a neighbour given another MAC', events: [ipEv(`[NEIGH]${neighOf.ip.text} dev ${neighOf.dev} lladdr 02:99:99:99:99:99 PERMANENT `)],
    repairs: [`changed neigh:${neighOf.dev}/${neighOf.ip.text}`], known: false, rewrites: [],
  },
  {
    name: 'fdb replace of our MAC to another destination',
    events: [brEv(`${fdbOf.mac.text} dev ${fdbOf.dev} dst 192.0.2.99 self permanent`)],
    repairs: [`changed fdb:${fdbOf.dev}/${fdbOf.mac.text}/${fdbOf.dst.text}`], known: false, rewrites: [],
  },
  {
    name: 'the device deleted: one repair, everything on it leaves the model, and the diff writes the whole plan again',
    events: [ipEv('[LINK]Deleted 10: flannel.1: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN group 0 ')],
    repairs: ['deleted link:flannel.1'], known: true, rewrites: WHOLE_PLAN,
  },
  {
    name: 'the device deleted after its fdb entries and neighbours went (as the kernel reports a flush): the same',
    events: [brEv(`Deleted ${fdbLine}`), ipEv(`[NEIGH]Deleted ${neighOf.ip.text} dev ${neighOf.dev} lladdr ${neighOf.mac.text} PERMANENT `),
      ipEv('[LINK]Deleted 10: flannel.1: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN group 0 '), ipEv(`[ROUTE]Deleted ${routeLine}`)],
    repairs: [`deleted fdb:${fdbOf.dev}/${fdbOf.mac.text}/${fdbOf.dst.text}`, `deleted neigh:${neighOf.dev}/${neighOf.ip.text}`, 'deleted link:flannel.1'],
    known: true, rewrites: WHOLE_PLAN,
  },
  {
    name: 'a replaced device: the old one deleted (another index) is ovlnet\'s own write', events: [ipEv('[LINK]Deleted 9: flannel.1: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN group 0 ')],
    repairs: [], known: true, rewrites: [],
  },
  {
    // Its IPv4 routes went without an event, and a deletion begins the same way: a read of the devices tells which.
    name: 'the device set down: a read of the devices asked for; the model holds it down until then',
    events: [DOWN], check: ['flannel.1'], repairs: [], known: true, rewrites: ['change link:flannel.1'],
  },
  {
    // When the down was an echo of ovlnet's own write, the host read finds nothing to do.
    name: 'the device set down, then the read (there, down): a repair of it that reads the host (its IPv4 routes went without an event)',
    events: [DOWN, devicesRead({ up: false })], repairs: ['changed link:flannel.1'], known: false, rewrites: [],
  },
  {
    name: 'the device set down and up again, then the read (up): the same (the kernel dropped its IPv4 routes meanwhile)',
    events: [DOWN, UP, devicesRead({})], repairs: ['changed link:flannel.1'], known: false, rewrites: [],
  },
  {
    // `ip link del`: the kernel reports the device down, flushes it, then deletes it, in one burst.
    name: 'the device set down, flushed and deleted in one batch (how the kernel reports a deletion): modelled as deleted, no host read',
    events: [DOWN, ...FLUSH, DELETED], repairs: [...FLUSH_REPAIRS, 'deleted link:flannel.1'], known: true, rewrites: WHOLE_PLAN,
  },
  {
    name: 'a flush of the device\'s entries without its deletion (lost in the burst): a read of the devices asked for',
    events: FLUSH, check: ['flannel.1'], repairs: FLUSH_REPAIRS, known: true,
    rewrites: WHOLE_PLAN.filter((c) => /^add (neigh|fdb|route):/.test(c)),
  },
  {
    name: 'the flush, then the read: the device is gone: modelled as deleted, no host read',
    events: [...FLUSH, devicesRead(null)], repairs: [...FLUSH_REPAIRS, 'deleted link:flannel.1'], known: true, rewrites: WHOLE_PLAN,
  },
  {
    name: 'a single deletion is no flush: no read',
    events: [ipEv(`[ROUTE]Deleted ${routeLine}`)], check: [], repairs: [`deleted route:${peer.dst.text}`], known: true, rewrites: [`add route:${peer.dst.text}`],
  },
  {
    // `ip link set flannel.1 mtu 1400`: the event's text does not say what changed.
    name: 'the device\'s MTU changed by hand: a read asked for; it says so: the model takes the read device, a repair sets it back',
    events: [UP, devicesRead({ mtu: 1400 })], check: ['flannel.1'], repairs: ['changed link:flannel.1'], known: true, rewrites: ['change link:flannel.1'],
  },
  {
    // The kernel flushes the neighbours of a device whose MAC changes (their events come on their own): the repair writes them after the MAC.
    name: 'the device\'s MAC changed by hand: the same',
    events: [UP, devicesRead({ mac: parseMAC('02:11:22:33:44:55')! })], repairs: ['changed link:flannel.1'], known: true,
    rewrites: ['change link:flannel.1', ...WHOLE_PLAN.filter((c) => /^add neigh:/.test(c)).map((c) => c.replace(/^add/, 'change'))],
  },
  {
    name: 'the vxlan device\'s local address changed by hand (`ip link set type vxlan local`): the same; only re-creating it sets it back',
    events: [UP, devicesRead({ vxlan: { ...actualFrom(desired.entries).links.get('flannel.1')!.vxlan!, local: parseIP('192.0.2.99')! } })],
    repairs: ['changed link:flannel.1'], known: true, rewrites: WHOLE_PLAN.map((c) => c.replace(/^add link:/, 'replace link:')),
  },
  {
    name: 'the read finds the device as modelled (an event that changed nothing ovlnet plans): nothing',
    events: [UP, devicesRead({})], repairs: [], known: true, rewrites: [],
  },
  {
    name: 'the read finds another device of that name (replaced): a repair that reads the host',
    events: [devicesRead({ index: 77 })], repairs: ['changed link:flannel.1'], known: false, rewrites: [],
  },
  {
    name: 'the read finds an address gone (the last IPv4 one takes the device\'s IPv4 routes along): a repair that reads the host',
    events: [devicesRead({ addrs: [] })], repairs: ['changed link:flannel.1'], known: false, rewrites: [],
  },
  {
    name: 'another device of that name down (an old index: ovlnet replaced it): a read, nothing yet',
    events: [ipEv('[LINK]9: flannel.1: <BROADCAST,MULTICAST> mtu 1450 qdisc noqueue state DOWN group 0 ')],
    check: ['flannel.1'], repairs: [], known: true, rewrites: [],
  },
  {
    name: 'the device up as modelled (carrier change): a read, nothing yet', events: [UP], check: ['flannel.1'],
    repairs: [], known: true, rewrites: [],
  },
  {
    name: 'foreign objects elsewhere: nothing',
    events: [ipEv('[LINK]Deleted 3: veth1@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN group 0 '), ipEv('[ROUTE]Deleted 203.0.113.0/24 dev eth0 proto 2 '),
      ipEv('[NEIGH]198.51.100.7 dev eth0 lladdr 02:00:00:00:00:07 REACHABLE '), brEv('02:00:00:00:00:08 dev vx9 dst 192.0.2.8 self permanent')],
    repairs: [], known: true, rewrites: [],
  },
  {
    name: 'foreign routes and neighbours added elsewhere join the model', events: [ipEv('[ROUTE]203.0.113.0/24 dev eth0 proto 4 '), ipEv('[ROUTE]fe80::/64 dev flannel.1 proto 2 metric 256 pref medium'),
      ipEv('[NEIGH]198.51.100.7 dev eth0 lladdr 02:00:00:00:00:07 PERMANENT ')],
    repairs: [], known: true, rewrites: [],
  },
  {
    name: 'a route of ovlnet\'s protocol not in the plan appears: the model is unknown, no repair', events: [ipEv('[ROUTE]198.18.99.0/24 via 198.18.99.0 dev flannel.1 proto 244 onlink ')],
    repairs: [], known: false, rewrites: [],
  },
  {
    name: 'a neighbour not in the plan on ovlnet\'s device: the model is unknown', events: [ipEv('[NEIGH]198.18.99.0 dev flannel.1 lladdr 02:00:00:00:00:99 PERMANENT ')],
    repairs: [], known: false, rewrites: [],
  },
];

for (const row of ROWS) {
  test(row.name, () => {
    const model = actualFrom(desired.entries);
    const snap = (a: typeof model) => [...[...a.links.values()].map((l) => JSON.stringify(l, (_k, v) => (typeof v === 'bigint' ? String(v) : v))), ...a.routes.map((x) => `${x.dst.text} ${x.via?.text}`), ...a.neighbors.map((x) => `${x.ip.text} ${x.mac.text}`), ...a.fdb.map((x) => `${x.mac.text} ${x.dst.text}`)].join(',');
    const before = snap(model);
    const r = applyKernelEvents(model, row.events, owned);
    assert.equal(r.repairs.map((x) => `${x.what} ${x.object}`), row.repairs);
    assert.is(r.model !== undefined, row.known, r.unknown);
    if (row.check) assert.equal(r.check, row.check, 'devices to read');
    assert.is(snap(model), before, 'the input model is not modified');
    if (r.model) {
      // Echoes change nothing and keep the very model (the incremental plan's kernel index stays valid); a change copies it.
      assert.is(r.model === model, snap(r.model) === before, 'the model is kept exactly when the events leave it as it was');
      const changes = diff(desired, r.model, ownershipFor('flannel.1')).changes;
      assert.equal(changes.map((c) => `${c.action} ${c.key}`), row.rewrites);
    }
  });
}

// The model's lists keep key indexes handed on from model to model
// (model/keyed-list.ts): a batch on a model indexed by an earlier batch, one
// on a model whose indexes a later model took, and a chain of two batches
// must answer as a batch on a fresh model does.
for (const row of ROWS) {
  test(`${row.name}: the same on an indexed model, on a model used before, and chained`, () => {
    const view = (a: ReturnType<typeof actualFrom> | undefined) => a && [...a.routes.map((x) => `${x.dst.text} ${x.via?.text} ${x.proto}`), ...a.neighbors.map((x) => `${x.dev} ${x.ip.text} ${x.mac.text}`), ...a.fdb.map((x) => `${x.dev} ${x.mac.text} ${x.dst.text}`)].join(',');
    const expected = applyKernelEvents(actualFrom(desired.entries), row.events, owned);
    const model = actualFrom(desired.entries);
    const echoes = [ipEv(`[ROUTE]${routeLine}`), ipEv(`[NEIGH]${neighLine}`), brEv(fdbLine)];
    assert.is(applyKernelEvents(model, echoes, owned).model, model, 'echoes index the model and keep it');
    for (const round of ['indexed', 'used before']) {
      const r = applyKernelEvents(model, row.events, owned);
      assert.equal(r.repairs, expected.repairs, round);
      assert.is(view(r.model), view(expected.model), round);
      if (r.model && r.model !== model) {
        // The next batch on the new model (its indexes handed on): the events' objects as a fresh model of the same content says.
        const fresh = { ...r.model, routes: r.model.routes.slice(), neighbors: r.model.neighbors.slice(), fdb: r.model.fdb.slice() };
        const again = applyKernelEvents(r.model, [...echoes, ...row.events], owned);
        const ref = applyKernelEvents(fresh, [...echoes, ...row.events], owned);
        assert.equal(again.repairs, ref.repairs, `${round}, chained`);
        assert.is(view(again.model), view(ref.model), `${round}, chained`);
      }
    }
  });
}

test('without a model, a deletion of a planned object is still a repair; other events are not', () => {
  const r = applyKernelEvents(undefined, [ipEv(`[ROUTE]Deleted ${routeLine}`), ipEv(`[ROUTE]${peer.dst.text} via 192.0.2.99 dev eth0 proto 3 `), ipEv('[ROUTE]Deleted 203.0.113.0/24 dev eth0 proto 2 ')], owned);
  assert.is(r.model, undefined);
  assert.equal(r.repairs.map((x) => `${x.what} ${x.object}`), [`deleted route:${peer.dst.text}`]);
});

test('a deletion echoed after ovlnet deleted the object itself (no longer in the model): nothing', () => {
  const model = actualFrom(desired.entries.filter((e) => e !== peer));
  const r = applyKernelEvents(model, [ipEv(`[ROUTE]Deleted ${routeLine}`)], owned);
  assert.equal(r.repairs, []);
  assert.ok(r.model);
});

test('the device deleted while the model holds a multipath route (which may go through it): the model is unknown, the device still a repair', () => {
  const model = actualFrom(desired.entries);
  model.routes.push({ dst: peer.dst.family === 4 ? { ...peer.dst, text: '203.0.113.0/24' } : peer.dst, onlink: false, proto: 4 });
  const r = applyKernelEvents(model, [DELETED], owned);
  assert.is(r.model, undefined);
  assert.match(r.unknown ?? '', /multipath/);
  assert.equal(r.repairs.map((x) => `${x.what} ${x.object}`), ['deleted link:flannel.1']);
});

test('a foreign route added is in the model afterwards, as the kernel has it', () => {
  const r = applyKernelEvents(actualFrom(desired.entries), [ipEv('[ROUTE]203.0.113.0/24 via 192.0.2.1 dev eth0 proto 4 ')], owned);
  const got = r.model!.routes.find((x) => x.dst.text === '203.0.113.0/24');
  assert.equal(got && { via: got.via?.text, dev: got.dev, proto: got.proto }, { via: '192.0.2.1', dev: 'eth0', proto: 4 });
});

// One object of every kind the model holds on each of two devices (vxlan's and WireGuard's), and a route elsewhere.
const ON_DEVICES: Entry[] = [
  { kind: 'link', name: 'flannel.1', vni: 1, local: ip('192.0.2.10'), underlay: 'eth0', port: 8472, learning: false, mtu: 1450, mac: mac('0e:00:00:00:00:00'), up: true },
  { kind: 'addr', dev: 'flannel.1', addr: pfx('198.18.0.0/32') },
  { kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.1.0'), mac: mac('0e:00:00:00:00:01') },
  { kind: 'fdb', dev: 'flannel.1', mac: mac('0e:00:00:00:00:01'), dst: ip('192.0.2.11') },
  { kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('198.18.1.0'), dev: 'flannel.1', onlink: true, proto: 244 },
  { kind: 'sysctl', dev: 'flannel.1', name: 'accept_ra', value: 0 },
  { kind: 'wg-device', name: 'flannel-wg', mtu: 1440, listenPort: 51820, up: true },
  { kind: 'addr', dev: 'flannel-wg', addr: pfx('198.18.0.0/32') },
  { kind: 'wg-peer', dev: 'flannel-wg', publicKey: 'k', endpoint: '192.0.2.11:51820', allowedIPs: [pfx('198.18.2.0/24')], keepalive: 25 },
  { kind: 'route', dst: pfx('198.18.2.0/24'), dev: 'flannel-wg', onlink: false, proto: 244 },
  { kind: 'sysctl', dev: 'flannel-wg', name: 'accept_ra', value: 0 },
];
const withOffload = (entries: Entry[]) => {
  const a = actualFrom(entries, { links: new Map([['eth0', hostLink({ name: 'eth0', index: 2 })]]), routes: [{ dst: pfx('192.0.2.0/24'), dev: 'eth0', onlink: false, proto: 2 }] });
  a.offload = entries.flatMap((e) => (e.kind === 'link' ? [{ kind: 'offload' as const, dev: e.name, feature: 'tx-checksum-ip-generic', enabled: false }] : []));
  return a;
};

test('a device deleted: every kind\'s objects on it leave the model (the kinds\' onDevice), exactly as a read after the deletion has them', () => {
  // Kinds on a device that this row does not hold would escape the check: every such kind is in it.
  const onDevice = KIND_LIST.filter((k) => k.onDevice).map((k) => k.kind).sort();
  const held = [...new Set([...ON_DEVICES.map((e) => e.kind), 'offload'])].sort();
  assert.equal(onDevice.filter((k) => k !== 'tun'), held.filter((k) => k !== 'tun'), 'a row holds each kind with a device (tun: the link row of udp)');
  for (const [name, index] of [['flannel.1', 10], ['flannel-wg', 11]] as const) {
    const model = withOffload(ON_DEVICES);
    const ev = ipEv(`[LINK]Deleted ${index}: ${name}: <BROADCAST,MULTICAST> mtu 1450 qdisc noop state DOWN group 0 `);
    const r = applyKernelEvents(model, [ev], { keys: new Set([`link:${name}`]), devices: new Set([name]) });
    const left = ON_DEVICES.filter((e) => (e.kind === 'link' || e.kind === 'wg-device' ? e.name : (e as { dev: string }).dev) !== name);
    const want = withOffload(left);
    // The WireGuard devices read: none left (a read asks for the plan's, and stores what it finds).
    want.wireguard ??= new Map();
    assert.equal(r.model, want, name);
    assert.equal(r.repairs.map((x) => x.object), [`link:${name}`]);
  }
});

test.run();
