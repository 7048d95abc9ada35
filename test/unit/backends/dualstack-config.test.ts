// Dual stack and IPv6-only clusters, configuration and nodes: validation of
// the dual-stack keys, IPv6 halves of nodes, overlaps. The planners, rendering,
// host read, diff and sources are in dualstack.test.ts. 2001:db8::/32 only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../../src/errors.js';
import { macFromName } from '../../../src/model/mac.js';
import type { ClusterState, RawConfig, RawNode } from '../../../src/model/types.js';
import { parseClusterDocument } from '../../../src/sources/file.js';
import { rawConfigFromObject } from '../../../src/sources/netconf.js';
import { validateCluster, validateConfig } from '../../../src/validate/index.js';
import { validateNode } from '../../../src/validate/nodes.js';
import { DUAL, raw, V6ONLY } from '../support/dualstack.js';
import { HOSTGW, ip, pfx, throwsLike, underlay } from '../support/build.js';


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

test.run();
