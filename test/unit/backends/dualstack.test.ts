// Dual stack and IPv6-only clusters: planners, rendering, host read helpers,
// diff over two devices, subnet.env, source mapping (configuration and nodes:
// dualstack-config.test.ts). 2001:db8::/32 only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { planHostGw } from '../../../src/backends/host-gw/plan.js';
import { planVxlan } from '../../../src/backends/vxlan/plan.js';
import { renderSubnetEnv, subnetEnvFor } from '../../../src/daemon/subnet-env.js';
import { ConfigError } from '../../../src/errors.js';
import { isIpBatchChange, linesFor, toBatches } from '../../../src/engine/batches.js';
import { mainTable } from '../../../src/host/read.js';
import { parseLinks, parseRoutes } from '../../../src/host/parse.js';
import type { BackendConfig, DesiredState, Entry, Node, RouteEntry } from '../../../src/model/types.js';
import { planCleanup } from '../../../src/reconcile/cleanup.js';
import { diff } from '../../../src/reconcile/diff.js';
import { orderChanges } from '../../../src/reconcile/order.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { programmedCheck } from '../../../src/reconcile/programmed.js';
import { parseLeaseKey } from '../../../src/sources/etcd/codec.js';
import { annotationKeys, nodesToRaw } from '../../../src/sources/kube-map.js';
import { DUAL, V6ONLY } from '../support/dualstack.js';
import { actualFrom, addChange, HOSTGW, ip, mac, pfx, throwsLike, underlay, VXLAN } from '../support/build.js';

// ---- planners -----------------------------------------------------------------

function dualNode(i: number, v6 = true): Node {
  const hex = i.toString(16).padStart(2, '0');
  const n: Node = {
    name: `node-${i}`, origin: `nodes[${i}]`,
    publicIP: ip(`192.0.2.${10 + i}`), subnet: pfx(`198.18.${i}.0/24`), vtepMAC: mac(`0e:00:00:00:00:${hex}`),
  };
  if (v6) n.v6 = { publicIP: ip(`2001:db8:1::${10 + i}`), subnet: pfx(`2001:db8:100:${i}::/64`), vtepMAC: mac(`0e:00:00:00:06:${hex}`) };
  return n;
}
const v6first = (n: Node): Node => ({ name: n.name, origin: n.origin, ...n.v6! });

function text(e: Entry): string {
  switch (e.kind) {
    case 'link': return `link ${e.name} local ${e.local.text} mtu ${e.mtu} mac ${e.mac.text}`;
    case 'addr': return `addr ${e.addr.text} dev ${e.dev}`;
    case 'neigh': return `neigh ${e.ip.text} ${e.mac.text} dev ${e.dev}`;
    case 'fdb': return `fdb ${e.mac.text} dst ${e.dst.text} dev ${e.dev}`;
    case 'route': return `route ${e.dst.text} via ${e.via?.text} dev ${e.dev}${e.onlink ? ' onlink' : ''}`;
    case 'sysctl': return `sysctl ${e.dev} ${e.name} ${e.value}`;
    default: return e.kind;
  }
}

const dualCluster = (nodes: Node[], local: Node, backend: BackendConfig = VXLAN) => ({
  config: { ...DUAL, backend }, nodes, problems: [], local,
});
const U = underlay({ connected: [pfx('192.0.2.0/24'), pfx('2001:db8:1::/64')] });

