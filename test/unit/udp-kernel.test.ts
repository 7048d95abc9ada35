// The udp backend's kernel part: planner, tun parsing, diff and batch lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { plan } from '../../src/backends/index.js';
import { planUdp, UDP_DEVICE, UDP_OVERHEAD } from '../../src/backends/udp.js';
import { renderSubnetEnv, subnetEnvFor } from '../../src/daemon/subnet-env.js';
import { ConfigError } from '../../src/errors.js';
import { validateNode } from '../../src/validate/nodes.js';
import { linesFor, toBatches } from '../../src/host/commands.js';
import { parseLinks, parseRoutes } from '../../src/host/parse.js';
import { OVLNET_ROUTE_PROTO } from '../../src/model/keys.js';
import type { ActualState, BackendConfig, Change, DesiredState, HostLink } from '../../src/model/types.js';
import { diff } from '../../src/reconcile/diff.js';
import { orderChanges } from '../../src/reconcile/order.js';
import { ownershipFor } from '../../src/reconcile/ownership.js';
import { programmedCheck } from '../../src/reconcile/programmed.js';
import { cluster, config, emptyActual, hostLink, ip, node, pfx, route, throwsLike, underlay } from './support/build.js';

const UDP: BackendConfig = { type: 'udp', port: 8285 };
const N = [0, 1, 2].map((i) => node(i));
const POLICY = ownershipFor(UDP_DEVICE);
const FIX = fileURLToPath(new URL('../../../test/fixtures/host/', import.meta.url));

function udp(nodes = N, mtu = 1500): DesiredState {
  return plan({ cluster: cluster(nodes, nodes[0], UDP), underlay: underlay({ mtu }) });
}

/** The host as it is once the plan is applied (flannel0 persistent, up). */
function applied(over: Partial<HostLink> = {}): ActualState {
  const a = emptyActual();
  a.links.set('flannel0', hostLink({
    name: 'flannel0', mtu: 1472, kind: 'tun', tun: { type: 'tun', pi: false, persist: true, multiQueue: false },
    addrs: [pfx('198.18.0.0/32')], ...over,
  }));
  a.routes.push({ dst: pfx('198.18.0.0/16'), dev: 'flannel0', onlink: false, proto: OVLNET_ROUTE_PROTO });
  return a;
}

const summary = (cs: Change[]) => cs.map((c) => `${c.action} ${c.key}${c.detail ? ` (${c.detail})` : ''}`).sort();

test('plan: flannel0 (underlay MTU - 28, up), own subnet .0/32, one route for the network; peers via the forwarder', () => {
  assert.is(UDP_OVERHEAD, 28);
  const d = udp();
  assert.is(d.backend, 'udp');
  assert.is(d.device, 'flannel0');
  assert.equal(d.entries, [
    { kind: 'tun', name: 'flannel0', mtu: 1472, up: true },
    { kind: 'addr', dev: 'flannel0', addr: pfx('198.18.0.0/32') },
    { kind: 'route', dst: pfx('198.18.0.0/16'), dev: 'flannel0', onlink: false, proto: OVLNET_ROUTE_PROTO },
  ]);
  assert.equal(d.peers.map((p) => `${p.node.name}:${p.via}`), ['node-1:udp', 'node-2:udp']);
  assert.equal(d.problems, []);
});

test('plan: MTU follows the underlay; below 68 is refused', () => {
  const rows: Array<[number, number]> = [[1500, 1472], [9000, 8972], [1450, 1422], [96, 68]];
  for (const [u, want] of rows) {
    const t = udp(N, u).entries[0];
    assert.is(t.kind === 'tun' && t.mtu, want, `underlay ${u}`);
  }
  throwsLike(() => udp(N, 95), ConfigError, /^udp MTU 67 \(underlay eth0 MTU 95 - 28\) is below 68$/);
  throwsLike(() => planUdp({ cluster: cluster(N, N[0]), underlay: underlay() }), Error, /planUdp called for vxlan/);
});

test('plan: a lone node still gets its device and route (peers may join later)', () => {
  const d = udp([N[0]]);
  assert.is(d.entries.length, 3);
  assert.equal(d.peers, []);
});

