import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../../src/errors.js';
import {
  annotationKeys, kubeTime, networkUpPatch, annotationPatch, ipv4PodCIDR, nodesToRaw, parseBackendData,
  publishedAnnotations, publishedVtepMAC, relevantKey, type KubeNode,
} from '../../../src/sources/kube-map.js';

const P = 'flannel.alpha.coreos.com';
const keys = annotationKeys();
const VXLAN = { type: 'vxlan', vni: 1, port: 8472, directRouting: false } as const;
// RFC 7748's X25519 test vector public keys, in wg's base64.
const PUB_A = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=';
const PUB_B = '3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=';

test('annotationKeys follows flannel\'s prefix rules', () => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, `${P}/backend-data`],
    [P, `${P}/backend-data`],
    ['example.com', 'example.com/backend-data'],
    ['example.com/', 'example.com/backend-data'],
    ['example.com/net', 'example.com/net-backend-data'],
    ['example.com/net-', 'example.com/net-backend-data'],
  ];
  for (const [prefix, want] of cases) assert.is(annotationKeys(prefix).backendData, want, String(prefix));
  assert.is(annotationKeys('example.com/net').publicIPOverwrite, 'example.com/net-public-ip-overwrite');
  for (const bad of ['a/b/c', 'Example.com', 'nodots', 'example.com/a b', '']) {
    assert.throws(() => annotationKeys(bad), (e: unknown) => e instanceof UsageError, bad);
  }
});

test('ipv4PodCIDR picks the first IPv4 entry, podCIDRs before podCIDR', () => {
  const cases: Array<[KubeNode['spec'], string | undefined]> = [
    [{ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] }, '10.244.1.0/24'],
    [{ podCIDR: '10.244.1.0/24' }, '10.244.1.0/24'],
    [{ podCIDR: 'fd00:10:244:1::/64', podCIDRs: ['fd00:10:244:1::/64', '10.244.1.0/24'] }, '10.244.1.0/24'],
    [{ podCIDRs: ['fd00::/64'] }, undefined],
    [{}, undefined],
    [null, undefined],
    [{ podCIDR: '' }, undefined],
    // Malformed: passed through so validation names the field.
    [{ podCIDR: 'garbage' }, 'garbage'],
  ];
  for (const [spec, want] of cases) assert.is(ipv4PodCIDR({ spec }), want, JSON.stringify(spec));
});

test('parseBackendData reads flannel\'s vxlan, wireguard and host-gw values', () => {
  const cases: Array<[string | undefined, object]> = [
    ['{"VNI":1,"VtepMAC":"c6:d2:11:22:33:44"}', { vtepMAC: 'c6:d2:11:22:33:44', data: { VNI: 1, VtepMAC: 'c6:d2:11:22:33:44' } }],
    [`{"PublicKey":"${PUB_A}","Port":51820}`, { vtepMAC: undefined, data: { PublicKey: PUB_A, Port: 51820 } }],
    ['null', {}],
    ['', {}],
    [undefined, {}],
    ['{"VNI":1}', { vtepMAC: undefined, data: { VNI: 1 } }],
    ['{bad', { error: 'is not valid JSON' }],
    ['[1]', { error: 'is not a JSON object' }],
    ['"str"', { error: 'is not a JSON object' }],
  ];
  for (const [text, want] of cases) assert.equal(parseBackendData(text), want, String(text));
});

function node(name: string, annotations: Record<string, string> | undefined, spec: KubeNode['spec']): KubeNode {
  return { metadata: { name, annotations }, spec };
}

const managed = (ip: string, mac: string, extra: Record<string, string> = {}) => ({
  [`${P}/kube-subnet-manager`]: 'true',
  [`${P}/backend-type`]: 'vxlan',
  [`${P}/backend-data`]: JSON.stringify({ VNI: 1, VtepMAC: mac }),
  [`${P}/public-ip`]: ip,
  ...extra,
});

