import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  annotationKeys, annotationPatch, ipv4PodCIDR, ipv6PodCIDR, nodesToRaw, overwrittenPublicIP, publishedVtepMAC, relevantKey, type KubeNode,
} from '../../../src/sources/kube-map.js';
import { leanNode, LineSplitter, listQuery, pageEnd, pageItems, parseWatchLine, watchStep } from '../../../src/sources/kube-wire.js';

const P = 'flannel.alpha.coreos.com';
const keys = annotationKeys();
const flannel = (ip: string, mac: string, extra: Record<string, unknown> = {}) => ({
  [`${P}/backend-data`]: JSON.stringify({ VNI: 1, VtepMAC: mac }),
  [`${P}/backend-type`]: 'vxlan',
  [`${P}/kube-subnet-manager`]: 'true',
  [`${P}/public-ip`]: ip,
  ...extra,
});

/** What a kubelet adds: none of it is read by ovlnet. */
const bulk = {
  managedFields: [{ manager: 'kubelet', operation: 'Update', fieldsV1: { 'f:status': { 'f:images': {} } } }],
  labels: { 'kubernetes.io/hostname': 'x' },
  uid: '6f1c2a4e-0000-4000-8000-000000000001',
};
const status = {
  images: [{ names: ['registry.k8s.io/pause:3.9'], sizeBytes: 321520 }],
  conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2024-05-01T10:05:00Z' }],
  addresses: [{ type: 'InternalIP', address: '192.0.2.10' }],
};

// Nodes as the API may send them, the odd ones included: every answer
// ovlnet derives from a Node must be the same from its lean copy.
const NODES: Array<[string, unknown]> = [
  ['flannel vxlan node', { metadata: { name: 'a', resourceVersion: '7', annotations: { ...flannel('192.0.2.10', '0a:58:c6:12:00:0a'), 'node.alpha.kubernetes.io/ttl': '0' }, ...bulk }, spec: { podCIDR: '198.18.0.0/24', podCIDRs: ['198.18.0.0/24'], providerID: 'aws:///x' }, status }],
  ['dual stack with overwrite', { metadata: { name: 'b', annotations: flannel('192.0.2.11', '0a:58:c6:12:00:0b', { [`${P}/public-ip-overwrite`]: '203.0.113.5', [`${P}/public-ipv6`]: '2001:db8::b', [`${P}/backend-v6-data`]: '{"VNI":1,"VtepMAC":"0a:58:c6:12:00:1b"}' }) }, spec: { podCIDR: '198.18.1.0/24', podCIDRs: ['198.18.1.0/24', '2001:db8:1::/64'] } }],
  ['unpublished node', { metadata: { name: 'c', annotations: { 'node.alpha.kubernetes.io/ttl': '0' } }, spec: { podCIDR: '198.18.2.0/24' } }],
  ['null annotations and podCIDRs', { metadata: { name: 'd', annotations: null }, spec: { podCIDR: '198.18.3.0/24', podCIDRs: null } }],
  ['no spec', { metadata: { name: 'e', annotations: flannel('192.0.2.14', '0a:58:c6:12:00:0e') } }],
  ['malformed values kept for validation', { metadata: { name: 'f', annotations: flannel('not-an-ip', 'zz', { [`${P}/backend-type`]: 42 }) }, spec: { podCIDR: 'garbage', podCIDRs: [] } }],
  ['empty podCIDR', { metadata: { name: 'g', annotations: flannel('192.0.2.16', '0a:58:c6:12:00:10') }, spec: { podCIDR: '' } }],
  ['host-gw null backend data', { metadata: { name: 'h', annotations: { ...flannel('192.0.2.17', ''), [`${P}/backend-data`]: 'null', [`${P}/backend-type`]: 'host-gw' } }, spec: { podCIDR: '198.18.7.0/24' } }],
];

test('leanNode keeps every answer ovlnet derives from a Node', () => {
  for (const [what, obj] of NODES) {
    const full = obj as KubeNode;
    const lean = leanNode(obj, keys)!;
    assert.equal(nodesToRaw([lean], keys), nodesToRaw([full], keys), what);
    assert.is(relevantKey(lean, keys), relevantKey(full, keys), what);
    assert.is(ipv4PodCIDR(lean), ipv4PodCIDR(full), what);
    assert.is(ipv6PodCIDR(lean), ipv6PodCIDR(full), what);
    assert.is(publishedVtepMAC(lean, keys), publishedVtepMAC(full, keys), what);
    assert.is(publishedVtepMAC(lean, keys, 6), publishedVtepMAC(full, keys, 6), what);
    assert.equal(overwrittenPublicIP(lean, keys), overwrittenPublicIP(full, keys), what);
    const want = flannel('192.0.2.99', '0a:58:c6:12:00:99') as Record<string, string>;
    assert.equal(annotationPatch(lean.metadata?.annotations, want), annotationPatch(full.metadata?.annotations, want), what);
  }
  // All nodes at once: the same RawNodes, warnings and order.
  const all = NODES.map(([, o]) => o as KubeNode);
  assert.equal(nodesToRaw(all.map((n) => leanNode(n, keys)!), keys), nodesToRaw(all, keys));
});