test('parse: recorded `ip -j -d -N addr show` with tun, tap and multi-queue devices', () => {
  const links = parseLinks(JSON.parse(readFileSync(FIX + 'tun.json', 'utf8')));
  const t = links.get('flannel0')!;
  assert.equal([t.kind, t.mtu, t.up, t.tun, t.addrs], ['tun', 1472, true, { type: 'tun', pi: false, persist: true, multiQueue: false }, [pfx('198.18.1.0/32')]]);
  assert.equal(links.get('tap9')!.tun, { type: 'tap', pi: false, persist: true, multiQueue: false });
  assert.equal(links.get('tunpi')!.tun, { type: 'tun', pi: true, persist: true, multiQueue: true });
  assert.not.ok('tun' in links.get('lo')!, 'other links keep their shape');
  const routes = parseRoutes(JSON.parse(readFileSync(FIX + 'tun-route.json', 'utf8')));
  assert.equal(routes, [{ dst: pfx('198.18.0.0/16'), via: undefined, dev: 'flannel0', onlink: false, proto: 244, type: undefined }]);
});

const DIFFS: Array<{ name: string; actual: () => ActualState; want: string[]; inSync: number }> = [
  { name: 'empty host: all added', actual: emptyActual, inSync: 0,
    want: ['add link:flannel0', 'add addr:flannel0/198.18.0.0/32', 'add route:198.18.0.0/16'].sort() },
  { name: 'in sync', actual: () => applied(), want: [], inSync: 3 },
  { name: 'MTU and down: changed in place', actual: () => applied({ mtu: 1400, up: false }), inSync: 2,
    want: ['change link:flannel0 (mtu 1400 -> 1472, down -> up)'] },
  { name: 'a tap device with our name: replaced, entries on it added again', actual: () => applied({ tun: { type: 'tap', pi: false, persist: true, multiQueue: false } }), inSync: 0,
    want: ['add addr:flannel0/198.18.0.0/32', 'add route:198.18.0.0/16', 'replace link:flannel0 (a tap device, not tun)'] },
  { name: 'flanneld\'s own non-persistent flannel0: replaced', actual: () => applied({ tun: { type: 'tun', pi: false, persist: false, multiQueue: false } }), inSync: 0,
    want: ['add addr:flannel0/198.18.0.0/32', 'add route:198.18.0.0/16', 'replace link:flannel0 (not persistent)'] },
  { name: 'a multi-queue tun: replaced', actual: () => applied({ tun: { type: 'tun', pi: false, persist: true, multiQueue: true } }), inSync: 0,
    want: ['add addr:flannel0/198.18.0.0/32', 'add route:198.18.0.0/16', 'replace link:flannel0 (multi-queue)'] },
  { name: 'a dummy device with our name: replaced', actual: () => applied({ kind: 'dummy', tun: undefined }), inSync: 0,
    want: ['add addr:flannel0/198.18.0.0/32', 'add route:198.18.0.0/16', 'replace link:flannel0 (not a tun device (dummy))'] },
  { name: 'stale address and per-peer routes left by vxlan: deleted', inSync: 3,
    actual: () => {
      const a = applied({ addrs: [pfx('198.18.0.0/32'), pfx('198.18.9.0/32')] });
      a.routes.push(route('198.18.1.0/24', '198.18.1.0', 'flannel.1', true));
      return a;
    },
    want: ['delete addr:flannel0/198.18.9.0/32', 'delete route:198.18.1.0/24'] },
  { name: 'our network route through another device: changed', inSync: 2,
    actual: () => {
      const a = applied();
      a.routes = [route('198.18.0.0/16', '192.0.2.1', 'eth0')];
      return a;
    },
    want: ['change route:198.18.0.0/16 (via 192.0.2.1 dev eth0 -> via - dev flannel0)'] },
];

for (const c of DIFFS) {
  test(`diff: ${c.name}`, () => {
    const r = diff(udp(), c.actual(), POLICY);
    assert.equal(summary(r.changes), c.want);
    assert.is(r.inSync, c.inSync);
  });
}