test('nodesToRaw maps annotations and leaves out unmanaged or subnet-less nodes with one warning each', () => {
  const { nodes, warnings, leftOut, overwritten } = nodesToRaw([
    node('node-c', managed('192.0.2.12', '0a:00:00:00:00:0c'), { podCIDR: '198.18.2.0/24', podCIDRs: ['198.18.2.0/24'] }),
    node('node-a', managed('192.0.2.10', '0a:00:00:00:00:0a', { [`${P}/public-ip-overwrite`]: '203.0.113.10' }), { podCIDR: '198.18.0.0/24' }),
    node('unmanaged', { [`${P}/public-ip`]: '192.0.2.20' }, { podCIDR: '198.18.5.0/24' }),
    node('no-annotations', undefined, { podCIDR: '198.18.6.0/24' }),
    node('no-cidr', managed('192.0.2.21', '0a:00:00:00:00:21'), {}),
    node('v6-only', managed('192.0.2.22', '0a:00:00:00:00:22'), { podCIDRs: ['fd00::/64'] }),
    node('bad-data', { ...managed('192.0.2.23', 'x'), [`${P}/backend-data`]: '{oops' }, { podCIDR: '198.18.7.0/24' }),
    node('false-flag', managed('192.0.2.24', '0a:00:00:00:00:24', { [`${P}/kube-subnet-manager`]: 'false' }), { podCIDR: '198.18.8.0/24' }),
  ], keys);
  // An IPv6-only node is kept for validation to judge (it knows whether the network is IPv6).
  assert.equal(nodes.map((n) => n.name), ['node-a', 'node-c', 'v6-only']);
  assert.is(nodes[2].ipv6Subnet, 'fd00::/64');
  assert.is(nodes[2].subnet, undefined);
  assert.equal(nodes[0], {
    origin: 'Node node-a', name: 'node-a', publicIP: '203.0.113.10', subnet: '198.18.0.0/24', vtepMAC: '0a:00:00:00:00:0a', backendType: 'vxlan',
    backendData: { VNI: 1, VtepMAC: '0a:00:00:00:00:0a' },
  });
  assert.is(nodes[1].publicIP, '192.0.2.12');
  assert.equal(overwritten, ['node-a'], 'the overwritten node is named, so the local one keeps its own address');
  assert.is(warnings.length, 5, warnings.join('\n'));
  const byNode = (n: string) => warnings.filter((w) => w.startsWith(`Node ${n}:`));
  for (const n of ['unmanaged', 'no-annotations', 'false-flag']) {
    assert.is(byNode(n).length, 1, n);
    assert.match(byNode(n)[0], `${P}/kube-subnet-manager="true"`);
  }
  assert.match(byNode('no-cidr')[0], 'no spec.podCIDR');
  assert.match(byNode('bad-data')[0], 'backend-data is not valid JSON');
  for (const w of warnings) assert.match(w, /left out$/);
  assert.equal(leftOut.map((l) => l.name), ['unmanaged', 'no-annotations', 'no-cidr', 'bad-data', 'false-flag'].sort());
  assert.match(leftOut.find((l) => l.name === 'no-cidr')!.reason, 'Node no-cidr: no spec.podCIDR assigned');
});

test('nodesToRaw uses the configured prefix only', () => {
  const custom = annotationKeys('example.com/net');
  const ann = { 'example.com/net-kube-subnet-manager': 'true', 'example.com/net-public-ip': '192.0.2.10', 'example.com/net-backend-data': 'null' };
  const r = nodesToRaw([node('a', ann, { podCIDR: '198.18.0.0/24' }), node('b', managed('192.0.2.11', '0a:00:00:00:00:0b'), { podCIDR: '198.18.1.0/24' })], custom);
  assert.equal(r.nodes.map((n) => n.name), ['a']);
  assert.is(r.nodes[0].vtepMAC, undefined);
  assert.is(r.warnings.length, 1);
});

test('relevantKey ignores status and unrelated annotations', () => {
  const a = node('a', managed('192.0.2.10', '0a:00:00:00:00:0a'), { podCIDR: '198.18.0.0/24' });
  const b = { ...node('a', { ...managed('192.0.2.10', '0a:00:00:00:00:0a'), 'other/x': 'y' }, { podCIDR: '198.18.0.0/24' }), status: { conditions: [] } } as KubeNode;
  assert.is(relevantKey(a, keys), relevantKey(b, keys));
  const c = node('a', managed('192.0.2.99', '0a:00:00:00:00:0a'), { podCIDR: '198.18.0.0/24' });
  assert.is.not(relevantKey(a, keys), relevantKey(c, keys));
  const d = node('a', managed('192.0.2.10', '0a:00:00:00:00:0a'), { podCIDR: '198.18.9.0/24' });
  assert.is.not(relevantKey(a, keys), relevantKey(d, keys));
});