test('vxlan, dual stack: flannel.1 and flannel-v6.1, per-family neighbours, fdb and onlink routes', () => {
  const nodes = [dualNode(0), dualNode(1), dualNode(2, false)];
  const d = planVxlan({ cluster: dualCluster(nodes, nodes[0]), underlay: U });
  assert.is(d.device, 'flannel.1');
  assert.is(d.device6, 'flannel-v6.1');
  assert.equal(d.entries.map(text), [
    'link flannel.1 local 192.0.2.10 mtu 1450 mac 0e:00:00:00:00:00',
    'addr 198.18.0.0/32 dev flannel.1',
    'sysctl flannel.1 accept_ra 0',
    'link flannel-v6.1 local 2001:db8:1::10 mtu 1430 mac 0e:00:00:00:06:00',
    'addr 2001:db8:100::/128 dev flannel-v6.1',
    'sysctl flannel-v6.1 accept_ra 0',
    'neigh 198.18.1.0 0e:00:00:00:00:01 dev flannel.1',
    'neigh 198.18.2.0 0e:00:00:00:00:02 dev flannel.1',
    'neigh 2001:db8:100:1:: 0e:00:00:00:06:01 dev flannel-v6.1',
    'fdb 0e:00:00:00:00:01 dst 192.0.2.11 dev flannel.1',
    'fdb 0e:00:00:00:00:02 dst 192.0.2.12 dev flannel.1',
    'fdb 0e:00:00:00:06:01 dst 2001:db8:1::11 dev flannel-v6.1',
    'route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink',
    'route 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink',
    'route 2001:db8:100:1::/64 via 2001:db8:100:1:: dev flannel-v6.1 onlink',
  ]);
  assert.equal(d.problems.map((p) => p.message), ['no IPv6 subnet and public IPv6: reached over IPv4 only']);
  // A local node without IPv6 sets up IPv4 only, and says so.
  const e = planVxlan({ cluster: dualCluster(nodes, nodes[2]), underlay: U });
  assert.is(e.device6, undefined);
  assert.ok(e.entries.every((x) => !('dev' in x) || x.dev === 'flannel.1'));
  assert.match(e.problems[0].message, /this node has no IPv6 subnet/);
  // An explicit Backend.MTU is the underlay MTU of both devices (flannel): each gets it - 50, within the kernel's caps.
  const m = planVxlan({ cluster: dualCluster(nodes, nodes[0], { type: 'vxlan', vni: 1, port: 8472, directRouting: false, mtu: 1300 }), underlay: U });
  assert.equal(m.entries.flatMap((x) => (x.kind === 'link' ? [x.mtu] : [])), [1250, 1250]);
  const full = planVxlan({ cluster: dualCluster(nodes, nodes[0], { type: 'vxlan', vni: 1, port: 8472, directRouting: false, mtu: 1500 }), underlay: U });
  assert.equal(full.entries.flatMap((x) => (x.kind === 'link' ? [x.mtu] : [])), [1450, 1430]);
  // DirectRouting: an on-link IPv6 peer gets a direct route via its public IPv6.
  const dr = planVxlan({ cluster: dualCluster(nodes, nodes[0], { type: 'vxlan', vni: 1, port: 8472, directRouting: true }), underlay: U });
  assert.ok(dr.entries.map(text).includes('route 2001:db8:100:1::/64 via 2001:db8:1::11 dev eth0'));
});

test('vxlan, IPv6-only: one device flannel-v6.<VNI>, MTU underlay - 70, /128 address', () => {
  const nodes = [dualNode(0), dualNode(1)].map(v6first);
  const d = planVxlan({ cluster: { config: { ...V6ONLY, backend: VXLAN }, nodes, problems: [], local: nodes[0] }, underlay: U });
  assert.is(d.device, 'flannel-v6.1');
  assert.is(d.device6, undefined);
  assert.equal(d.entries.map(text), [
    'link flannel-v6.1 local 2001:db8:1::10 mtu 1430 mac 0e:00:00:00:06:00',
    'addr 2001:db8:100::/128 dev flannel-v6.1',
    'sysctl flannel-v6.1 accept_ra 0',
    'neigh 2001:db8:100:1:: 0e:00:00:00:06:01 dev flannel-v6.1',
    'fdb 0e:00:00:00:06:01 dst 2001:db8:1::11 dev flannel-v6.1',
    'route 2001:db8:100:1::/64 via 2001:db8:100:1:: dev flannel-v6.1 onlink',
  ]);
  throwsLike(() => planVxlan({ cluster: { config: { ...V6ONLY, backend: VXLAN }, nodes, problems: [], local: nodes[0] }, underlay: underlay({ mtu: 130 }) }),
    ConfigError, /underlay eth0 MTU 130 - 70\) is below 68/);
});

