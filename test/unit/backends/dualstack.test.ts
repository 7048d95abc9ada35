// Dual stack and IPv6-only clusters: validation, planners, rendering, host
// read helpers, diff over two devices, subnet.env, source mapping. 2001:db8::/32 only.
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
import { macFromName } from '../../../src/model/mac.js';
import type { BackendConfig, ClusterState, DesiredState, Entry, Node, RawConfig, RawNode, RouteEntry } from '../../../src/model/types.js';
import { planCleanup } from '../../../src/reconcile/cleanup.js';
import { diff } from '../../../src/reconcile/diff.js';
import { orderChanges } from '../../../src/reconcile/order.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { programmedCheck } from '../../../src/reconcile/programmed.js';
import { parseLeaseKey } from '../../../src/sources/etcd/codec.js';
import { parseClusterDocument } from '../../../src/sources/file.js';
import { annotationKeys, nodesToRaw } from '../../../src/sources/kube-map.js';
import { rawConfigFromObject } from '../../../src/sources/netconf.js';
import { validateCluster, validateConfig } from '../../../src/validate/index.js';
import { validateNode } from '../../../src/validate/nodes.js';
import { actualFrom, addChange, HOSTGW, ip, mac, pfx, throwsLike, underlay, VXLAN } from '../support/build.js';

// As the cluster file maps ovlnet's own key `ipv6Network`: IPv6 on unless enableIPv6 says otherwise.
const raw = (over: Partial<RawConfig>): RawConfig => ({ origin: 'c.yaml', ...(over.ipv6Network !== undefined ? { enableIPv6: true } : {}), ...over });

// ---- config -------------------------------------------------------------------

