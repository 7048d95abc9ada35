import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../src/errors.js';
import {
  annotationKeys, kubeTime, networkUpPatch, annotationPatch, ipv4PodCIDR, nodesToRaw, parseBackendData,
  publishedAnnotations, publishedVtepMAC, relevantKey, type KubeNode,
} from '../../src/sources/kube-map.js';

const P = 'flannel.alpha.coreos.com';
const keys = annotationKeys();

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

test('parseBackendData reads flannel\'s vxlan and host-gw values', () => {
  const cases: Array<[string | undefined, object]> = [
    ['{"VNI":1,"VtepMAC":"c6:d2:11:22:33:44"}', { vtepMAC: 'c6:d2:11:22:33:44' }],
    ['null', {}],
    ['', {}],
    [undefined, {}],
    ['{"VNI":1}', { vtepMAC: undefined }],
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
  const want = publishedAnnotations({ publicIP: '192.0.2.10', backendType: 'vxlan', vni: 1, vtepMAC: 'aa:bb:cc:dd:ee:01' }, keys);
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
    publicIP: '192.0.2.10', backendType: 'vxlan', vni: 1, vtepMAC: 'aa:bb:cc:dd:ee:01', publicIPv6: '2001:db8:1::10', vtepMACv6: 'aa:bb:cc:dd:ee:61',
  }, keys);
  assert.is(want[`${P}/public-ipv6`], '2001:db8:1::10');
  assert.is(want[`${P}/backend-v6-data`], '{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:61"}');
  const node = { metadata: { name: 'x', annotations: want } };
  assert.is(publishedVtepMAC(node, keys, 6), 'aa:bb:cc:dd:ee:61');
  assert.is(publishedVtepMAC(node, keys), 'aa:bb:cc:dd:ee:01');
  const hostgw = publishedAnnotations({ publicIP: '192.0.2.10', backendType: 'host-gw', publicIPv6: '2001:db8:1::10' }, keys);
  assert.is(hostgw[`${P}/backend-v6-data`], 'null');
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
