// The daemon's cycle decisions against a fake host (test/lib/fake-host.ts):
// when it trusts its kernel model and when it reads the host, when it
// verifies, and that a failed or doubtful cycle drops the model. No root,
// no kernel: each row is a few cycles, each step says what the host saw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Reconciler } from '../../../src/daemon/reconciler.js';
import { Logger } from '../../../src/daemon/logger.js';
import { DaemonMetrics } from '../../../src/daemon/metrics.js';
import { OVLNET_ROUTE_PROTO } from '../../../src/model/keys.js';
import type { ActualState, ClusterState, DesiredState, RawNode } from '../../../src/model/types.js';
import { ownedFrom, type Repair } from '../../../src/daemon/kernel-events.js';
import { entryKey } from '../../../src/kinds/index.js';
import type { Source } from '../../../src/sources/types.js';
import { IncrementalPlan } from '../../../src/engine/incremental.js';
import { FakeHost } from '../../lib/fake-host.js';
import { emptyActual, hostLink, pfx } from '../support/build.js';

const rawNode = (i: number, mac = `0e:00:00:00:00:0${i}`): RawNode => ({
  origin: `nodes[${i}]`, name: `node-${i}`, publicIP: `192.0.2.${10 + i}`, subnet: `198.18.${i}.0/24`, vtepMAC: mac,
});

/** This host: node-0 on eth0, nothing of ovlnet's yet. */
function bareHost(): ActualState {
  const a = emptyActual();
  a.links.set('eth0', hostLink({ name: 'eth0', addrs: [pfx('192.0.2.10/24')] }));
  a.routes.push({ dst: pfx('192.0.2.0/24'), dev: 'eth0', onlink: false, proto: 2 });
  return a;
}

interface Harness {
  host: FakeHost;
  r: Reconciler;
  /** What the source says; steps change it. */
  cluster: { nodes: RawNode[]; port: number };
  logs: string[];
  /** The plan of the last successful cycle. */
  desired?: DesiredState;
  /** Source reads (load or update) so far. */
  sourceReads: number;
  /** Cycles the reconciler asked for (repairSoon). */
  soon: number;
  /** The kept plan's updates ('plan': IncrementalPlan.apply) and the host's writes, in order. */
  order: Array<'plan' | 'write'>;
  /** What the reconciler handed to the kernel watch as changed after its write (changedAfterWrite). */
  changed: Repair[];
}

// Records when the kept plan is updated, beside the host's writes (Harness.order).
let planned_: Array<'plan' | 'write'> | undefined;
const applyPlan = IncrementalPlan.prototype.apply;
IncrementalPlan.prototype.apply = function (this: IncrementalPlan, ...args: Parameters<IncrementalPlan['apply']>) {
  planned_?.push('plan');
  return applyPlan.apply(this, args);
};

