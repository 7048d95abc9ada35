// The plan-only snapshot: which host reads a plan makes, and that what it
// plans is what the full snapshot (diff/apply) plans from the whole host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { snapshotFrom, type CycleOptions } from '../../../src/engine/cycle.js';
import { foreignMainRoutes, planNeedsRoutes, planWithReads, type PlanHost, type PlanReads } from '../../../src/engine/plan-snapshot.js';
import { HostError, PermissionError } from '../../../src/errors.js';
import { OVLNET_ROUTE_PROTO } from '../../../src/model/keys.js';
import type { ActualState, ClusterState, HostRoute } from '../../../src/model/types.js';
import { parseClusterDocument } from '../../../src/sources/file.js';
import { actualFrom, emptyActual, fdb, hostLink, neigh, pfx, route } from '../support/build.js';

const OPTS: CycleOptions = { node: 'node-a', hostname: 'test-host', offline: true, txOffload: 'off', ipMasq: false };

type Doc = Record<string, unknown>;
const A = { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24', vtepMAC: '0e:00:00:00:00:0a' };
const B = { name: 'node-b', publicIP: '192.0.2.11', subnet: '198.18.1.0/24', vtepMAC: '0e:00:00:00:00:0b' };
const C = { name: 'node-c', publicIP: '203.0.113.5', subnet: '198.18.2.0/24', vtepMAC: '0e:00:00:00:00:0c' };
const doc = (nodes: object[], backend: object = { type: 'vxlan', vni: 1, port: 8472 }): Doc => ({ network: '198.18.0.0/16', backend, nodes });
const state = (d: Doc): ClusterState => parseClusterDocument(d, 'cluster.json');

const ETH0 = hostLink({ name: 'eth0', addrs: [pfx('192.0.2.10/24')] });
const CONNECTED: HostRoute = { dst: pfx('192.0.2.0/24'), dev: 'eth0', onlink: false, proto: 2 };
const DEFAULT: HostRoute = route('0.0.0.0/0', '192.0.2.1', 'eth0', false, 3);

function host(extra: Partial<ActualState> = {}): ActualState {
  const a = emptyActual();
  a.links.set('eth0', ETH0);
  a.routes.push(CONNECTED, DEFAULT);
  for (const [k, v] of extra.links ?? []) a.links.set(k, v);
  a.routes.push(...(extra.routes ?? []));
  a.neighbors.push(...(extra.neighbors ?? []));
  a.fdb.push(...(extra.fdb ?? []));
  return a;
}

/** Fake host reads over `actual`, logging each read; `fail` makes one of them throw. */
function reads(actual: ActualState, fail: { planHost?: Error; wholeHost?: Error } = {}): PlanReads & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    async planHost(withRoutes): Promise<PlanHost> {
      log.push(withRoutes ? 'addrs+routes' : 'addrs');
      if (fail.planHost) throw fail.planHost;
      // As readPlanHost: ovlnet's own routes are not read for the on-link test.
      return withRoutes ? { links: actual.links, routes: actual.routes.filter((r) => r.proto !== OVLNET_ROUTE_PROTO) } : { links: actual.links };
    },
    async wholeHost() {
      log.push('all');
      if (fail.wholeHost) throw fail.wholeHost;
      return actual;
    },
  };
}

// A converged node-a (of A, B, C): the entries diff/apply would have written.
async function converged(d: Doc, extra: Partial<ActualState> = {}): Promise<ActualState> {
  const snap = await snapshotFrom(state(d), host(), OPTS);
  const a = actualFrom(snap.desired.entries.filter((e) => e.kind !== 'offload' && e.kind !== 'nat'), extra);
  a.links.set('eth0', ETH0);
  a.routes.push(CONNECTED, DEFAULT);
  return a;
}