test('leanNode drops what ovlnet does not read, and keeps a custom prefix\'s annotations', () => {
  const lean = leanNode(NODES[0][1], keys)!;
  assert.equal(Object.keys(lean).sort(), ['metadata', 'spec']);
  assert.equal(Object.keys(lean.metadata!).sort(), ['annotations', 'name', 'resourceVersion']);
  assert.equal(Object.keys(lean.metadata!.annotations!).sort(), Object.keys(flannel('', '')).sort());
  assert.equal(lean.spec, { podCIDR: '198.18.0.0/24', podCIDRs: ['198.18.0.0/24'] });
  const custom = annotationKeys('example.com/net');
  const obj = { metadata: { name: 'x', annotations: { 'example.com/net-public-ip': '192.0.2.1', [`${P}/public-ip`]: '192.0.2.2' } } };
  assert.equal(leanNode(obj, custom)!.metadata!.annotations, { 'example.com/net-public-ip': '192.0.2.1' });
  for (const bad of [null, 'x', 3, []]) assert.is(leanNode(bad, keys), undefined, JSON.stringify(bad));
});

test('LineSplitter joins lines cut across chunks and keeps a last line without newline', () => {
  const cases: Array<[string[], string[]]> = [
    [['{"a":1}\n{"b":2}\n'], ['{"a":1}', '{"b":2}']],
    [['{"a"', ':1}\n{"b', '":2}\n'], ['{"a":1}', '{"b":2}']],
    [['{"a":1}\n\n\n', '{"b":2}'], ['{"a":1}', '{"b":2}']],
    [['', '\n'], []],
  ];
  for (const [chunks, want] of cases) {
    const s = new LineSplitter();
    const got = chunks.flatMap((c) => s.push(c));
    got.push(...s.end());
    assert.equal(got, want, JSON.stringify(chunks));
  }
  const small = new LineSplitter(8);
  assert.equal(small.push('0123456789abcdef'), []);
  assert.is(small.dropped, 1);
  assert.equal(small.push('gh\n{"c":3}\n'), ['gh', '{"c":3}'], 'the rest of an over-long line comes out as garbage the parser skips');
});

test('parseWatchLine: events, and what is not one', () => {
  const cases: Array<[string, ReturnType<typeof parseWatchLine>]> = [
    ['{"type":"ADDED","object":{"metadata":{"name":"a"}}}', { type: 'ADDED', object: { metadata: { name: 'a' } } }],
    ['{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}}', { type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } }],
    ['not json', undefined],
    ['[1,2]', undefined],
    ['{"object":{}}', undefined],
    ['null', undefined],
  ];
  for (const [line, want] of cases) assert.equal(parseWatchLine(line), want, line);
});

test('watchStep: 410 relists, other errors fail, bookmarks move the resourceVersion, Nodes come out lean', () => {
  const node = NODES[0][1] as Record<string, any>;
  const cases: Array<[string, unknown, ReturnType<typeof watchStep>]> = [
    ['ERROR', { kind: 'Status', code: 410, reason: 'Expired' }, { do: 'relist' }],
    ['ERROR', { kind: 'Status', code: 500, message: 'boom' }, { do: 'fail', code: 500, status: { kind: 'Status', code: 500, message: 'boom' } }],
    ['ERROR', 'garbage', { do: 'fail', code: 500, status: undefined }],
    ['BOOKMARK', { kind: 'Node', metadata: { resourceVersion: '12345' } }, { do: 'resume-at', resourceVersion: '12345' }],
    ['BOOKMARK', { kind: 'Node', metadata: {} }, { do: 'ignore' }],
    ['ADDED', node, { do: 'upsert', name: 'a', resourceVersion: '7', node: leanNode(node, keys)! }],
    ['MODIFIED', { metadata: { name: 'z' } }, { do: 'upsert', name: 'z', resourceVersion: undefined, node: { metadata: { name: 'z' } } }],
    ['DELETED', { metadata: { name: 'a', resourceVersion: '8' } }, { do: 'delete', name: 'a', resourceVersion: '8' }],
    ['ADDED', { metadata: {} }, { do: 'ignore' }],
    ['SOMETHING', { metadata: { name: 'a' } }, { do: 'ignore' }],
  ];
  for (const [type, object, want] of cases) assert.equal(watchStep({ type, object }, keys), want, `${type} ${JSON.stringify(object)}`);
});

test('list paging: the continue token leads to the next page, the first page\'s resourceVersion starts the watch', () => {
  assert.equal(listQuery(500), { limit: '500' });
  assert.equal(listQuery(500, 'tok'), { limit: '500', continue: 'tok' });
  const cases: Array<[unknown, ReturnType<typeof pageEnd>]> = [
    [{ metadata: { resourceVersion: '10', continue: 'tok', remainingItemCount: 3 } }, { next: 'tok', resourceVersion: '10' }],
    [{ metadata: { resourceVersion: '10', continue: '' } }, { resourceVersion: '10' }],
    [{ metadata: { resourceVersion: '10' } }, { resourceVersion: '10' }],
    [{}, { resourceVersion: '' }],
    [null, { resourceVersion: '' }],
  ];
  for (const [page, want] of cases) assert.equal(pageEnd(page), want, JSON.stringify(page));
  const items = pageItems({ items: [NODES[0][1], { metadata: {} }, null, NODES[1][1]] }, keys);
  assert.equal(items.map((n) => n.metadata?.name), ['a', 'b']);
  assert.equal(pageItems({ items: 'x' }, keys), []);
});

test.run();