/** `deltas`: the source also says which nodes changed (update()), as the file and etcd sources do. */
function harness(deltas = false, backend: 'vxlan' | 'udp' = 'vxlan'): Harness {
  const host = new FakeHost(bareHost());
  const cluster = { nodes: [rawNode(0), rawNode(1), rawNode(2)], port: backend === 'vxlan' ? 8472 : 8285 };
  let given: { port: number; nodes: Map<string, string> } | undefined;
  const load = async (): Promise<ClusterState> => {
    h.sourceReads++;
    given = { port: cluster.port, nodes: new Map(cluster.nodes.map((n) => [n.name as string, JSON.stringify(n)])) };
    return {
      config: { network: '198.18.0.0/16', backend: backend === 'vxlan' ? { type: 'vxlan', vni: 1, port: cluster.port } : { type: 'udp', port: cluster.port }, origin: 'test.yaml' },
      nodes: cluster.nodes.map((n) => ({ ...n })), warnings: [], namedNodes: true,
    };
  };
  const source: Source = {
    uri: 'file:test.yaml',
    load,
    close: async () => undefined,
  };
  if (deltas) {
    source.update = async () => {
      const prev = given;
      const state = await load();
      if (!prev || prev.port !== cluster.port) return { state: async () => state };
      const upserts = state.nodes.filter((n) => prev.nodes.get(n.name as string) !== JSON.stringify(n));
      const deletes = [...prev.nodes.keys()].filter((name) => !given!.nodes.has(name));
      return { delta: { upserts, deletes }, state: async () => state };
    };
  }
  const logs: string[] = [];
  const log = new Logger({ level: 'debug', format: 'text', write: (l) => logs.push(l) });
  const h: Harness = { host, r: undefined as unknown as Reconciler, cluster, logs, sourceReads: 0, soon: 0, order: [], changed: [] };
  planned_ = h.order;
  const write = host.write.bind(host);
  host.write = (phases) => {
    h.order.push('write');
    return write(phases);
  };
  h.r = new Reconciler({
    source, host, log, metrics: new DaemonMetrics(), maxDelete: { kind: 'default' },
    cycle: { node: 'node-0', hostname: 'node-0', txOffload: 'off' },
    onSuccess: ({ snap }) => { h.desired = snap.desired; },
    repairSoon: () => { h.soon++; },
    changedAfterWrite: (repairs) => { h.changed.push(...repairs); },
  });
  return h;
}

/** The kernel deletes `name` (flannel.1; udp: flannel0) and everything through it, and (unless `report` is false) the monitors report it to the daemon. */
function deleteDevice(h: Harness, report = true, name = 'flannel.1'): void {
  const s = h.host.state;
  const index = s.links.get(name)!.index;
  s.links.delete(name);
  s.routes = s.routes.filter((r) => r.dev !== name);
  s.neighbors = s.neighbors.filter((n) => n.dev !== name);
  s.fdb = s.fdb.filter((f) => f.dev !== name);
  if (!report) return;
  const repairs = h.r.followKernel([{ kind: 'link', deleted: true, name, index, up: false }], ownedFrom(h.desired!));
  assert.equal(repairs.repairs.map((r) => r.object), [`link:${name}`]);
}

interface Step {
  /** What happens before the cycle (in the source or behind the daemon's back on the host). */
  before?: (h: Harness) => void;
  reasons: string[];
  ok: boolean;
  /** Full host reads and writes this cycle made. */
  reads: number;
  writes: number;
  /** Whether the daemon keeps a kernel model after the cycle. */
  model: boolean;
  /** Checked after the cycle. */
  after?: (h: Harness) => void;
}

const planned = (h: Harness, how: 'incremental' | 'full') => {
  const last = h.logs.filter((l) => /cycle stages/.test(l)).pop() ?? '';
  assert.match(last, new RegExp(`plan=${how}`), h.logs.join(''));
};
const routeTo = (h: Harness, subnet: string) => h.host.state.routes.find((r) => r.dst.text === subnet && r.proto === OVLNET_ROUTE_PROTO);
const addNode3 = (h: Harness) => h.cluster.nodes.push(rawNode(3));
const START: Step = { reasons: ['start'], ok: true, reads: 2, writes: 1, model: true };