test('publishedAnnotations and annotationPatch write what flannel writes, only when it differs', () => {
  const want = publishedAnnotations({ publicIP: '192.0.2.10', backendType: 'vxlan', backend: VXLAN, vtepMAC: 'aa:bb:cc:dd:ee:01' }, keys);
  assert.equal(want, {
    [`${P}/backend-data`]: '{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:01"}',
    [`${P}/backend-type`]: 'vxlan',
    [`${P}/public-ip`]: '192.0.2.10',
    [`${P}/kube-subnet-manager`]: 'true',
  });
  assert.is(publishedAnnotations({ publicIP: '192.0.2.10', backendType: 'host-gw' }, keys)[`${P}/backend-data`], 'null');
  assert.equal(annotationPatch({}, want), { metadata: { annotations: want } });
  assert.equal(annotationPatch(null, want), { metadata: { annotations: want } });
  assert.is(annotationPatch({ ...want, other: 'x' }, want), undefined);
  assert.equal(annotationPatch({ ...want, [`${P}/public-ip`]: '192.0.2.99' }, want), { metadata: { annotations: { [`${P}/public-ip`]: '192.0.2.10' } } });
});

test('publishedAnnotations: a dual-stack node publishes public-ipv6 and backend-v6-data, as flannel', () => {
  const want = publishedAnnotations({
    publicIP: '192.0.2.10', backendType: 'vxlan', backend: VXLAN, vtepMAC: 'aa:bb:cc:dd:ee:01', publicIPv6: '2001:db8:1::10', vtepMACv6: 'aa:bb:cc:dd:ee:61',
  }, keys);
  assert.is(want[`${P}/public-ipv6`], '2001:db8:1::10');
  assert.is(want[`${P}/backend-v6-data`], '{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:61"}');
  const node = { metadata: { name: 'x', annotations: want } };
  assert.is(publishedVtepMAC(node, keys, 6), 'aa:bb:cc:dd:ee:61');
  assert.is(publishedVtepMAC(node, keys), 'aa:bb:cc:dd:ee:01');
  const hostgw = publishedAnnotations({ publicIP: '192.0.2.10', backendType: 'host-gw', publicIPv6: '2001:db8:1::10' }, keys);
  assert.is(hostgw[`${P}/backend-v6-data`], 'null');
});

// flanneld's wireguard node (pkg/subnet/kube writes attrs.BackendData as it is):
// read into a node with its BackendData, and written back unchanged.
const FLANNEL_WG: Array<[string, Record<string, string>, unknown, unknown]> = [
  ['flannel >= 0.26.6 (with Port)', { [`${P}/backend-data`]: `{"PublicKey":"${PUB_A}","Port":51820}` }, { PublicKey: PUB_A, Port: 51820 }, undefined],
  ['older flannel (key only)', { [`${P}/backend-data`]: `{"PublicKey":"${PUB_A}"}` }, { PublicKey: PUB_A }, undefined],
  ['dual stack: backend-v6-data with its own port', {
    [`${P}/backend-data`]: `{"PublicKey":"${PUB_A}","Port":51820}`, [`${P}/public-ipv6`]: '2001:db8:1::10', [`${P}/backend-v6-data`]: `{"PublicKey":"${PUB_A}","Port":51821}`,
  }, { PublicKey: PUB_A, Port: 51820 }, { PublicKey: PUB_A, Port: 51821 }],
];

for (const [name, extra, data, data6] of FLANNEL_WG) {
  test(`nodesToRaw: a wireguard node of ${name} carries its BackendData for the backend`, () => {
    const ann = { [`${P}/kube-subnet-manager`]: 'true', [`${P}/backend-type`]: 'wireguard', [`${P}/public-ip`]: '192.0.2.10', ...extra };
    const { nodes, warnings } = nodesToRaw([node('node-a', ann, { podCIDRs: ['198.18.0.0/24', '2001:db8:100::/64'] })], keys);
    assert.equal(warnings, []);
    assert.equal(nodes[0].backendData, data);
    assert.equal(nodes[0].backendDataV6, data6);
    assert.is(nodes[0].backendType, 'wireguard');
  });
}