test('host-gw, dual stack: IPv6 routes via the peer\'s public IPv6; off-link peers reported per family', () => {
  const far = dualNode(3);
  far.v6!.publicIP = ip('2001:db8:2::13');
  const nodes = [dualNode(0), dualNode(1), far];
  const d = planHostGw({ cluster: dualCluster(nodes, nodes[0], HOSTGW), underlay: U });
  assert.equal(d.entries.map(text), [
    'route 198.18.1.0/24 via 192.0.2.11 dev eth0',
    'route 198.18.3.0/24 via 192.0.2.13 dev eth0',
    'route 2001:db8:100:1::/64 via 2001:db8:1::11 dev eth0',
  ]);
  assert.equal(d.problems.map((p) => p.message), [
    'public IP 2001:db8:2::13 is not on-link from eth0; host-gw needs layer-2 adjacency (use vxlan, or vxlan with DirectRouting)',
  ]);
  const six = [dualNode(0), dualNode(1)].map(v6first);
  const s = planHostGw({ cluster: { config: { ...V6ONLY, backend: HOSTGW }, nodes: six, problems: [], local: six[0] }, underlay: U });
  assert.equal(s.entries.map(text), ['route 2001:db8:100:1::/64 via 2001:db8:1::11 dev eth0']);
});

test('--ip-masq: iptables rules for the IPv4 network, ip6tables rules for the IPv6 one (as flannel)', () => {
  const nodes = [dualNode(0), dualNode(1)];
  const d = plan({ cluster: dualCluster(nodes, nodes[0]), underlay: U, host: { ipMasq: true } });
  const nat = d.entries.filter((e) => e.kind === 'nat') as Array<{ family?: 6; spec: string }>;
  assert.equal(nat.map((e) => e.family ?? 4), [4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6]);
  // Addresses of the rule's own family (the mark rule and the jump carry none).
  assert.ok(nat.filter((e) => / -[sd] /.test(` ${e.spec}`)).every((e) => e.spec.includes(':') === (e.family === 6)));
  assert.ok(nat.some((e) => e.spec.includes(`-s ${nodes[0].v6!.subnet.text} -d `)), 'the local IPv6 subnet');
  assert.equal(d.problems, []);
  const six = nodes.map(v6first);
  const s = plan({ cluster: { config: { ...V6ONLY, backend: VXLAN }, nodes: six, problems: [], local: six[0] }, underlay: U, host: { ipMasq: true } });
  assert.ok(s.entries.filter((e) => e.kind === 'nat').every((e) => (e as { family?: 6 }).family === 6));
  assert.ok(s.entries.some((e) => e.kind === 'nat'));
});

test('--iptables-forward-rules: FLANNEL-FWD for each family\'s network; off, none', () => {
  const nodes = [dualNode(0), dualNode(1)];
  const d = plan({ cluster: dualCluster(nodes, nodes[0]), underlay: U, host: { forwardRules: true } });
  const rules = d.entries.filter((e) => e.kind === 'filter') as Array<{ family?: 6; chain: string; spec: string }>;
  assert.equal(rules.map((e) => `${e.family ?? 4} ${e.chain} ${e.spec.replace(/ ?-m comment .*$/, '')}`.trim()), [
    `4 FLANNEL-FWD -s ${dualCluster(nodes, nodes[0]).config.network.text}`, `4 FLANNEL-FWD -d ${dualCluster(nodes, nodes[0]).config.network.text}`, '4 FORWARD',
    `6 FLANNEL-FWD -s ${dualCluster(nodes, nodes[0]).config.ipv6!.network.text}`, `6 FLANNEL-FWD -d ${dualCluster(nodes, nodes[0]).config.ipv6!.network.text}`, '6 FORWARD',
  ]);
  assert.not.ok(plan({ cluster: dualCluster(nodes, nodes[0]), underlay: U }).entries.some((e) => e.kind === 'filter'));
});

// ---- rendering ----------------------------------------------------------------