test('diff: a foreign route holding the network is a conflict, never touched', () => {
  const a = applied();
  a.routes = [{ dst: pfx('198.18.0.0/16'), dev: 'flannel0', onlink: false, proto: 3 }];
  const r = diff(udp(), a, POLICY);
  assert.equal(r.changes, []);
  assert.equal(r.adopted, ['route:198.18.0.0/16'], 'identical forwarding: adopted (flannel\'s own route)');
  a.routes = [{ dst: pfx('198.18.0.0/16'), via: ip('192.0.2.1'), dev: 'eth0', onlink: false, proto: 3 }];
  const r2 = diff(udp(), a, POLICY);
  assert.equal(r2.changes, []);
  assert.is(r2.conflicts.length, 1);
});

test('batch lines: persistent tun, MTU and up, address, device route with the protocol', () => {
  const ordered = orderChanges(diff(udp(), emptyActual(), POLICY).changes);
  assert.equal(toBatches(ordered).flatMap((b) => b.lines.map((l) => `${b.tool} ${l.line}`)), [
    'ip tuntap add dev flannel0 mode tun',
    'ip link set flannel0 mtu 1472 up',
    'ip addr replace 198.18.0.0/32 dev flannel0',
    'ip route add 198.18.0.0/16 dev flannel0 proto 244',
  ]);
  const change = diff(udp(), applied({ mtu: 1400 }), POLICY).changes[0];
  assert.equal(linesFor(change), [['ip', 'link set flannel0 mtu 1472']]);
  const replace = diff(udp(), applied({ tun: { type: 'tap', pi: false, persist: true, multiQueue: false } }), POLICY).changes.find((c) => c.kind === 'tun')!;
  assert.equal(linesFor(replace), [['ip', 'link del flannel0'], ['ip', 'tuntap add dev flannel0 mode tun'], ['ip', 'link set flannel0 mtu 1472 up']]);
  const stale = { kind: 'route' as const, dst: pfx('198.18.0.0/16'), dev: 'flannel0', onlink: false, proto: 244 };
  assert.equal(linesFor({ action: 'delete', kind: 'route', key: 'route:198.18.0.0/16', actual: stale }), [['ip', 'route del 198.18.0.0/16 dev flannel0 proto 244']]);
});

test('order: the device before its address and route; deleted after them', () => {
  const cs = diff(udp(), applied({ tun: { type: 'tap', pi: false, persist: true, multiQueue: false } }), POLICY).changes;
  assert.equal(orderChanges([...cs].reverse()).map((c) => c.kind), ['tun', 'addr', 'route']);
});

test('programmed: udp programs nothing per node, so overlaps are settled without it', () => {
  const isProgrammed = programmedCheck(applied(), config(UDP), POLICY);
  for (const n of N) assert.is(isProgrammed(n), false);
});

test('subnet.env: FLANNEL_MTU is the TUN\'s MTU (underlay - 28), as flannel writes it for udp', () => {
  for (const [u, want] of [[1500, 1472], [9000, 8972]] as const) {
    const env = subnetEnvFor(config(UDP), udp(N, u));
    assert.is(env.mtu, want, `underlay ${u}`);
    assert.match(renderSubnetEnv(env), new RegExp(`^FLANNEL_MTU=${want}$`, 'm'));
  }
});

test('flannel udp peers publish no backend type (etcd: none; Kubernetes: "" and backend-data null): accepted as udp', () => {
  const raw = { origin: 'Node node-b', name: 'node-b', publicIP: '192.0.2.11', subnet: '198.18.1.0/24' };
  const rows: Array<[unknown, boolean]> = [[undefined, true], ['', true], [null, true], ['udp', true], ['vxlan', false], ['host-gw', false]];
  for (const [backendType, ok] of rows) {
    assert.is(Boolean(validateNode({ ...raw, backendType }, config(UDP), true).node), ok, `udp cluster, backendType ${JSON.stringify(backendType)}`);
  }
  // Only udp reads an empty type as its own: a vxlan or host-gw cluster still leaves such a node out.
  assert.ok(validateNode({ ...raw, backendType: '' }, config({ type: 'host-gw' }), false).problem);
});

test.run();