test('nodesToRaw: a vxlan node keeps its VtepMAC and a host-gw node (null) has no BackendData', () => {
  const { nodes } = nodesToRaw([
    node('a', managed('192.0.2.10', '0a:00:00:00:00:0a'), { podCIDR: '198.18.0.0/24' }),
    node('b', { ...managed('192.0.2.11', 'x'), [`${P}/backend-type`]: 'host-gw', [`${P}/backend-data`]: 'null' }, { podCIDR: '198.18.1.0/24' }),
  ], keys);
  assert.is(nodes[0].vtepMAC, '0a:00:00:00:00:0a');
  assert.not.ok('backendData' in nodes[1]);
});

test('publishedAnnotations: a wireguard node publishes its key as flanneld does, and a flanneld node\'s annotations round-trip unchanged', () => {
  const local = { data: { PublicKey: PUB_B, Port: 51820 }, data6: { PublicKey: PUB_B, Port: 51821 } };
  const want = publishedAnnotations({ publicIP: '192.0.2.11', backendType: 'wireguard', local, publicIPv6: '2001:db8:1::11' }, keys);
  assert.equal(want, {
    [`${P}/backend-data`]: `{"PublicKey":"${PUB_B}","Port":51820}`,
    [`${P}/backend-type`]: 'wireguard',
    [`${P}/public-ip`]: '192.0.2.11',
    [`${P}/kube-subnet-manager`]: 'true',
    [`${P}/public-ipv6`]: '2001:db8:1::11',
    [`${P}/backend-v6-data`]: `{"PublicKey":"${PUB_B}","Port":51821}`,
  });
  // What flanneld (v0.28) wrote for this node, with the same key file: nothing to patch.
  const flanneld = {
    [`${P}/backend-data`]: `{"PublicKey":"${PUB_B}","Port":51820}`, [`${P}/backend-type`]: 'wireguard', [`${P}/public-ip`]: '192.0.2.11',
    [`${P}/kube-subnet-manager`]: 'true', [`${P}/public-ipv6`]: '2001:db8:1::11', [`${P}/backend-v6-data`]: `{"PublicKey":"${PUB_B}","Port":51821}`,
  };
  const read = nodesToRaw([node('node-b', flanneld, { podCIDRs: ['198.18.1.0/24', '2001:db8:100:1::/64'] })], keys).nodes[0];
  const again = publishedAnnotations({ publicIP: String(read.publicIP), backendType: 'wireguard', publicIPv6: String(read.publicIPv6),
    local: { data: read.backendData as typeof local.data, data6: read.backendDataV6 as typeof local.data } }, keys);
  assert.is(annotationPatch(flanneld, again), undefined);
  // A new key on this host (the key file was replaced): only backend-data and backend-v6-data change.
  const moved = publishedAnnotations({ publicIP: '192.0.2.11', backendType: 'wireguard', publicIPv6: '2001:db8:1::11',
    local: { data: { PublicKey: PUB_A, Port: 51820 }, data6: { PublicKey: PUB_A, Port: 51821 } } }, keys);
  assert.equal(Object.keys(annotationPatch(flanneld, moved)!.metadata.annotations).sort(), [`${P}/backend-data`, `${P}/backend-v6-data`]);
});

test('publishedVtepMAC accepts only unicast MACs', () => {
  const cases: Array<[string | undefined, string | undefined]> = [
    ['{"VNI":1,"VtepMAC":"AA:BB:CC:DD:EE:02"}', 'aa:bb:cc:dd:ee:02'],
    ['{"VNI":1,"VtepMAC":"01:00:5e:00:00:01"}', undefined],
    ['{"VNI":1,"VtepMAC":"nope"}', undefined],
    ['null', undefined],
    [undefined, undefined],
  ];
  for (const [data, want] of cases) {
    const ann: Record<string, string> = data === undefined ? {} : { [`${P}/backend-data`]: data };
    assert.is(publishedVtepMAC({ metadata: { name: 'x', annotations: ann } }, keys), want, String(data));
  }
});

test('networkUpPatch: the NetworkUnavailable=False condition flanneld patches, timestamps as metav1.Time', () => {
  const at = new Date('2026-12-03T09:01:02.345Z');
  assert.is(kubeTime(at), '2026-12-03T09:01:02Z');
  assert.equal(networkUpPatch(at), {
    status: {
      conditions: [{
        type: 'NetworkUnavailable', status: 'False', reason: 'FlannelIsUp', message: 'Flannel is running on this node',
        lastTransitionTime: '2026-12-03T09:01:02Z', lastHeartbeatTime: '2026-12-03T09:01:02Z',
      }],
    },
  });
});

test.run();