test('commands: IPv6 lines need no -6 (ip infers the family); the VTEP address skips DAD', () => {
  const nodes = [dualNode(0), dualNode(1)];
  const d = planVxlan({ cluster: dualCluster(nodes, nodes[0]), underlay: U });
  const lines = toBatches(orderChanges(d.entries.map(addChange).filter(isIpBatchChange))).map((b) => `${b.tool}: ${b.lines.map((l) => l.line).join(' | ')}`);
  assert.equal(lines, [
    'ip: link add flannel.1 address 0e:00:00:00:00:00 mtu 1450 type vxlan id 1 local 192.0.2.10 dev eth0 dstport 8472 nolearning | link set flannel.1 up'
      + ' | link add flannel-v6.1 address 0e:00:00:00:06:00 mtu 1430 type vxlan id 1 local 2001:db8:1::10 dev eth0 dstport 8472 nolearning | link set flannel-v6.1 up'
      + ' | addr replace 198.18.0.0/32 dev flannel.1 | addr replace 2001:db8:100::/128 dev flannel-v6.1 nodad'
      + ' | neigh replace 198.18.1.0 lladdr 0e:00:00:00:00:01 dev flannel.1 nud permanent | neigh replace 2001:db8:100:1:: lladdr 0e:00:00:00:06:01 dev flannel-v6.1 nud permanent',
    'bridge: fdb replace 0e:00:00:00:00:01 dev flannel.1 dst 192.0.2.11 self permanent | fdb replace 0e:00:00:00:06:01 dev flannel-v6.1 dst 2001:db8:1::11 self permanent',
    'ip: route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244 | route add 2001:db8:100:1::/64 via 2001:db8:100:1:: dev flannel-v6.1 onlink proto 244',
  ]);
  const route6 = d.entries.find((e) => e.kind === 'route' && e.dst.family === 6)! as RouteEntry;
  assert.equal(linesFor({ action: 'delete', kind: 'route', key: 'k', actual: route6 }), [['ip', 'route del 2001:db8:100:1::/64 via 2001:db8:100:1:: dev flannel-v6.1 proto 244']]);
});

// ---- host read ----------------------------------------------------------------

test('read: main table of both families from `route show table all`; an IPv6 default stays IPv6', () => {
  const recorded = [
    { dst: 'default', gateway: '192.0.2.1', dev: 'eth0', table: '254', protocol: '4', flags: [] },
    { dst: '198.18.1.0/24', gateway: '198.18.1.0', dev: 'flannel.1', table: '254', protocol: '244', flags: ['onlink'] },
    { dst: '203.0.113.0/24', gateway: '192.0.2.9', dev: 'eth0', table: '100', protocol: '4', flags: [] },
    { type: '2', dst: '192.0.2.10', dev: 'eth0', table: '255', protocol: '2', flags: [] },
    { dst: '2001:db8:100:1::/64', gateway: '2001:db8:100:1::', dev: 'flannel-v6.1', table: '254', protocol: '244', metric: 1024, flags: ['onlink'], pref: 'medium' },
    { dst: 'default', dev: 'eth0', table: '254', protocol: '3', metric: 1024, flags: [], pref: 'medium' },
    { dst: 'default', gateway: 'fe80::1', dev: 'eth0', protocol: '9', flags: [] },
    { type: '5', dst: 'ff00::/8', dev: 'eth0', table: '255', protocol: '2', flags: [], pref: 'medium' },
  ];
  const routes = parseRoutes(mainTable(recorded));
  assert.equal(routes.map((r) => `${r.dst.text} ${r.via?.text ?? '-'} ${r.dev} ${r.proto}${r.onlink ? ' onlink' : ''}`), [
    '0.0.0.0/0 192.0.2.1 eth0 4',
    '198.18.1.0/24 198.18.1.0 flannel.1 244 onlink',
    '2001:db8:100:1::/64 2001:db8:100:1:: flannel-v6.1 244 onlink',
    '::/0 - eth0 3',
    '::/0 fe80::1 eth0 9',
  ]);
});