const rows: Array<[string, Step[]]> = [
  ['start: reads the host, writes, verifies with a second read and keeps that read as the model', [
    { ...START, after: (h) => assert.ok(routeTo(h, '198.18.2.0/24'), 'node-2 routed') },
  ]],
  ['event cycle with a model: no host read, the delta written, the model kept', [
    START,
    { before: addNode3, reasons: ['watch'], ok: true, reads: 0, writes: 1, model: true, after: (h) => assert.ok(routeTo(h, '198.18.3.0/24'), 'node-3 routed') },
    { reasons: ['watch'], ok: true, reads: 0, writes: 0, model: true },
  ]],
  ['resync: the host is read even with a model, so drift behind the daemon\'s back is repaired', [
    START,
    { before: (h) => { h.host.state.routes = h.host.state.routes.filter((r) => r.dst.text !== '198.18.1.0/24'); }, reasons: ['watch'], ok: true, reads: 0, writes: 0, model: true },
    { reasons: ['resync'], ok: true, reads: 2, writes: 1, model: true, after: (h) => assert.ok(routeTo(h, '198.18.1.0/24'), 'node-1 route repaired') },
  ]],
  ['failed write: the cycle fails, the model is dropped, the next event cycle reads the host', [
    START,
    { before: (h) => { addNode3(h); h.host.failKeys.add('route:198.18.3.0/24'); }, reasons: ['watch'], ok: false, reads: 0, writes: 1, model: false },
    { before: (h) => h.host.failKeys.clear(), reasons: ['watch'], ok: true, reads: 2, writes: 1, model: true, after: (h) => assert.ok(routeTo(h, '198.18.3.0/24')) },
  ]],
  ['partial verify: a write the kernel did not take fails the cycle at verify and drops the model', [
    { before: (h) => h.host.loseKeys.add('route:198.18.2.0/24'), reasons: ['start'], ok: false, reads: 2, writes: 1, model: false,
      after: (h) => assert.ok(h.logs.some((l) => /verify: 1 change\(s\) still needed after writing/.test(l)), h.logs.join('')) },
    { before: (h) => h.host.loseKeys.clear(), reasons: ['watch'], ok: true, reads: 2, writes: 1, model: true },
  ]],
  ['device recreation on an event cycle: written, then verified by a host read (the model can not follow it), which is the model again', [
    START,
    // An event cycle writes the device first (its address with it), the rest in a second write.
    { before: (h) => { h.cluster.port = 4789; }, reasons: ['watch'], ok: true, reads: 1, writes: 2, model: true,
      after: (h) => assert.is(h.host.state.links.get('flannel.1')?.vxlan?.port, 4789) },
    { reasons: ['watch'], ok: true, reads: 0, writes: 0, model: true, after: (h) => assert.ok(routeTo(h, '198.18.2.0/24'), 'routes on the new device (re-added by the recreating cycle)') },
  ]],
];