const ROWS: Array<{ name: string; doc: Doc; actual: () => Promise<ActualState>; reads: string[] }> = [
  { name: 'vxlan, empty host: addresses only', doc: doc([A, B, C]), actual: async () => host(), reads: ['addrs'] },
  {
    name: 'vxlan, converged host with a foreign route at a peer subnet: addresses only',
    doc: doc([A, B, C]),
    actual: () => converged(doc([A, B, C]), { routes: [route('198.18.9.0/24', '192.0.2.99', 'eth0', false, 4)] }),
    reads: ['addrs'],
  },
  {
    name: 'DirectRouting: addresses and the main table, in one read',
    doc: doc([A, B, C], { type: 'vxlan', vni: 1, port: 8472, directRouting: true }),
    actual: async () => host(),
    reads: ['addrs+routes'],
  },
  {
    name: 'DirectRouting on a converged host',
    doc: doc([A, B, C], { type: 'vxlan', vni: 1, port: 8472, directRouting: true }),
    actual: () => converged(doc([A, B, C], { type: 'vxlan', vni: 1, port: 8472, directRouting: true })),
    reads: ['addrs+routes'],
  },
  { name: 'host-gw: addresses only', doc: doc([A, B], { type: 'host-gw' }), actual: async () => host(), reads: ['addrs'] },
  {
    name: 'a peer overlapping only this node: no programmed question, addresses only',
    doc: doc([A, B, { name: 'evil', publicIP: '192.0.2.66', subnet: '198.18.0.128/25' }]),
    actual: () => converged(doc([A, B])),
    reads: ['addrs'],
  },
  {
    name: 'a newcomer on a programmed peer\'s subnet: the whole host is read, the programmed peer wins',
    doc: doc([A, B, C, { name: 'evil', publicIP: '192.0.2.66', subnet: '198.18.1.0/24' }]),
    actual: () => converged(doc([A, B, C])),
    reads: ['addrs', 'all'],
  },
  {
    name: 'two overlapping peers, neither programmed: the whole host is read, both left out',
    doc: doc([A, B, { ...C, subnet: '198.18.1.0/25' }]),
    actual: async () => host(),
    reads: ['addrs', 'all'],
  },
  {
    name: 'a programmed peer\'s neighbour and fdb entry count: programmed through vxlan',
    doc: doc([A, B, { name: 'evil', publicIP: '192.0.2.66', subnet: '198.18.1.0/24' }]),
    actual: async () => host({
      routes: [route('198.18.1.0/24', '198.18.1.0', 'flannel.1', true)],
      neighbors: [neigh('flannel.1', '198.18.1.0', B.vtepMAC)],
      fdb: [fdb('flannel.1', B.vtepMAC, B.publicIP)],
    }),
    reads: ['addrs', 'all'],
  },
  { name: 'udp: addresses only', doc: doc([A, B], { type: 'udp' }), actual: async () => host(), reads: ['addrs'] },
  {
    name: 'dual stack, IPv6 copies of a programmed peer\'s subnet: the whole host is read',
    doc: {
      network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48', enableIPv6: true, backend: { type: 'vxlan', vni: 1, port: 8472 },
      nodes: [
        { ...A, publicIPv6: '2001:db8:1::10', ipv6Subnet: '2001:db8:100:0::/64' },
        { ...B, publicIPv6: '2001:db8:1::11', ipv6Subnet: '2001:db8:100:1::/64' },
        { ...C, publicIPv6: '2001:db8:1::12', ipv6Subnet: '2001:db8:100:1::/64' },
      ],
    },
    actual: async () => host({ links: new Map([['eth0', hostLink({ name: 'eth0', addrs: [pfx('192.0.2.10/24'), pfx('2001:db8:1::10/64')] })]]) }),
    reads: ['addrs', 'all'],
  },
];

for (const row of ROWS) {
  test(`plan reads: ${row.name}`, async () => {
    const actual = await row.actual();
    const r = reads(actual);
    const plan = await planWithReads(state(row.doc), OPTS, r);
    assert.equal(r.log, row.reads, 'reads made');
    assert.is(plan.read, row.reads[row.reads.length - 1]);
    // The same plan as the full snapshot (diff/apply) makes from the whole host.
    const full = await snapshotFrom(state(row.doc), actual, OPTS);
    assert.equal(plan.desired, full.desired, 'desired state');
    assert.equal(plan.problems, [...full.cluster.problems, ...full.desired.problems], 'problems: the full snapshot\'s, without diff conflicts');
  });
}

test('plan reads: the conflict a diff reports is not a plan problem', async () => {
  const actual = await converged(doc([A, B, C]), { routes: [route('198.18.2.0/24', '192.0.2.99', 'eth0', false, 4)] });
  actual.routes = actual.routes.filter((x) => !(x.dst.text === '198.18.2.0/24' && x.proto === OVLNET_ROUTE_PROTO));
  const full = await snapshotFrom(state(doc([A, B, C])), actual, OPTS);
  assert.is(full.result.conflicts.length, 1, 'the fixture has a conflict');
  const plan = await planWithReads(state(doc([A, B, C])), OPTS, reads(actual));
  assert.equal(plan.problems, []);
  assert.equal(plan.desired, full.desired);
});