test('parseLinks: an IPv6 vxlan device reports its local address (local6)', () => {
  const links = parseLinks([{
    ifindex: 5, ifname: 'flannel-v6.1', flags: ['UP'], mtu: 1430, address: '0e:00:00:00:06:00',
    linkinfo: { info_kind: 'vxlan', info_data: { id: 1, local6: '2001:db8:1::10', link: 'eth0', port: 8472, learning: false } },
    addr_info: [{ family: 'inet6', local: '2001:db8:100::', prefixlen: 128, scope: 'global' }, { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' }],
  }]);
  const l = links.get('flannel-v6.1')!;
  assert.is(l.vxlan?.local?.text, '2001:db8:1::10');
  assert.equal(l.addrs.map((a) => a.text), ['2001:db8:100::/128']);
});

// ---- diff, ownership, cleanup -------------------------------------------------

function dualDesired(): DesiredState {
  const nodes = [dualNode(0), dualNode(1), dualNode(2)];
  return planVxlan({ cluster: dualCluster(nodes, nodes[0]), underlay: U });
}
const policy = (d: DesiredState) => ownershipFor([d.device, d.device6]);

test('diff, dual stack: both devices in sync is clean; stale IPv6 entries are deleted; a fresh v6 device re-adds only its entries', () => {
  const d = dualDesired();
  const actual = actualFrom(d.entries);
  const clean = diff(d, actual, policy(d));
  assert.equal(clean.changes, []);
  assert.is(clean.inSync, d.entries.length);

  const stale = actualFrom(d.entries, {
    neighbors: [{ kind: 'neigh', dev: 'flannel-v6.1', ip: ip('2001:db8:100:9::'), mac: mac('0e:00:00:00:06:09') }],
    routes: [{ dst: pfx('2001:db8:100:9::/64'), via: ip('2001:db8:100:9::'), dev: 'flannel-v6.1', onlink: true, proto: 244 }],
  });
  assert.equal(diff(d, stale, policy(d)).changes.map((c) => `${c.action} ${c.key}`), [
    'delete neigh:flannel-v6.1/2001:db8:100:9::', 'delete route:2001:db8:100:9::/64',
  ]);

  // flannel-v6.1 missing: added with its own entries; flannel.1's stay in sync.
  const v4only = actualFrom(d.entries.filter((e) => !('dev' in e && e.dev === 'flannel-v6.1') && !(e.kind === 'link' && e.name === 'flannel-v6.1')));
  const r = diff(d, v4only, policy(d));
  assert.equal(r.changes.map((c) => `${c.action} ${c.key}`), [
    'add link:flannel-v6.1', 'add addr:flannel-v6.1/2001:db8:100::/128', 'add sysctl:flannel-v6.1/accept_ra',
    'add neigh:flannel-v6.1/2001:db8:100:1::', 'add neigh:flannel-v6.1/2001:db8:100:2::',
    'add fdb:flannel-v6.1/0e:00:00:00:06:01/2001:db8:1::11', 'add fdb:flannel-v6.1/0e:00:00:00:06:02/2001:db8:1::12',
    'add route:2001:db8:100:1::/64', 'add route:2001:db8:100:2::/64',
  ]);

  // A MAC change on flannel-v6.1 flushes its neighbours only.
  const moved = actualFrom(d.entries);
  moved.links.get('flannel-v6.1')!.mac = mac('0e:ff:00:00:06:00');
  assert.equal(diff(d, moved, policy(d)).changes.map((c) => `${c.action} ${c.key}`), [
    'change link:flannel-v6.1', 'change neigh:flannel-v6.1/2001:db8:100:1::', 'change neigh:flannel-v6.1/2001:db8:100:2::',
  ]);
});

test('diff: a foreign IPv6 route holding a peer subnet is a conflict, never touched', () => {
  const d = dualDesired();
  const actual = actualFrom(d.entries.filter((e) => !(e.kind === 'route' && e.dst.text === '2001:db8:100:1::/64')), {
    routes: [{ dst: pfx('2001:db8:100:1::/64'), via: ip('2001:db8:1::99'), dev: 'eth0', onlink: false, proto: 4 }],
  });
  const r = diff(d, actual, policy(d));
  assert.equal(r.changes, []);
  assert.equal(r.conflicts.map((c) => c.subject), ['route:2001:db8:100:1::/64']);
});

test('programmed: a node\'s IPv6 half is recognised through the same check', () => {
  const d = dualDesired();
  const check = programmedCheck(actualFrom(d.entries), DUAL, policy(d));
  assert.ok(check(v6first(dualNode(1))));
  const other = v6first(dualNode(1));
  other.vtepMAC = mac('0e:00:00:00:06:77');
  assert.not.ok(check(other));
});

test('cleanup: flannel-v6.<VNI> carrying ovlnet routes goes with its IPv6 routes', () => {
  const d = dualDesired();
  const p = planCleanup({ actual: actualFrom(d.entries) });
  assert.equal(p.changes.map((c) => `${c.action} ${c.key}`), [
    'delete route:198.18.1.0/24', 'delete route:198.18.2.0/24', 'delete route:2001:db8:100:1::/64', 'delete route:2001:db8:100:2::/64',
    'delete link:flannel.1', 'delete link:flannel-v6.1',
  ]);
  const byVni = planCleanup({ actual: actualFrom(d.entries.filter((e) => e.kind === 'link' || e.kind === 'addr')), vni: 1 });
  assert.equal(byVni.changes.map((c) => c.key), ['link:flannel.1', 'link:flannel-v6.1']);
});

// ---- subnet.env -----------------------------------------------------------------

test('subnet.env: IPv6 lines when IPv6 is enabled; the smaller MTU of the two devices', () => {
  const d = dualDesired();
  assert.is(renderSubnetEnv(subnetEnvFor(DUAL, d)), [
    '# written by ovlnet daemon',
    'FLANNEL_NETWORK=198.18.0.0/16', 'FLANNEL_SUBNET=198.18.0.1/24',
    'FLANNEL_IPV6_NETWORK=2001:db8:100::/48', 'FLANNEL_IPV6_SUBNET=2001:db8:100::1/64',
    'FLANNEL_MTU=1430', 'FLANNEL_IPMASQ=false', '',
  ].join('\n'));
  const six = [dualNode(0), dualNode(1)].map(v6first);
  const s = planVxlan({ cluster: { config: { ...V6ONLY, backend: VXLAN }, nodes: six, problems: [], local: six[0] }, underlay: U });
  assert.is(renderSubnetEnv(subnetEnvFor(V6ONLY, s, true)), [
    '# written by ovlnet daemon',
    'FLANNEL_IPV6_NETWORK=2001:db8:100::/48', 'FLANNEL_IPV6_SUBNET=2001:db8:100::1/64',
    'FLANNEL_MTU=1430', 'FLANNEL_IPMASQ=true', '',
  ].join('\n'));
});

// ---- sources ------------------------------------------------------------------

test('etcd lease keys: dual stack and IPv6-only', () => {
  const cases: Array<[string, string | undefined, string | undefined]> = [
    ['198.18.1.0-24&2001:db8:100:1::-64', '198.18.1.0/24', '2001:db8:100:1::/64'],
    ['0.0.0.0-0&2001:db8:100:1::-64', undefined, '2001:db8:100:1::/64'],
    ['&2001:db8:100:1::-64', undefined, '2001:db8:100:1::/64'],
    ['2001:db8:100:1::-64', undefined, '2001:db8:100:1::/64'],
    ['198.18.1.0-24', '198.18.1.0/24', undefined],
  ];
  for (const [key, v4, v6] of cases) {
    const got = parseLeaseKey(key);
    assert.is(got?.subnet?.text, v4, key);
    assert.is(got?.subnet6?.text, v6, key);
  }
  for (const bad of ['198.18.1.0-24&198.18.2.0-24', '1.2.3.4-0&2001:db8::-64x', '2001:db8::-64&2001:db8:1::-64']) assert.is(parseLeaseKey(bad), undefined, bad);
});

test('kube: the IPv6 podCIDR, public-ipv6 and backend-v6-data map to the IPv6 half', () => {
  const keys = annotationKeys();
  const P = 'flannel.alpha.coreos.com';
  const { nodes, warnings } = nodesToRaw([
    {
      metadata: {
        name: 'a', annotations: {
          [`${P}/kube-subnet-manager`]: 'true', [`${P}/public-ip`]: '192.0.2.10', [`${P}/public-ipv6`]: '2001:db8:1::10',
          [`${P}/backend-data`]: '{"VNI":1,"VtepMAC":"0e:00:00:00:00:0a"}', [`${P}/backend-v6-data`]: '{"VNI":1,"VtepMAC":"0e:00:00:00:06:0a"}',
        },
      },
      spec: { podCIDRs: ['198.18.0.0/24', '2001:db8:100::/64'] },
    },
    { metadata: { name: 'b', annotations: { [`${P}/kube-subnet-manager`]: 'true', [`${P}/backend-v6-data`]: '{oops' } }, spec: { podCIDR: '198.18.1.0/24' } },
  ], keys);
  assert.equal(nodes.map((n) => [n.name, n.subnet, n.publicIPv6, n.ipv6Subnet, n.vtepMACv6]), [
    ['a', '198.18.0.0/24', '2001:db8:1::10', '2001:db8:100::/64', '0e:00:00:00:06:0a'],
  ]);
  assert.match(warnings.join('\n'), /Node b: annotation flannel.alpha.coreos.com\/backend-v6-data is not valid JSON; left out/);
});

test.run();
