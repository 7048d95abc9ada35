import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { applyToActual, shareWithPlan, unmodelled } from '../../../src/daemon/kernel-model.js';
import { ip, pfx } from '../support/build.js';
import { entryKey } from '../../../src/kinds/index.js';
import type { ActualState, Change, DesiredState, Node } from '../../../src/model/types.js';
import { diff } from '../../../src/reconcile/diff.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { actualFrom, addChange, cluster, delChange, emptyActual, fdb, hostLink, mac, neigh, node, route, underlay } from '../support/build.js';

const POLICY = ownershipFor('flannel.1');
const N = Array.from({ length: 6 }, (_, i) => node(i));

function vx(nodes: Node[]): DesiredState {
  return plan({ cluster: cluster(nodes, nodes[0]), underlay: underlay() });
}
/** The kernel after `desired` was applied in full, as a read returns it. */
function converged(nodes: Node[]): ActualState {
  return actualFrom(vx(nodes).entries);
}
function keysOf(a: ActualState): string[] {
  return [
    ...a.routes.map((r) => `route ${r.dst.text} via ${r.via?.text} dev ${r.dev} proto ${r.proto}`),
    ...a.neighbors.map((n) => `${entryKey(n)} ${n.mac.text}`),
    ...a.fdb.map((f) => entryKey(f)),
  ].sort();
}
function freeze(a: ActualState): string {
  return JSON.stringify(keysOf(a));
}

// The model is right when diffing the same plan against it finds nothing left
// to do, and it equals what a read of the converged host would give.
const scenarios: Array<{ name: string; before: () => ActualState; after: Node[] }> = [
  { name: 'nothing changed', before: () => converged(N.slice(0, 4)), after: N.slice(0, 4) },
  { name: 'a peer added', before: () => converged(N.slice(0, 4)), after: N.slice(0, 5) },
  { name: 'a peer removed', before: () => converged(N.slice(0, 5)), after: N.slice(0, 4) },
  { name: 'a peer moved to another public IP', before: () => converged(N.slice(0, 4)), after: [...N.slice(0, 3), { ...N[3], publicIP: N[5].publicIP }] },
  { name: 'a peer got a new VTEP MAC', before: () => converged(N.slice(0, 4)), after: [...N.slice(0, 3), { ...N[3], vtepMAC: mac('02:aa:bb:cc:dd:ee') }] },
  { name: 'a hand-deleted neighbour and a stale fdb entry', before: () => {
    const a = converged(N.slice(0, 4));
    a.neighbors = a.neighbors.slice(1);
    a.fdb.push(fdb('flannel.1', '02:00:00:00:00:99', '192.0.2.99'));
    return a;
  }, after: N.slice(0, 4) },
  { name: 'many peers added and removed at once', before: () => converged(N.slice(0, 3)), after: [N[0], N[3], N[4], N[5]] },
];

for (const sc of scenarios) {
  test(`applyToActual: ${sc.name}: the model matches the converged host, the input is untouched`, () => {
    const before = sc.before();
    const desired = vx(sc.after);
    const changes = diff(desired, before, POLICY).changes;
    const snapshotBefore = freeze(before);
    const model = applyToActual(before, changes);
    assert.ok(model, `modelled: ${unmodelled(before, changes)}`);
    assert.is(freeze(before), snapshotBefore, 'input not modified');
    assert.equal(diff(desired, model!, POLICY).changes.map((c) => c.key), [], 'nothing left to do against the model');
    assert.equal(keysOf(model!), keysOf(converged(sc.after)), 'same entries as a read of the converged host');
  });
}

