// The kube: source against a fake API server (test/lib/fake-kube.ts): reading
// nodes and the network config, errors, watching, publishing. No network
// namespaces here; kube-netns.test.ts programs real ones.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceError } from '../../src/errors.js';
import { openSource } from '../../src/sources/index.js';
import { loadKubeconfig } from '../../src/sources/kube.js';
import type { Source, SourceOptions } from '../../src/sources/types.js';
import { validateCluster } from '../../src/validate/index.js';
import { localNodeName } from '../../src/cli/load.js';
import { ovlnet } from '../lib/cli.js';
import { FakeKube, FLANNEL_PREFIX as P, flannelAnnotations, netConfJSON } from '../lib/fake-kube.js';

const CM = '/api/v1/namespaces/kube-flannel/configmaps/kube-flannel-cfg';
const CM_SYSTEM = '/api/v1/namespaces/kube-system/configmaps/kube-flannel-cfg';
const MACS = ['0a:58:c6:12:00:0a', '0a:58:c6:12:00:0b', '0a:58:c6:12:00:0c', '0a:58:c6:12:00:0d'];

interface Env {
  f: FakeKube;
  dir: string;
  kc: string;
  src: string;
}

async function withFake<T>(fn: (e: Env) => Promise<T>, seed = true): Promise<T> {
  const f = await FakeKube.start();
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-kube-'));
  try {
    const kc = f.writeKubeconfig(dir);
    if (seed) {
      f.setConfigMap('kube-flannel', netConfJSON());
      for (let i = 0; i < 3; i++) {
        f.addNode({ name: `node-${'abc'[i]}`, podCIDR: `198.18.${i}.0/24`, annotations: flannelAnnotations(`192.0.2.${10 + i}`, MACS[i]) });
      }
    }
    return await fn({ f, dir, kc, src: `kube:${kc}` });
  } finally {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withSource<T>(e: Env, fn: (s: Source) => Promise<T>, opts: SourceOptions = {}): Promise<T> {
  const s = await openSource(e.src, opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

/** Waits until pred() holds, polling; fails after a generous deadline. */
async function until(pred: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('plan from node annotations, podCIDRs and the kube-flannel ConfigMap', () => withFake(async ({ f, src }) => {
  const r = await ovlnet(['plan', '--source', src, '--node', 'node-a', '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.is(plan.backend, 'vxlan');
  assert.is(plan.device, 'flannel.1');
  assert.equal(plan.local, { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24', vtepMAC: MACS[0] });
  assert.equal(plan.peers.map((p: any) => [p.name, p.publicIP, p.subnet, p.vtepMAC]), [
    ['node-b', '192.0.2.11', '198.18.1.0/24', MACS[1]],
    ['node-c', '192.0.2.12', '198.18.2.0/24', MACS[2]],
  ]);
  assert.equal(plan.problems, []);
  // Every request carried the kubeconfig's bearer token.
  assert.ok(f.requests.length >= 2);
  for (const q of f.requests) assert.is(q.authorization, `Bearer ${f.token}`, `${q.method} ${q.path}`);
  assert.ok(f.requests.some((q) => q.path === CM));
}));

test('NODE_NAME picks the local node when --node is not given', () => withFake(async ({ src }) => {
  const r = await ovlnet(['plan', '--source', src, '-o', 'json'], { env: { NODE_NAME: 'node-b' } });
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).local.name, 'node-b');
  const env = { NODE_NAME: 'node-b' };
  assert.is(localNodeName({ source: src, node: 'node-c' }, env), 'node-c', '--node wins');
  assert.is(localNodeName({ source: src }, env), 'node-b');
  assert.is(localNodeName({ source: 'file:/x.yaml' }, env), undefined, 'only Kubernetes sources read NODE_NAME');
}));

test('a plain http:// server (kubectl proxy) works without insecure-skip-tls-verify; https:// keeps its verification', () => withFake(async ({ f, dir, kc }) => {
  const r = await ovlnet(['plan', '--source', `kube:${kc}`, '--node', 'node-a', '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).local.name, 'node-a');
  assert.ok(f.requests.some((q) => q.path === '/api/v1/nodes'), 'the nodes were listed over plain http');
  const loaded = loadKubeconfig(kc, {}).kc;
  assert.is(loaded.getCurrentCluster()?.server, f.url);
  // An explicit setting is kept as written.
  const explicit = f.writeKubeconfig(dir, f.token, 'explicit', ['insecure-skip-tls-verify: true']);
  assert.ok((await ovlnet(['nodes', '--source', `kube:${explicit}`])).code === 0);
  const tls = join(dir, 'tls');
  writeFileSync(tls, [
    'apiVersion: v1', 'kind: Config',
    'clusters: [{ name: a, cluster: { server: "https://127.0.0.1:1" } }, { name: b, cluster: { server: "http://127.0.0.1:2" } }]',
    'users: [{ name: u, user: { token: t } }]',
    'contexts: [{ name: a, context: { cluster: a, user: u } }, { name: b, context: { cluster: b, user: u } }]',
    'current-context: a', '',
  ].join('\n'));
  const both = loadKubeconfig(tls, {}).kc;
  assert.is(both.getCluster('a')?.skipTLSVerify, false, 'https:// still verifies');
  assert.is(both.getCluster('b')?.skipTLSVerify, true);
}));

test('without NODE_NAME, POD_NAME/POD_NAMESPACE find the node through the pod\'s spec.nodeName (as flanneld)', () => withFake(async (e) => {
  const { f, src } = e;
  f.addPod('kube-flannel', 'kube-flannel-ds-x7k2p', 'node-c');
  f.addPod('kube-flannel', 'pending', undefined);
  const pod = { POD_NAME: 'kube-flannel-ds-x7k2p', POD_NAMESPACE: 'kube-flannel' };
  const r = await ovlnet(['plan', '--source', src, '-o', 'json'], { env: pod });
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).local.name, 'node-c');
  assert.ok(f.requests.some((q) => q.method === 'GET' && q.path === '/api/v1/namespaces/kube-flannel/pods/kube-flannel-ds-x7k2p'));

  // NODE_NAME wins, without asking for the pod.
  const before = f.requests.length;
  const b = await ovlnet(['plan', '--source', src, '-o', 'json'], { env: { ...pod, NODE_NAME: 'node-b' } });
  assert.is(JSON.parse(b.stdout).local.name, 'node-b');
  assert.not.ok(f.requests.slice(before).some((q) => q.path.includes('/pods/')));

  // In process: register publishes the node the pod runs on; the lookup is made once per source.
  f.addNode({ name: 'node-p', podCIDR: '198.18.20.0/24' });
  f.addPod('kube-flannel', 'on-p', 'node-p');
  const reg = await withSource(e, async (s) => {
    const out = await s.register!({ publicIP: '192.0.2.60' });
    await s.load();
    return out;
  }, { env: { POD_NAME: 'on-p', POD_NAMESPACE: 'kube-flannel' } });
  assert.is(reg.subnet, '198.18.20.0/24');
  assert.is(f.patches.at(-1)!.name, 'node-p');
  assert.is(f.requests.filter((q) => q.path === '/api/v1/namespaces/kube-flannel/pods/on-p').length, 1);

  const unscheduled = await ovlnet(['plan', '--source', src], { env: { POD_NAME: 'pending', POD_NAMESPACE: 'kube-flannel' } });
  assert.is(unscheduled.code, 1);
  assert.match(unscheduled.stderr, /pod kube-flannel\/pending \(POD_NAMESPACE\/POD_NAME\) has no spec\.nodeName/);
  f.forbidden.add('GET /api/v1/namespaces/kube-flannel/pods/kube-flannel-ds-x7k2p');
  const denied = await ovlnet(['plan', '--source', src], { env: pod });
  assert.is(denied.code, 1);
  assert.match(denied.stderr, /cannot find this node's name from pod kube-flannel\/kube-flannel-ds-x7k2p .*forbidden to get pods in namespace kube-flannel/);
}));

test('nodes without kube-subnet-manager or podCIDR are left out with one warning each; a vxlan node needs its VtepMAC', () => withFake(async ({ f, src }) => {
  f.addNode({ name: 'fresh', podCIDR: '198.18.5.0/24' });
  f.addNode({ name: 'no-cidr', annotations: flannelAnnotations('192.0.2.21', MACS[3]) });
  const noMac = flannelAnnotations('192.0.2.22', 'x');
  delete noMac[`${P}/backend-data`];
  f.addNode({ name: 'no-mac', podCIDR: '198.18.6.0/24', annotations: noMac });
  f.addNode({ name: 'dual', podCIDRs: ['fd00:10:244:7::/64', '198.18.7.0/24'], annotations: flannelAnnotations('192.0.2.23', MACS[3]) });

  const r = await ovlnet(['nodes', '--source', src, '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.nodes.map((n: any) => n.name), ['dual', 'node-a', 'node-b', 'node-c']);
  assert.is(out.nodes[0].subnet, '198.18.7.0/24');
  const msgs: string[] = out.problems.map((p: any) => `${p.subject}: ${p.message}`);
  assert.is(msgs.filter((m) => m.includes('Node fresh')).length, 1, msgs.join('\n'));
  assert.match(msgs.find((m) => m.includes('Node fresh'))!, 'kube-subnet-manager="true"');
  assert.is(msgs.filter((m) => m.includes('Node no-cidr')).length, 1);
  assert.match(msgs.find((m) => m.includes('Node no-cidr'))!, 'no spec.podCIDR');
  assert.match(msgs.find((m) => m.includes('no-mac'))!, /vtepMAC: missing/);
  assert.is(msgs.length, 3, msgs.join('\n'));

  // The engine's validation sees the same: the plan still succeeds without them.
  const state = await withSource({ f, src } as Env, (s) => s.load());
  const v = validateCluster(state, { name: 'node-a' });
  assert.equal(v.nodes.map((n) => n.name), ['dual', 'node-a', 'node-b', 'node-c']);
  assert.is(v.problems.length, 3);
  // Asking for a left-out node says why, not "not in the source".
  assert.throws(() => validateCluster(state, { name: 'fresh' }), /node fresh is invalid: Node fresh: no annotation flannel\.alpha\.coreos\.com\/kube-subnet-manager="true"/);
  assert.throws(() => validateCluster(state, { name: 'no-cidr' }), /node no-cidr is invalid: .*no spec\.podCIDR assigned/);
}));

test('network config: a clear error when missing, kube-system fallback, --net-conf', () => withFake(async (e) => {
  const { f, dir, src } = e;
  f.configMaps.clear();
  const missing = await ovlnet(['plan', '--source', src, '--node', 'node-a']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, 'ConfigMap kube-flannel-cfg with net-conf.json not found in namespace kube-flannel or kube-system');
  assert.match(missing.stderr, 'hint: pass --net-conf FILE');

  f.setConfigMap('kube-system', netConfJSON('198.18.0.0/16', { Type: 'vxlan', VNI: 2 }));
  const legacy = await withSource(e, (s) => s.load());
  assert.is(legacy.config.origin, 'ConfigMap kube-system/kube-flannel-cfg key net-conf.json');
  assert.is(legacy.config.backend?.vni, 2);
  assert.ok(f.requests.some((q) => q.path === CM_SYSTEM));

  const file = join(dir, 'net-conf.json');
  writeFileSync(file, netConfJSON('198.18.0.0/16', { Type: 'vxlan', VNI: 4 }));
  const before = f.requests.length;
  const local = await withSource(e, (s) => s.load(), { netConf: file });
  assert.is(local.config.origin, file);
  assert.is(local.config.backend?.vni, 4);
  assert.not.ok(f.requests.slice(before).some((q) => q.path.includes('/configmaps/')), 'no ConfigMap read with --net-conf');
  const noFile = await withSource(e, (s) => rejects(s.load()), { netConf: join(dir, 'absent.json') });
  assert.match(noFile.message, /cannot read --net-conf .*absent.json: no such file/);

  f.setConfigMap('kube-flannel', undefined);
  const noKey = await withSource(e, (s) => rejects(s.load()));
  assert.match(noKey.message, 'ConfigMap kube-flannel/kube-flannel-cfg has no net-conf.json key');

  f.setConfigMap('kube-flannel', '{"Network": ');
  const bad = await withSource(e, (s) => rejects(s.load()));
  assert.match(bad.message, 'ConfigMap kube-flannel/kube-flannel-cfg key net-conf.json: invalid JSON');
}));

test('403 names the missing RBAC permission', () => withFake(async (e) => {
  const { f, src } = e;
  f.forbidden.add(`GET ${CM}`);
  const r = await ovlnet(['plan', '--source', src, '--node', 'node-a']);
  assert.is(r.code, 1);
  assert.match(r.stderr, 'forbidden to get configmaps in namespace kube-flannel');
  assert.match(r.stderr, 'hint: grant it to the account ovlnet runs as (see contrib/kubernetes/kube-ovlnet.yml)');

  // Readable in kube-system: that is enough.
  f.setConfigMap('kube-system', netConfJSON());
  const ok = await withSource(e, (s) => s.load());
  assert.is(ok.nodes.length, 3);

  f.forbidden.add('GET /api/v1/nodes');
  const nodes = await withSource(e, (s) => rejects(s.load()));
  assert.instance(nodes, SourceError);
  assert.match(nodes.message, 'forbidden to list nodes');
  assert.match(nodes.message, 'cannot list resource "nodes"');
}));

test('a wrong token is reported as rejected credentials; a missing kubeconfig or a server down by name', () => withFake(async (e) => {
  const { f, dir } = e;
  const bad = f.writeKubeconfig(dir, 'wrong-token', 'bad-kubeconfig');
  const r = await ovlnet(['plan', '--source', `kube:${bad}`, '--node', 'node-a']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /rejected the credentials from kubeconfig .*bad-kubeconfig \(401 Unauthorized\)/);
  assert.ok(f.requests.some((q) => q.authorization === 'Bearer wrong-token'));

  const missing = await rejects(openSource(`kube:${join(dir, 'nope')}`));
  assert.instance(missing, SourceError);
  assert.match(missing.message, /kubeconfig .*nope: no such file/);

  await f.close();
  const down = await withSource(e, (s) => rejects(s.load()));
  assert.match(down.message, `cannot reach the Kubernetes API at ${f.url} (ECONNREFUSED)`);
}));

test('watch reports ADDED, MODIFIED and DELETED, and ignores status-only updates', () => withFake(async (e) => {
  const { f } = e;
  await withSource(e, async (s) => {
    let changes = 0;
    const errors: Error[] = [];
    const stop = s.watch!({ onChange: () => changes++, onError: (err) => errors.push(err) });
    try {
      await until(() => changes >= 1 && f.openWatches === 1, 'the initial sync');
      const requestsAfterSync = f.requests.length;
      const names = async () => (await s.load()).nodes.map((n) => n.name);
      assert.equal(await names(), ['node-a', 'node-b', 'node-c']);
      assert.is(f.requests.length, requestsAfterSync + 1, 'load() reads nodes from the watch cache (only the ConfigMap is fetched)');

      let seen = changes;
      f.addNode({ name: 'node-d', podCIDR: '198.18.3.0/24', annotations: flannelAnnotations('192.0.2.13', MACS[3]) });
      await until(() => changes > seen, 'ADDED');
      assert.equal(await names(), ['node-a', 'node-b', 'node-c', 'node-d']);

      seen = changes;
      f.modifyNode('node-b', (n) => { n.status.conditions[0].lastHeartbeatTime = '2024-05-01T11:00:00Z'; });
      f.modifyNode('node-b', (n) => { n.metadata.annotations[`${P}/public-ip`] = '192.0.2.111'; });
      await until(() => changes > seen, 'MODIFIED');
      assert.is(changes, seen + 1, 'the heartbeat-only update triggered no reconcile');
      const b = (await s.load()).nodes.find((n) => n.name === 'node-b')!;
      assert.is(b.publicIP, '192.0.2.111');

      seen = changes;
      f.deleteNode('node-c');
      await until(() => changes > seen, 'DELETED');
      assert.equal(await names(), ['node-a', 'node-b', 'node-d']);

      assert.equal(errors, []);
      const w = f.watchRequests[0];
      assert.is(w.query.get('resourceVersion'), '1004', 'the watch starts at the list\'s resourceVersion');
      assert.is(f.listCount, 1, 'no re-list without 410');
    } finally {
      stop();
    }
  });
}));

test('410 Gone (during a watch, or when reconnecting) makes the source re-list and report the change', () => withFake(async (e) => {
  const { f } = e;
  await withSource(e, async (s) => {
    let changes = 0;
    const errors: Error[] = [];
    const stop = s.watch!({ onChange: () => changes++, onError: (err) => errors.push(err) });
    try {
      await until(() => changes >= 1 && f.openWatches === 1, 'the initial sync');
      const names = async () => (await s.load()).nodes.map((n) => n.name);

      // ERROR event with a 410 Status on the open watch; node-d was added
      // "during the compaction", so only a re-list can reveal it.
      let seen = changes;
      f.expireHistory(() => f.addNode({ name: 'node-d', podCIDR: '198.18.3.0/24', annotations: flannelAnnotations('192.0.2.13', MACS[3]) }));
      await until(() => changes > seen, 'the re-list after 410');
      assert.is(f.listCount, 2);
      assert.equal(await names(), ['node-a', 'node-b', 'node-c', 'node-d']);
      await f.waitForWatches(1);

      // The watch ends cleanly; meanwhile history was compacted, so the
      // reconnect at the old resourceVersion is answered 410 too.
      seen = changes;
      f.expireHistory(() => f.deleteNode('node-a'), { notify: false });
      f.closeWatches();
      await until(() => changes > seen, 'the re-list after a 410 on reconnect');
      assert.is(f.listCount, 3);
      assert.equal(await names(), ['node-b', 'node-c', 'node-d']);
      assert.equal(errors, [], '410 is routine, not an error');
    } finally {
      stop();
    }
  });
}));

test('watch errors are reported and retried until the API answers again', () => withFake(async (e) => {
  const { f } = e;
  f.forbidden.add('GET /api/v1/nodes');
  await withSource(e, async (s) => {
    let changes = 0;
    const errors: Error[] = [];
    const stop = s.watch!({ onChange: () => changes++, onError: (err) => errors.push(err) });
    try {
      await until(() => errors.length >= 1, 'the error report');
      assert.match(errors[0].message, 'forbidden to list nodes');
      assert.is(changes, 0);
      f.forbidden.clear();
      await until(() => changes >= 1 && f.openWatches === 1, 'recovery');
    } finally {
      stop();
    }
  });
}));

test('register publishes flannel\'s annotations with a strategic-merge patch of nodes/status, and keeps the MAC', () => withFake(async (e) => {
  const { f } = e;
  f.addNode({ name: 'node-x', podCIDRs: ['198.18.9.0/24', 'fd00:10:244:9::/64'], podCIDR: '198.18.9.0/24' });
  const first = await withSource(e, (s) => s.register!({ nodeName: 'node-x', publicIP: '192.0.2.30' }));
  assert.is(first.publicIP, '192.0.2.30');
  assert.is(first.subnet, '198.18.9.0/24');
  assert.match(first.vtepMAC!, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  const b0 = parseInt(first.vtepMAC!.slice(0, 2), 16);
  assert.is(b0 & 3, 2, 'locally administered unicast');

  assert.is(f.patches.length, 1);
  const p = f.patches[0];
  assert.is(p.path, '/api/v1/nodes/node-x/status');
  assert.is(p.contentType, 'application/strategic-merge-patch+json');
  assert.equal(p.body, {
    metadata: {
      annotations: {
        [`${P}/backend-data`]: `{"VNI":1,"VtepMAC":"${first.vtepMAC}"}`,
        [`${P}/backend-type`]: 'vxlan',
        [`${P}/public-ip`]: '192.0.2.30',
        [`${P}/kube-subnet-manager`]: 'true',
      },
    },
  });
  const published = f.requests.find((q) => q.method === 'PATCH')!;
  assert.is(published.authorization, `Bearer ${f.token}`);

  // A restart: same MAC, nothing to patch.
  const again = await withSource(e, (s) => s.register!({ nodeName: 'node-x', publicIP: '192.0.2.30', existingVtepMAC: '0a:00:00:00:00:99' }));
  assert.equal(again, first);
  assert.is(f.patches.length, 1, 'unchanged annotations are not patched again');

  // The node is now part of the cluster as everyone sees it.
  const state = await withSource(e, (s) => s.load());
  const x = validateCluster(state, { name: 'node-x' }).local;
  assert.is(x.vtepMAC.text, first.vtepMAC);
  assert.is(x.publicIP.text, '192.0.2.30');

  // A new public IP is published; the MAC stays.
  const moved = await withSource(e, (s) => s.register!({ nodeName: 'node-x', publicIP: '192.0.2.31' }));
  assert.is(moved.vtepMAC, first.vtepMAC);
  assert.equal(f.patches[1].body, { metadata: { annotations: { [`${P}/public-ip`]: '192.0.2.31' } } });
}));

test('register: existing device MAC, public-ip-overwrite, NODE_NAME-style option, host-gw', () => withFake(async (e) => {
  const { f } = e;
  f.addNode({ name: 'node-y', podCIDR: '198.18.10.0/24', annotations: { [`${P}/public-ip-overwrite`]: '203.0.113.40' } });
  const y = await withSource(e, (s) => s.register!({ publicIP: '192.0.2.40', existingVtepMAC: '0A:11:22:33:44:55' }), { nodeName: 'node-y' });
  // Published: the overwrite; the device binds to the host's own address.
  assert.equal(y, { publicIP: '203.0.113.40', localAddress: '192.0.2.40', subnet: '198.18.10.0/24', vtepMAC: '0a:11:22:33:44:55' });
  const ann = (f.patches[0].body as any).metadata.annotations;
  assert.is(ann[`${P}/public-ip`], '203.0.113.40');
  assert.is(ann[`${P}/backend-data`], '{"VNI":1,"VtepMAC":"0a:11:22:33:44:55"}');

  f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16', { Type: 'host-gw' }));
  f.addNode({ name: 'node-z', podCIDR: '198.18.11.0/24' });
  const z = await withSource(e, (s) => s.register!({ nodeName: 'node-z', publicIP: '192.0.2.41' }));
  assert.equal(z, { publicIP: '192.0.2.41', subnet: '198.18.11.0/24', vtepMAC: undefined });
  const zann = (f.patches[1].body as any).metadata.annotations;
  assert.is(zann[`${P}/backend-data`], 'null');
  assert.is(zann[`${P}/backend-type`], 'host-gw');
}));

test('register: a dual-stack node publishes its IPv6 half (public-ipv6, backend-v6-data) as flannel does', () => withFake(async (e) => {
  const { f } = e;
  f.setConfigMap('kube-flannel', JSON.stringify({ Network: '198.18.0.0/16', IPv6Network: 'fd00:10:244::/56', EnableIPv6: true, Backend: { Type: 'vxlan' } }));
  f.addNode({ name: 'node-d', podCIDRs: ['198.18.12.0/24', 'fd00:10:244:12::/64'], podCIDR: '198.18.12.0/24' });
  const d = await withSource(e, (s) => s.register!({ nodeName: 'node-d', publicIP: '192.0.2.42', publicIPv6: '2001:db8:1::42', existingVtepMACv6: '0a:00:00:00:06:42' }));
  assert.equal(d, { publicIP: '192.0.2.42', subnet: '198.18.12.0/24', vtepMAC: d.vtepMAC, publicIPv6: '2001:db8:1::42', subnet6: 'fd00:10:244:12::/64', vtepMACv6: '0a:00:00:00:06:42' });
  const ann = (f.patches[0].body as any).metadata.annotations;
  assert.is(ann[`${P}/public-ipv6`], '2001:db8:1::42');
  assert.is(ann[`${P}/backend-v6-data`], '{"VNI":1,"VtepMAC":"0a:00:00:00:06:42"}');
  // Every node reads it back with both halves.
  const state = await withSource(e, (s) => s.load());
  const me = validateCluster(state, { name: 'node-d' }).local;
  assert.is(me.v6?.publicIP.text, '2001:db8:1::42');
  assert.is(me.v6?.vtepMAC.text, '0a:00:00:00:06:42');
}));

test('register errors: missing node, no podCIDR, patch forbidden', () => withFake(async (e) => {
  const { f } = e;
  const gone = await withSource(e, (s) => rejects(s.register!({ nodeName: 'ghost', publicIP: '192.0.2.50' })));
  assert.instance(gone, SourceError);
  assert.match(gone.message, 'Node ghost does not exist');

  f.addNode({ name: 'waiting' });
  const nocidr = await withSource(e, (s) => rejects(s.register!({ nodeName: 'waiting', publicIP: '192.0.2.50' })));
  assert.match(nocidr.message, 'Node waiting has no IPv4 podCIDR assigned yet');

  f.addNode({ name: 'locked', podCIDR: '198.18.12.0/24' });
  f.forbidden.add('PATCH /api/v1/nodes/locked/status');
  const denied = await withSource(e, (s) => rejects(s.register!({ nodeName: 'locked', publicIP: '192.0.2.51' })));
  assert.match(denied.message, 'forbidden to patch nodes/status');
  assert.is(f.patches.length, 0);
}));

test('kubeconfig choice: kube:PATH, $KUBECONFIG (merged, missing files skipped), in-cluster', () => withFake(async ({ f, dir, kc }) => {
  assert.is(loadKubeconfig(kc, {}).where, `kubeconfig ${kc}`);

  const other = join(dir, 'other');
  writeFileSync(other, [
    'apiVersion: v1', 'kind: Config',
    'clusters: [{ name: other, cluster: { server: "https://192.0.2.200:6443" } }]',
    'users: [{ name: u2, user: { token: t2 } }]',
    'contexts: [{ name: other, context: { cluster: other, user: u2 } }]',
    'current-context: other', '',
  ].join('\n'));
  const merged = loadKubeconfig('', { KUBECONFIG: [join(dir, 'absent'), kc, other].join(':') });
  assert.is(merged.kc.getCurrentCluster()?.server, f.url, 'the first file\'s current-context wins');
  assert.equal(merged.kc.getContexts().map((c) => c.name).sort(), ['fake', 'other']);
  assert.throws(() => loadKubeconfig('', { KUBECONFIG: join(dir, 'absent') }), /KUBECONFIG .*no such file/);

  const garbage = join(dir, 'garbage');
  writeFileSync(garbage, 'clusters: [[[');
  assert.throws(() => loadKubeconfig(garbage, {}), (e: unknown) => e instanceof SourceError);

  // In a pod: KUBERNETES_SERVICE_HOST wins over $KUBECONFIG.
  const inCluster = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443', KUBECONFIG: kc };
  if (existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
    assert.is(loadKubeconfig('', inCluster).where, 'in-cluster service account');
  } else {
    assert.throws(() => loadKubeconfig('', inCluster), /KUBERNETES_SERVICE_HOST is set but there is no service account token/);
  }
}));

test.run();