// The source says which nodes changed: an event cycle updates the kept plan for them alone (engine/incremental.ts).
const deltaRows: Array<[string, Step[]]> = [
  ['a delta: planned incrementally, no host read, the delta written; a resync plans in full', [
    { ...START, after: (h) => planned(h, 'full') },
    { before: addNode3, reasons: ['watch'], ok: true, reads: 0, writes: 1, model: true, after: (h) => { planned(h, 'incremental'); assert.ok(routeTo(h, '198.18.3.0/24')); } },
    { before: (h) => { h.cluster.nodes[1] = rawNode(1, '0e:00:00:00:00:09'); }, reasons: ['watch'], ok: true, reads: 0, writes: 1, model: true,
      after: (h) => { planned(h, 'incremental'); assert.is(h.host.state.neighbors.find((n) => n.ip.text === '198.18.1.0')?.mac.text, '0e:00:00:00:00:09'); } },
    { before: (h) => { h.cluster.nodes.splice(2, 1); }, reasons: ['watch'], ok: true, reads: 0, writes: 1, model: true,
      after: (h) => { planned(h, 'incremental'); assert.not.ok(routeTo(h, '198.18.2.0/24'), 'node-2 gone'); } },
    { reasons: ['resync'], ok: true, reads: 1, writes: 0, model: true, after: (h) => planned(h, 'full') },
  ]],
  ['a node overlapping another is decided by a full plan (logged at debug), and the plan is kept again after it', [
    START,
    { before: (h) => h.cluster.nodes.push({ ...rawNode(4), subnet: '198.18.2.0/23' }), reasons: ['watch'], ok: true, reads: 0, writes: 0, model: true,
      after: (h) => { planned(h, 'full'); assert.ok(h.logs.some((l) => /incremental plan: planning in full.*overlaps another/.test(l)), h.logs.join('')); } },
    { before: (h) => h.cluster.nodes.push(rawNode(5)), reasons: ['watch'], ok: true, reads: 0, writes: 1, model: true, after: (h) => planned(h, 'incremental') },
  ]],
  ['a config change: the source gives no delta, a full plan (the device re-created, verified by a read)', [
    START,
    { before: (h) => { h.cluster.port = 4789; }, reasons: ['watch'], ok: true, reads: 1, writes: 2, model: true, after: (h) => planned(h, 'full') },
  ]],
  ['a device lost (kernel event): written again from the kept plan and the model, without reading the source or planning; then read back', [
    START,
    { before: deleteDevice, reasons: ['kernel'], ok: true, reads: 1, writes: 2, model: true,
      after: (h) => {
        planned(h, 'incremental');
        // Written from the kept plan before the plan is diffed (device-first.ts), not only before its entries are rendered.
        assert.equal(h.order.slice(-3), ['write', 'plan', 'write']);
        assert.match(h.logs.filter((l) => /cycle stages/.test(l)).pop() ?? '', /device_ms=/);
        // The device back (created, its address, up) before its entries are written, in a write of its own.
        const [first, second] = h.host.writeCalls.slice(-2);
        assert.equal(first, ['link:flannel.1', 'addr:flannel.1/198.18.0.0/32']);
        assert.ok(second.length > 6 && second.every((k) => !/^(link|addr):/.test(k)), second.join(' '));
        assert.ok(routeTo(h, '198.18.2.0/24'), 'routes on the new device');
        assert.ok(h.host.state.fdb.some((f) => f.dev === 'flannel.1'), 'fdb entries on the new device');
        assert.is(h.sourceReads, 1, 'the source was read by the start cycle only');
      } },
    { reasons: ['kernel'], ok: true, reads: 0, writes: 0, model: true, after: (h) => planned(h, 'incremental') },
  ]],
  ['a device lost while the monitors dropped events: repaired from the model first, then read back', [
    START,
    { before: deleteDevice, reasons: ['kernel-monitor', 'kernel'], ok: true, reads: 1, writes: 2, model: true,
      after: (h) => { planned(h, 'incremental'); assert.ok(routeTo(h, '198.18.2.0/24')); } },
  ]],
  ['a device gone before its own event came (only its fdb entries\' deletions seen): the failed write is explained, the device modelled as deleted and repaired next without planning', [
    START,
    { before: (h) => {
      const f = h.host.state.fdb.find((x) => x.dev === 'flannel.1')!;
      deleteDevice(h, false);
      const repairs = h.r.followKernel([{ kind: 'fdb', deleted: true, dev: f.dev, mac: f.mac, dst: f.dst, permanent: true, self: true }], ownedFrom(h.desired!));
      assert.is(repairs.repairs.length, 1);
    }, reasons: ['kernel'], ok: false, reads: 0, writes: 1, model: true,
    after: (h) => {
      assert.is(h.soon, 1, 'another cycle asked for at once');
      assert.ok(h.logs.some((l) => /the device vanished under the write/.test(l)), h.logs.join(''));
      // Handled, so not an error or a warning for the operator (nor a "recovered" line after).
      assert.not.ok(h.logs.some((l) => /\b(error|warn)\b/.test(l.slice(0, 40))), h.logs.join(''));
    } },
    { reasons: ['kernel'], ok: true, reads: 1, writes: 2, model: true,
      after: (h) => { planned(h, 'incremental'); assert.ok(routeTo(h, '198.18.2.0/24'), 'routes on the new device'); } },
  ]],
  ['a device lost while a source event comes (kernel and watch): no early write from the kept plan, the snapshot\'s device changes written first (applySnapshot devicesFirst)', [
    START,
    { before: (h) => { deleteDevice(h); addNode3(h); }, reasons: ['kernel', 'watch'], ok: true, reads: 1, writes: 2, model: true,
      after: (h) => {
        planned(h, 'incremental');
        assert.equal(h.order.slice(-3), ['plan', 'write', 'write']);
        assert.not.match(h.logs.filter((l) => /cycle stages/.test(l)).pop() ?? '', /device_ms=/);
        const [first, second] = h.host.writeCalls.slice(-2);
        assert.equal(first, ['link:flannel.1', 'addr:flannel.1/198.18.0.0/32']);
        assert.ok(second.includes('route:198.18.3.0/24') && second.every((k) => !/^(link|addr):/.test(k)), second.join(' '));
        assert.ok(routeTo(h, '198.18.2.0/24') && routeTo(h, '198.18.3.0/24'), 'routes on the new device, node-3 among them');
      } },
  ]],
  ['events lost without a repair to make: the host is read first (drift the lost events hid is written)', [
    START,
    { before: (h) => { h.host.state.routes = h.host.state.routes.filter((r) => r.dst.text !== '198.18.1.0/24'); }, reasons: ['kernel-monitor'], ok: true, reads: 2, writes: 1, model: true,
      after: (h) => assert.ok(routeTo(h, '198.18.1.0/24'), 'node-1 route repaired') },
  ]],
  ['a failed write drops the plan with the model: the next event cycle reads the host and plans in full', [
    START,
    { before: (h) => { addNode3(h); h.host.failKeys.add('route:198.18.3.0/24'); }, reasons: ['watch'], ok: false, reads: 0, writes: 1, model: false },
    { before: (h) => h.host.failKeys.clear(), reasons: ['watch'], ok: true, reads: 2, writes: 1, model: true, after: (h) => planned(h, 'full') },
  ]],
];