// Each model hands its lists' key indexes on to the next (model/keyed-list.ts):
// a chain of writes must still give what a read gives, and an older model,
// used again after its successor took its indexes, must answer for itself.
test('applyToActual: a chain of writes, then an older model written again', () => {
  const steps = [N.slice(0, 4), [...N.slice(0, 3), { ...N[3], vtepMAC: mac('02:aa:bb:cc:dd:ee') }], N.slice(0, 5), [N[0], N[2], N[4], N[5]]];
  const models: ActualState[] = [converged(steps[0])];
  for (const nodes of steps.slice(1)) {
    const prev = models[models.length - 1];
    const next = applyToActual(prev, diff(vx(nodes), prev, POLICY).changes)!;
    assert.ok(next);
    assert.equal(keysOf(next), keysOf(converged(nodes)));
    models.push(next);
  }
  const frozen = models.map(freeze);
  for (let i = 0; i < steps.length; i++) {
    const target = steps[(i + 2) % steps.length];
    const again = applyToActual(models[i], diff(vx(target), models[i], POLICY).changes)!;
    assert.equal(keysOf(again), keysOf(converged(target)), `model ${i} written again`);
    assert.equal(diff(vx(target), again, POLICY).changes.map((c) => c.key), []);
  }
  assert.equal(models.map(freeze), frozen, 'no model modified');
});

test('applyToActual keeps what is not ovlnet\'s, and the links as they were', () => {
  const foreign = route('203.0.113.0/24', '192.0.2.254', 'eth0', false, 4);
  const before = converged(N.slice(0, 3));
  before.routes.push(foreign);
  const model = applyToActual(before, diff(vx(N.slice(0, 4)), before, POLICY).changes)!;
  assert.ok(model.routes.includes(foreign));
  assert.is(model.links, before.links);
});

const doubtful: Array<{ name: string; actual: () => ActualState; changes: () => Change[]; why: RegExp }> = [
  { name: 'a device created', actual: emptyActual, changes: () => [addChange(vx(N.slice(0, 2)).entries.find((e) => e.kind === 'link')!)], why: /^add link:flannel\.1/ },
  { name: 'an address added', actual: () => {
    const a = emptyActual();
    a.links.set('flannel.1', hostLink({ name: 'flannel.1', kind: 'vxlan' }));
    return a;
  }, changes: () => [addChange(vx(N.slice(0, 2)).entries.find((e) => e.kind === 'addr')!)], why: /^add addr:flannel\.1/ },
  { name: 'an fdb add over another destination of the same MAC that stays', actual: () => actualFrom([fdb('flannel.1', '02:00:00:00:00:01', '192.0.2.1')]),
    changes: () => [addChange(fdb('flannel.1', '02:00:00:00:00:01', '192.0.2.2'))], why: /fdb replace over 02:00:00:00:00:01/ },
  { name: 'a route added where a foreign route holds the destination', actual: () => actualFrom([], { routes: [route('198.18.1.0/24', '192.0.2.254', 'eth0', false, 4)] }),
    changes: () => [addChange({ kind: 'route', dst: route('198.18.1.0/24', '198.18.1.0', 'flannel.1').dst, via: route('198.18.1.0/24', '198.18.1.0', 'flannel.1').via, dev: 'flannel.1', onlink: true, proto: 244 })], why: /also held by protocol 4/ },
];

for (const d of doubtful) {
  test(`applyToActual: ${d.name}: unknown, the next cycle reads the host`, () => {
    const a = d.actual();
    const c = d.changes();
    assert.match(unmodelled(a, c) ?? '', d.why);
    assert.is(applyToActual(a, c), undefined);
  });
}

test('applyToActual: an fdb destination moved (delete + add of one MAC) is modelled', () => {
  const old = fdb('flannel.1', '02:00:00:00:00:01', '192.0.2.1');
  const moved = fdb('flannel.1', '02:00:00:00:00:01', '192.0.2.2');
  const model = applyToActual(actualFrom([old]), [delChange(old), addChange(moved)])!;
  assert.equal(model.fdb.map(entryKey), [entryKey(moved)]);
});

test('applyToActual: a neighbour changed in place replaces the old one; offload changes need no model', () => {
  const a = actualFrom([neigh('flannel.1', '198.18.1.0', '02:00:00:00:00:01')]);
  const n2 = neigh('flannel.1', '198.18.1.0', '02:00:00:00:00:02');
  const model = applyToActual(a, [
    { action: 'change', kind: 'neigh', key: entryKey(n2), desired: n2, actual: a.neighbors[0] },
    { action: 'add', kind: 'offload', key: 'offload:flannel.1/tx-checksum-ip-generic', desired: { kind: 'offload', dev: 'flannel.1', feature: 'tx-checksum-ip-generic', enabled: false } },
  ])!;
  assert.equal(model.neighbors.map((n) => n.mac.text), ['02:00:00:00:00:02']);
});