const UNREADABLE: Array<{ name: string; fail: { planHost?: Error; wholeHost?: Error }; doc: Doc; reads: string[]; message: string }> = [
  {
    name: 'no iproute2', fail: { planHost: new HostError('ip not found in PATH') }, doc: doc([A, B]), reads: ['addrs'],
    message: 'cannot read this host (ip not found in PATH); planned as for an empty host',
  },
  {
    name: 'no permission', fail: { planHost: new PermissionError('entering network namespace x needs root') }, doc: doc([A, B]), reads: ['addrs'],
    message: 'cannot read this host (entering network namespace x needs root); planned as for an empty host',
  },
  {
    name: 'the whole-host read fails (no bridge tool)',
    fail: { wholeHost: new HostError('bridge not found in PATH') },
    doc: doc([A, B, { ...C, subnet: '198.18.1.0/25' }]),
    reads: ['addrs', 'all'],
    message: 'cannot read this host (bridge not found in PATH); planned as for an empty host',
  },
];

for (const row of UNREADABLE) {
  test(`plan on an unreadable host: ${row.name}`, async () => {
    const r = reads(host(), row.fail);
    const plan = await planWithReads(state(row.doc), OPTS, r);
    assert.equal(r.log, row.reads);
    assert.is(plan.read, 'none');
    assert.equal(plan.problems[0], { subject: 'host', message: row.message });
    const empty = await snapshotFrom(state(row.doc), emptyActual(), OPTS);
    assert.equal(plan.desired, empty.desired, 'planned as for an empty host');
    assert.is(plan.desired.underlay.found, false);
  });
}

test('plan: an error that is not about reading the host is not hidden', async () => {
  const r = reads(host(), { planHost: new TypeError('boom') });
  try {
    await planWithReads(state(doc([A, B])), OPTS, r);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, TypeError);
  }
});

test('planNeedsRoutes: only vxlan DirectRouting depends on the routing table', () => {
  const rows: Array<[object | undefined, boolean]> = [
    [{ type: 'vxlan', vni: 1, port: 8472 }, false],
    [{ type: 'vxlan', vni: 1, port: 8472, directRouting: true }, true],
    [{ type: 'vxlan', vni: 1, port: 8472, DirectRouting: true }, true],
    [{ type: 'vxlan', vni: 1, port: 8472, directRouting: false }, false],
    [{ type: 'host-gw' }, false],
    [{ type: 'udp' }, false],
    [{ type: 'nonsense' }, false], // a config error: reported by the planning that follows
    [undefined, false],
  ];
  for (const [backend, want] of rows) {
    assert.is(planNeedsRoutes(state({ network: '198.18.0.0/16', ...(backend ? { backend } : {}), nodes: [A] })), want, JSON.stringify(backend));
  }
});

test('foreignMainRoutes: the main table without ovlnet\'s routes', () => {
  const rows: Array<[object, string | undefined]> = [
    [{ dst: '192.0.2.0/24', dev: 'eth0', protocol: '2', table: '254' }, '192.0.2.0/24 dev eth0 proto 2'],
    [{ dst: 'default', gateway: '192.0.2.1', dev: 'eth0', protocol: '3', table: 'main' }, '0.0.0.0/0 via 192.0.2.1 dev eth0 proto 3'],
    [{ dst: 'default', gateway: 'fe80::1', dev: 'eth0', protocol: '9', pref: 'medium' }, '::/0 via fe80::1 dev eth0 proto 9'],
    [{ dst: '198.18.1.0/24', gateway: '198.18.1.0', dev: 'flannel.1', protocol: '244', flags: ['onlink'] }, undefined],
    [{ dst: '198.18.1.0/24', gateway: '198.18.1.0', dev: 'flannel.1', protocol: 'ovlnet' }, '198.18.1.0/24 via 198.18.1.0 dev flannel.1 proto -1'],
    [{ dst: '10.0.0.0/8', dev: 'eth1', protocol: '4', table: 'local' }, undefined],
    [{ dst: '10.0.0.0/8', dev: 'eth1', protocol: '4', table: '100' }, undefined],
    [{ dst: '10.1.0.0/16', type: '6', protocol: '4' }, '10.1.0.0/16 dev - proto 4 blackhole'],
    [{ nonsense: true }, undefined],
  ];
  for (const [raw, want] of rows) {
    const got = foreignMainRoutes([raw]).map((r) => `${r.dst.text}${r.via ? ` via ${r.via.text}` : ''} dev ${r.dev ?? '-'} proto ${r.proto}${r.type ? ` ${r.type}` : ''}`);
    assert.equal(got, want ? [want] : [], JSON.stringify(raw));
  }
});

test.run();