test('config: dual stack, IPv6-only and the IPv6 subnet length defaults', () => {
  const cases: Array<[Partial<RawConfig>, string, number, string | undefined, number | undefined]> = [
    [{ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48' }, '198.18.0.0/16', 24, '2001:db8:100::/48', 64],
    [{ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/63' }, '198.18.0.0/16', 24, '2001:db8:100::/63', 65],
    [{ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48', ipv6SubnetLen: 56 }, '198.18.0.0/16', 24, '2001:db8:100::/48', 56],
    // flannel's spelling: IPv6Network is ignored unless EnableIPv6.
    [{ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48', enableIPv6: false }, '198.18.0.0/16', 24, undefined, undefined],
    [{ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48', enableIPv6: true }, '198.18.0.0/16', 24, '2001:db8:100::/48', 64],
    // IPv6-only: the first family is IPv6.
    [{ ipv6Network: '2001:db8:100::/48' }, '2001:db8:100::/48', 64, undefined, undefined],
    [{ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48', enableIPv4: false, enableIPv6: true }, '2001:db8:100::/48', 64, undefined, undefined],
  ];
  for (const [over, net, len, net6, len6] of cases) {
    const c = validateConfig(raw(over));
    const what = JSON.stringify(over);
    assert.is(c.network.text, net, what);
    assert.is(c.subnetLen, len, what);
    assert.is(c.ipv6?.network.text, net6, what);
    assert.is(c.ipv6?.subnetLen, len6, what);
  }
});

test('config: IPv6 networks are refused like IPv4 ones', () => {
  const host = { addrs: [pfx('2001:db8:1::10/64'), pfx('192.0.2.10/24')] };
  const cases: Array<[Partial<RawConfig>, RegExp]> = [
    [{ ipv6Network: '::/0' }, /IPv6Network ::\/0 is a default route/],
    [{ ipv6Network: '2001:db8:100::1/48' }, /IPv6Network 2001:db8:100::1\/48 has host bits set/],
    [{ ipv6Network: '2001:db8:100::/125' }, /smaller than \/124/],
    [{ ipv6Network: 'fe80::/64' }, /overlaps reserved range fe80::\/10/],
    [{ ipv6Network: 'ff00::/16' }, /overlaps reserved range ff00::\/8/],
    [{ ipv6Network: '::/96' }, /overlaps reserved range ::\/8/],
    [{ ipv6Network: '198.18.0.0/16' }, /IPv6Network 198.18.0.0\/16 is not an IPv6 prefix/],
    [{ ipv6Network: 'nope' }, /IPv6Network "nope" is not a CIDR/],
    [{ ipv6Network: '2001:db8:100::/48', ipv6SubnetLen: 127 }, /IPv6SubnetLen must be an integer from 50 to 126/],
    [{ enableIPv6: true, network: '198.18.0.0/16' }, /EnableIPv6 is set but IPv6Network is missing/],
    [{ enableIPv6: 'yes', network: '198.18.0.0/16' }, /EnableIPv6 must be true or false/],
    [{ enableIPv4: false, network: '198.18.0.0/16' }, /EnableIPv4 and EnableIPv6 are both false/],
    [{ network: '2001:db8:100::/48' }, /only IPv4 pod networks are supported in Network; put an IPv6 one in IPv6Network/],
    [{ ipv6Network: '2001:db8:100::/48', backend: { type: 'vxlan', vni: 10000 } }, /flannel-v6.10000 is longer than the kernel's 15 characters/],
  ];
  for (const [over, re] of cases) throwsLike(() => validateConfig(raw(over), host), ConfigError, re);
  // The host's network containing the pod network: the underlay would be routed into pods.
  throwsLike(() => validateConfig(raw({ ipv6Network: '2001:db8:100::/48' }), { addrs: [pfx('2001:db8:ff::5/32')] }), ConfigError,
    /IPv6Network 2001:db8:100::\/48 overlaps this host's network 2001:db8::\/32/);
  // A host IPv4 network never collides with an IPv6 one.
  assert.is(validateConfig(raw({ ipv6Network: '2001:db8:100::/48' }), { addrs: [pfx('10.0.0.1/8')] }).network.text, '2001:db8:100::/48');
  // A VNI that fits flannel.<VNI> but not flannel-v6.<VNI> is fine without IPv6.
  assert.is(validateConfig(raw({ network: '198.18.0.0/16', backend: { type: 'vxlan', vni: 10000 } })).backend.type, 'vxlan');
  // The host's own addresses inside the pod network (VTEP, cni0) do not count as overlaps.
  const inside = { addrs: [pfx('2001:db8:100:1::1/64')] };
  assert.is(validateConfig(raw({ ipv6Network: '2001:db8:100::/48' }), inside).network.text, '2001:db8:100::/48');
});

test('config: IPv6 only when asked (issue 15.6): flannel\'s EnableIPv6 defaults to false in every source; ovlnet\'s cluster-file ipv6Network asks for it', () => {
  const v6 = (c: RawConfig) => validateConfig(c).ipv6?.network.text;
  const flannel = (o: Record<string, unknown>, origin: string) => rawConfigFromObject({ Network: '198.18.0.0/16', Backend: { Type: 'vxlan' }, ...o }, origin);
  // etcd config and Kubernetes net-conf: flannel's rule.
  for (const origin of ['etcd /coreos.com/network/config', 'ConfigMap kube-flannel-cfg net-conf.json']) {
    assert.is(v6(flannel({ IPv6Network: '2001:db8:100::/48' }, origin)), undefined, origin);
    assert.is(v6(flannel({ IPv6Network: '2001:db8:100::/48', EnableIPv6: false }, origin)), undefined, origin);
    assert.is(v6(flannel({ IPv6Network: '2001:db8:100::/48', EnableIPv6: true }, origin)), '2001:db8:100::/48', origin);
  }
  // The cluster file: flannel's spelling behaves as flannel, ovlnet's own key turns IPv6 on.
  const file = (doc: Record<string, unknown>) => parseClusterDocument({ network: '198.18.0.0/16', nodes: [], ...doc }, 'c.yaml').config;
  assert.is(v6(file({ IPv6Network: '2001:db8:100::/48' })), undefined);
  assert.is(v6(file({ IPv6Network: '2001:db8:100::/48', EnableIPv6: true })), '2001:db8:100::/48');
  assert.is(v6(file({ ipv6Network: '2001:db8:100::/48' })), '2001:db8:100::/48');
  assert.is(v6(file({ ipv6Network: '2001:db8:100::/48', enableIPv6: false })), undefined);
  assert.is(v6(file({ ipv6Network: '2001:db8:100::/48', EnableIPv6: false })), undefined);
  // IPv6-only: asked for, and no Network.
  assert.is(validateConfig(file({ network: undefined, ipv6Network: '2001:db8:100::/48' })).network.text, '2001:db8:100::/48');
  throwsLike(() => validateConfig(flannel({ Network: undefined, IPv6Network: '2001:db8:100::/48' }, 'etcd')), ConfigError, /Network is missing/);
});

test('validateCluster: an IPv6Network left off for want of EnableIPv6 is reported once; an explicit false is not', () => {
  const st = (o: Record<string, unknown>): ClusterState => ({
    config: rawConfigFromObject({ Network: '198.18.0.0/16', Backend: { Type: 'vxlan' }, ...o }, 'etcd /coreos.com/network/config'),
    nodes: [{ origin: 'lease a', name: 'a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24', vtepMAC: '0e:00:00:00:00:0a' }],
    warnings: [], namedNodes: true,
  });
  const off = validateCluster(st({ IPv6Network: '2001:db8:100::/48' }), { name: 'a' });
  assert.equal(off.problems.map((p) => `${p.subject}: ${p.message}`), ['etcd /coreos.com/network/config: IPv6Network: set without EnableIPv6: true; IPv6 stays off, as in flannel']);
  assert.equal(validateCluster(st({ IPv6Network: '2001:db8:100::/48', EnableIPv6: false }), { name: 'a' }).problems, []);
  assert.equal(validateCluster(st({}), { name: 'a' }).problems, []);
});

test('config: the cluster file and flannel spellings map the dual-stack keys', () => {
  const flannel = rawConfigFromObject({ Network: '198.18.0.0/16', IPv6Network: '2001:db8:100::/48', EnableIPv6: true, EnableIPv4: true, IPv6SubnetLen: 64 }, 'etcd');
  assert.equal([flannel.ipv6Network, flannel.enableIPv6, flannel.enableIPv4, flannel.ipv6SubnetLen], ['2001:db8:100::/48', true, true, 64]);
  const file = parseClusterDocument({
    network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48',
    nodes: [{ name: 'a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24', publicIPv6: '2001:db8:1::10', ipv6Subnet: '2001:db8:100::/64', vtepMACv6: '0e:00:00:00:06:0a' }],
  }, 'c.yaml');
  assert.is(file.config.ipv6Network, '2001:db8:100::/48');
  assert.equal([file.nodes[0].publicIPv6, file.nodes[0].ipv6Subnet, file.nodes[0].vtepMACv6], ['2001:db8:1::10', '2001:db8:100::/64', '0e:00:00:00:06:0a']);
});

// ---- nodes --------------------------------------------------------------------

const DUAL = validateConfig(raw({ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48' }));
const V6ONLY = validateConfig(raw({ ipv6Network: '2001:db8:100::/48' }));
const rawNode = (over: Partial<RawNode> = {}): RawNode => ({
  origin: 'c.yaml: nodes[1]', name: 'node-b', publicIP: '192.0.2.11', subnet: '198.18.1.0/24',
  publicIPv6: '2001:db8:1::11', ipv6Subnet: '2001:db8:100:1::/64', ...over,
});

test('nodes: a dual-stack node carries its IPv6 half; MACs default to the name-derived one', () => {
  const { node: n, problem } = validateNode(rawNode(), DUAL, false);
  assert.is(problem, undefined);
  assert.equal(n!.v6, { publicIP: ip('2001:db8:1::11'), subnet: pfx('2001:db8:100:1::/64'), vtepMAC: macFromName('node-b') });
  assert.is(validateNode(rawNode({ vtepMACv6: '0E:00:00:00:06:0B' }), DUAL, false).node!.v6!.vtepMAC.text, '0e:00:00:00:06:0b');
  // Without any IPv6 field: kept, IPv4 only.
  const v4only = validateNode(rawNode({ publicIPv6: undefined, ipv6Subnet: undefined }), DUAL, false);
  assert.ok(v4only.node && v4only.node.v6 === undefined);
  // IPv6-only: the IPv6 fields are the node's first family.
  const six = validateNode(rawNode({ publicIP: undefined, subnet: undefined }), V6ONLY, false).node!;
  assert.equal([six.publicIP.text, six.subnet.text, six.v6], ['2001:db8:1::11', '2001:db8:100:1::/64', undefined]);
});

test('nodes: bad IPv6 halves leave the node out, naming the field', () => {
  const cases: Array<[Partial<RawNode>, string, RegExp]> = [
    [{ publicIPv6: 'ff02::1' }, 'publicIPv6', /not a unicast address \(multicast\)/],
    [{ publicIPv6: '::1' }, 'publicIPv6', /loopback/],
    [{ publicIPv6: 'fe80::1' }, 'publicIPv6', /link-local/],
    [{ publicIPv6: '::' }, 'publicIPv6', /unspecified/],
    [{ publicIPv6: '192.0.2.11' }, 'publicIPv6', /192.0.2.11 is not IPv6/],
    [{ publicIPv6: '2001:db8:100:7::1' }, 'publicIPv6', /lies inside the pod network 2001:db8:100::\/48/],
    [{ publicIPv6: 'x y' }, 'publicIPv6', /"x y" is not an IP address/],
    [{ publicIPv6: undefined }, 'publicIPv6', /missing/],
    [{ ipv6Subnet: undefined }, 'ipv6Subnet', /missing/],
    [{ ipv6Subnet: '2001:db8:100:1::1/64' }, 'ipv6Subnet', /has host bits set/],
    [{ ipv6Subnet: '2001:db8:200::/64' }, 'ipv6Subnet', /not a subnet inside the network 2001:db8:100::\/48/],
    [{ ipv6Subnet: '2001:db8:100::/48' }, 'ipv6Subnet', /not a subnet inside/],
    [{ ipv6Subnet: '2001:db8:100::/127' }, 'ipv6Subnet', /too small/],
    [{ ipv6Subnet: '198.18.1.0/24' }, 'ipv6Subnet', /not a subnet inside/],
    [{ vtepMACv6: '01:00:5e:00:00:01' }, 'vtepMACv6', /not a unicast MAC \(multicast\)/],
    [{ vtepMACv6: 'zz' }, 'vtepMACv6', /not a MAC address/],
  ];
  for (const [over, field, re] of cases) {
    const { node: n, problem } = validateNode(rawNode(over), DUAL, false);
    assert.is(n, undefined, JSON.stringify(over));
    assert.is(problem?.subject, `node node-b (c.yaml: nodes[1]).${field}`, JSON.stringify(over));
    assert.match(problem!.message, re);
  }
  // Published MACs: a vxlan peer without its IPv6 VtepMAC can not be reached over IPv6.
  const { problem } = validateNode(rawNode({ vtepMAC: '0e:00:00:00:00:0b' }), DUAL, true);
  assert.match(problem!.message, /missing: a vxlan peer needs its published VtepMAC \(BackendV6Data\)/);
  assert.is(validateNode(rawNode({ vtepMAC: '0e:00:00:00:00:0b' }), { ...DUAL, backend: HOSTGW }, true).problem, undefined);
  // IPv6-only: the IPv4 fields are not consulted.
  assert.is(validateNode(rawNode({ publicIP: 'garbage', subnet: 'garbage' }), V6ONLY, false).problem, undefined);
});

function dualState(nodes: Array<Partial<RawNode>>): ClusterState {
  return {
    config: raw({ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48' }),
    nodes: nodes.map((o, i) => ({
      origin: `nodes[${i}]`, name: `n${i}`, publicIP: `192.0.2.${10 + i}`, subnet: `198.18.${i}.0/24`,
      publicIPv6: `2001:db8:1::${10 + i}`, ipv6Subnet: `2001:db8:100:${i}::/64`, ...o,
    })),
    warnings: [], namedNodes: true,
  };
}

test('cluster: IPv6 subnet overlaps follow the IPv4 rule; the loser is left out whole', () => {
  const c = validateCluster(dualState([{}, {}, { ipv6Subnet: '2001:db8:100:1::/64' }]), { name: 'n0' });
  assert.equal(c.nodes.map((n) => n.name), ['n0']);
  assert.equal(c.problems.map((p) => p.subject), ['node n1 (nodes[1]).ipv6Subnet', 'node n2 (nodes[2]).ipv6Subnet']);
  // The local node keeps its IPv6 subnet; a peer overlapping it is left out.
  const d = validateCluster(dualState([{}, { ipv6Subnet: '2001:db8:100::/63' }]), { name: 'n0' });
  assert.equal(d.nodes.map((n) => n.name), ['n0']);
  assert.match(d.problems[0].message, /overlaps this node n0 2001:db8:100::\/64/);
  // A programmed peer keeps its range.
  const e = validateCluster(dualState([{}, {}, { ipv6Subnet: '2001:db8:100:1::/64' }]), {
    name: 'n0', isProgrammed6: (n) => n.name === 'n1',
  });
  assert.equal(e.nodes.map((n) => n.name), ['n0', 'n1']);
});

test('cluster: the local node is found by its IPv6 address too', () => {
  assert.is(validateCluster(dualState([{}, {}]), { hostIPs: [ip('2001:db8:1::11')] }).local.name, 'n1');
  assert.is(validateCluster(dualState([{}, {}]), { publicIP: '2001:db8:1::10' }).local.name, 'n0');
  const six: ClusterState = { ...dualState([{}, {}]), config: raw({ ipv6Network: '2001:db8:100::/48' }) };
  assert.is(validateCluster(six, { hostIPs: [ip('2001:db8:1::11')] }).local.name, 'n1');
});

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