// The model's iptables tables are what event cycles diff against: a rule
// written but not in the model would be written again (a second jump).
const ruleCases: Array<[kind: 'nat' | 'filter', chain: string]> = [['nat', 'POSTROUTING'], ['filter', 'FORWARD']];
for (const [kind, chain] of ruleCases) {
  test(`applyToActual: a written ${kind} rule makes the model unknown (the next cycle reads the host)`, () => {
    const a = actualFrom([]);
    const applied = [{ action: 'add' as const, kind, key: `${kind}:${chain}/x`, desired: { kind, chain, spec: 'x' } }] as Change[];
    assert.is(applyToActual(a, applied), undefined);
    assert.match(unmodelled(a, applied)!, `${kind}:${chain}/x`);
  });
}

/** A deep copy of a model as a fresh host read gives it: new address, prefix and MAC objects (actualFrom shares the plan's). */
function reread(a: ActualState): ActualState {
  const copy = structuredClone({ routes: a.routes, neighbors: a.neighbors, fdb: a.fdb });
  return { ...a, ...copy, routes: copy.routes.map((r) => ({ ...r, type: undefined })) };
}

test('shareWithPlan: entries equal to planned ones take the plan\'s objects; every value kept; others and the input untouched', () => {
  const desired = vx(N);
  const host = reread(converged(N));
  // Entries that differ from the plan in one field each, and a foreign route.
  const [r0, r1, r2] = host.routes;
  host.routes[0] = { ...r0, via: ip('198.18.99.0') };
  host.routes[1] = { ...r1, proto: 4 };
  host.routes[2] = { ...r2, onlink: !r2.onlink };
  host.routes.push({ dst: pfx('203.0.113.0/24'), via: ip('192.0.2.1'), dev: 'eth0', onlink: false, proto: 4, type: undefined });
  host.neighbors[0] = { ...host.neighbors[0], mac: mac('0e:99:00:00:00:01') };
  host.fdb[0] = { ...host.fdb[0], dst: ip('192.0.2.99') };
  const before = structuredClone({ routes: host.routes, neighbors: host.neighbors, fdb: host.fdb });
  const shared = shareWithPlan(host, desired.entries);
  assert.equal({ routes: shared.routes, neighbors: shared.neighbors, fdb: shared.fdb }, before, 'every value kept');
  assert.equal({ routes: host.routes, neighbors: host.neighbors, fdb: host.fdb }, before, 'the input untouched');
  const planned = new Set<object>();
  for (const e of desired.entries) for (const v of Object.values(e)) if (typeof v === 'object' && v) planned.add(v);
  const usesPlan = (x: object) => Object.values(x).some((v) => typeof v === 'object' && v !== null && planned.has(v));
  const table: Array<[what: string, x: object, shares: boolean]> = [
    ['a route with another gateway', shared.routes[0], false],
    ['a route of another protocol', shared.routes[1], false],
    ['a route with another onlink flag', shared.routes[2], false],
    ['a foreign route', shared.routes.at(-1)!, false],
    ['a neighbour with another MAC', shared.neighbors[0], false],
    ['an fdb entry to another destination', shared.fdb[0], false],
    ...shared.routes.slice(3, -1).map((r): [string, object, boolean] => [`route ${r.dst.text} as planned`, r, true]),
    ...shared.neighbors.slice(1).map((n): [string, object, boolean] => [`neighbour ${n.ip.text} as planned`, n, true]),
    ...shared.fdb.slice(1).map((f): [string, object, boolean] => [`fdb ${f.mac.text} as planned`, f, true]),
  ];
  assert.ok(table.filter(([, , s]) => s).length >= 3, 'some entries as planned');
  for (const [what, x, shares] of table) assert.is(usesPlan(x), shares, what);
  // A neighbour or fdb entry as planned is the planned object itself (no copy of it).
  const plannedEntries = new Set<object>(desired.entries);
  for (const e of [...shared.neighbors.slice(1), ...shared.fdb.slice(1)]) assert.ok(plannedEntries.has(e), `${e.kind} ${e.mac.text} is the planned entry`);
  assert.not.ok(plannedEntries.has(shared.neighbors[0]) || plannedEntries.has(shared.fdb[0]), 'the changed ones are not');
});

test.run();