// udp plans in full every cycle (its planner does not trace its peers: no kept plan).
const udpRows: Array<[string, Step[]]> = [
  ['a TUN device lost (kernel event): planned in full against the model, the device and its address written first (applySnapshot devicesFirst), then its route', [
    { ...START, after: (h) => assert.ok(h.host.state.links.has('flannel0')) },
    { before: (h) => deleteDevice(h, true, 'flannel0'), reasons: ['kernel'], ok: true, reads: 1, writes: 2, model: true,
      after: (h) => {
        planned(h, 'full');
        assert.equal(h.host.writeCalls.slice(-2), [['link:flannel0', 'addr:flannel0/198.18.0.0/32'], ['route:198.18.0.0/16']]);
      } },
    { reasons: ['kernel'], ok: true, reads: 0, writes: 0, model: true },
  ]],
];

for (const [name, steps] of [...rows, ...deltaRows.map(([n, s]) => [`deltas: ${n}`, s] as [string, Step[]]), ...udpRows.map(([n, s]) => [`udp: ${n}`, s] as [string, Step[]])]) {
  test(name, async () => {
    const h = harness(name.startsWith('deltas: '), name.startsWith('udp: ') ? 'udp' : 'vxlan');
    for (const [i, s] of steps.entries()) {
      s.before?.(h);
      const was = { ...h.host.counts };
      const ok = await h.r.run(s.reasons);
      const at = `step ${i + 1} (${s.reasons.join(',')})`;
      assert.is(ok, s.ok, `${at}: cycle result\n${h.logs.join('')}`);
      assert.is(h.host.counts.kernelReads - was.kernelReads, s.reads, `${at}: host reads`);
      assert.is(h.host.counts.writes - was.writes, s.writes, `${at}: writes`);
      assert.is(h.r.hasKernelModel, s.model, `${at}: kernel model kept`);
      s.after?.(h);
    }
  });
}

test('an incremental snapshot\'s entry list read first after the next cycle is the plan at that read (engine/incremental.ts snapshot), so the kernel watch asks the plan itself', async () => {
  const h = harness(true);
  assert.ok(await h.r.run(['start']), h.logs.join(''));
  addNode3(h);
  assert.ok(await h.r.run(['watch']), h.logs.join(''));
  planned(h, 'incremental');
  const earlier = h.desired!;
  h.cluster.nodes.push(rawNode(4));
  assert.ok(await h.r.run(['watch']), h.logs.join(''));
  planned(h, 'incremental');
  assert.ok(earlier.entries.some((e) => entryKey(e) === 'route:198.18.4.0/24'), 'node-4, planned after the snapshot, in its entry list');
});

test('a cycle that fails with its device vanished keeps the plan it updated: the kernel watch\'s view of the last converged plan (ownedFrom) answers keys and planned entries of that plan alike', async () => {
  const h = harness(true);
  assert.ok(await h.r.run(['start']), h.logs.join(''));
  addNode3(h);
  assert.ok(await h.r.run(['watch']), h.logs.join(''));
  // As the kernel watch holds it until the next successful cycle.
  const owned = ownedFrom(h.desired!);
  // A foreign route comes up between cycles: the watch looks it up among the planned ones.
  h.host.state.routes.push({ dst: pfx('203.0.113.0/24'), dev: 'eth0', onlink: false, proto: 2 });
  h.r.followKernel([{ kind: 'route', deleted: false, route: { dst: pfx('203.0.113.0/24'), dev: 'eth0', onlink: false, proto: 2 } }], owned);
  // The device goes (only an fdb entry's deletion seen) while node-4 comes: the cycle planning node-4 finds it gone.
  const f = h.host.state.fdb.find((x) => x.dev === 'flannel.1')!;
  deleteDevice(h, false);
  h.r.followKernel([{ kind: 'fdb', deleted: true, dev: f.dev, mac: f.mac, dst: f.dst, permanent: true, self: true }], owned);
  h.cluster.nodes.push(rawNode(4));
  assert.not.ok(await h.r.run(['kernel', 'watch']));
  assert.ok(h.logs.some((l) => /the device vanished under the write/.test(l)), h.logs.join(''));
  for (const key of ['route:198.18.4.0/24', 'neigh:flannel.1/198.18.4.0', 'route:198.18.3.0/24']) {
    assert.ok(owned.keys.has(key), key);
    assert.is(owned.plannedEntry!(key) && entryKey(owned.plannedEntry!(key)!), key, `${key}: a planned entry, as the keys say`);
  }
  assert.ok(await h.r.run(['kernel']), h.logs.join(''));
  assert.ok(routeTo(h, '198.18.4.0/24'), 'node-4 routed on the device written again');
});

test('another writer sets the device\'s MTU again between a repair\'s write and its verify read: not a failed cycle (no retry outside the repair limit); the read is the model and the change goes to the kernel watch as drift', async () => {
  const h = harness(true);
  assert.ok(await h.r.run(['start']), h.logs.join(''));
  const setMtu = (mtu: number) => h.host.state.links.set('flannel.1', { ...h.host.state.links.get('flannel.1')!, mtu });
  // An agent sets 1400; the kernel watch's device read reports it (a repair of the device).
  setMtu(1400);
  const follow = h.r.followKernel([{ kind: 'devices', links: new Map(h.host.state.links), names: ['flannel.1'] }], ownedFrom(h.desired!));
  assert.equal(follow.repairs.map((r) => `${r.what} ${r.object}`), ['changed link:flannel.1']);
  // The agent again, right after ovlnet's write and before its verify read.
  const write = h.host.write;
  h.host.write = async (phases) => {
    const r = await write(phases);
    setMtu(1398);
    return r;
  };
  assert.ok(await h.r.run(['kernel']), h.logs.join(''));
  assert.equal(h.changed, [{ kind: 'link', object: 'link:flannel.1', what: 'changed' }]);
  assert.ok(h.logs.some((l) => /kernel drift: changed again before the repair was verified/.test(l)), h.logs.join(''));
  assert.is(h.host.state.links.get('flannel.1')?.mtu, 1398, 'left to the kernel watch: ovlnet wrote once');
  // The model is that read: the next kernel cycle (the watch's repair, if within its limit) sets it back without a host read.
  h.host.write = write;
  assert.ok(await h.r.run(['kernel']), h.logs.join(''));
  assert.is(h.host.state.links.get('flannel.1')?.mtu, 1450);
});

test.run();
