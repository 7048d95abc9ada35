// The kube: source driving real kernels: three nodes in network namespaces
// take their state from the fake API server and reach each other; a watch
// event adds and removes a peer on a node reconciled by a minimal daemon loop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applySnapshot, snapshot } from '../../src/engine/cycle.js';
import { openSource } from '../../src/sources/index.js';
import type { Source } from '../../src/sources/types.js';
import { ovlnet } from '../lib/cli.js';
import { FakeKube, FLANNEL_PREFIX as P, flannelAnnotations, netConfJSON } from '../lib/fake-kube.js';
import { defaultNodes, ipn, ping, sh, withTopology, type TestNode } from '../lib/netns.js';

const MACS = ['0a:58:c6:12:00:0a', '0a:58:c6:12:00:0b', '0a:58:c6:12:00:0c'];

async function withFake<T>(fn: (f: FakeKube) => Promise<T>): Promise<T> {
  const f = await FakeKube.start();
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

async function until(pred: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const routeTo = async (n: TestNode, subnet: string) => (await ipn(n.ns, 'route', 'show', subnet)).trim() !== '';

test('three nodes apply from the Kubernetes API and reach each other; one registers itself first', () => withFake((f) =>
  withTopology(defaultNodes(3), async (t) => {
    const [a, b, c] = t.nodes;
    f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16'));
    // node-a and node-b as flannel published them; node-c is new and registers through ovlnet.
    f.addNode({ name: a.name, podCIDR: a.subnet, annotations: flannelAnnotations(a.publicIP, MACS[0]) });
    f.addNode({ name: b.name, podCIDR: b.subnet, annotations: flannelAnnotations(b.publicIP, MACS[1]) });
    f.addNode({ name: c.name, podCIDR: c.subnet });
    const src = `kube:${f.writeKubeconfig(t.tmp)}`;

    const s = await openSource(src);
    let reg;
    try {
      reg = await s.register!({ nodeName: c.name, netns: c.ns, iface: 'eth0' });
    } finally {
      await s.close();
    }
    assert.is(reg.publicIP, c.publicIP, 'public IP found on --iface inside the namespace');
    assert.is(reg.subnet, c.subnet);
    assert.is(f.node(c.name)!.metadata.annotations[`${P}/public-ip`], c.publicIP);

    for (const n of t.nodes) {
      const r = await ovlnet(['apply', '--source', src, '--node', n.name, '--netns', n.ns]);
      assert.is(r.code, 0, r.stdout + r.stderr);
    }
    // The device carries the published MAC, so peers' neighbour entries are right.
    const dev = JSON.parse(await ipn(c.ns, '-j', 'link', 'show', 'flannel.1'))[0];
    assert.is(dev.address, reg.vtepMAC);
    for (const x of t.nodes) for (const y of t.nodes) {
      if (x !== y) assert.ok(await ping(x, y.podGateway), `${x.name} -> ${y.name}`);
    }
  })));

test('a watch event adds and then removes a peer on a running node', () => withFake((f) =>
  withTopology(defaultNodes(3), async (t) => {
    const [a, b, c] = t.nodes;
    f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16'));
    f.addNode({ name: a.name, podCIDR: a.subnet, annotations: flannelAnnotations(a.publicIP, MACS[0]) });
    f.addNode({ name: b.name, podCIDR: b.subnet, annotations: flannelAnnotations(b.publicIP, MACS[1]) });
    const src = `kube:${f.writeKubeconfig(t.tmp)}`;

    // A minimal daemon for node-a: one reconcile per change, serialised.
    const s: Source = await openSource(src);
    const errors: Error[] = [];
    let cycles = 0;
    let queue = Promise.resolve();
    const reconcile = () => {
      queue = queue.then(async () => {
        const opts = { netns: a.ns, node: a.name };
        await applySnapshot(await snapshot(s, opts), { ...opts, maxDelete: { kind: 'default' } });
        cycles++;
      }).catch((e) => { errors.push(e as Error); });
    };
    const stop = s.watch!({ onChange: reconcile, onError: (e) => errors.push(e) });
    try {
      await until(async () => cycles >= 1, 'the first reconcile');
      const rb = await ovlnet(['apply', '--source', src, '--node', b.name, '--netns', b.ns]);
      assert.is(rb.code, 0, rb.stderr);
      assert.ok(await ping(a, b.podGateway), 'a -> b');
      assert.not.ok(await routeTo(a, c.subnet));

      f.addNode({ name: c.name, podCIDR: c.subnet, annotations: flannelAnnotations(c.publicIP, MACS[2]) });
      const rc = await ovlnet(['apply', '--source', src, '--node', c.name, '--netns', c.ns]);
      assert.is(rc.code, 0, rc.stderr);
      await until(() => routeTo(a, c.subnet), 'node-a to program node-c');
      assert.ok(await ping(a, c.podGateway), 'a -> c after the ADDED event');

      const macOfC = async () => (await ipn(a.ns, 'neigh', 'show', 'dev', 'flannel.1')).includes(MACS[2]);
      assert.ok(await macOfC());
      f.deleteNode(c.name);
      // The route goes first; the neighbour and fdb entries follow in the same cycle.
      await until(async () => !(await routeTo(a, c.subnet)) && !(await macOfC()), 'node-a to remove node-c');
      assert.ok(await ping(a, b.podGateway), 'a -> b still');
      assert.equal(errors.map((e) => e.message), []);
    } finally {
      stop();
      await queue;
      await s.close();
    }
  })));

test('public-ip-overwrite is published for peers; the node\'s own device keeps its interface address', () => withFake((f) =>
  withTopology(defaultNodes(3), async (t) => {
    const [a, b, c] = t.nodes;
    // node-c sits behind a 1:1 NAT: peers reach it at 203.0.113.40, which is not on node-c.
    const NAT_IP = '203.0.113.40';
    await sh('ip', ['netns', 'exec', c.ns, 'iptables', '-t', 'nat', '-A', 'PREROUTING', '-d', NAT_IP, '-j', 'DNAT', '--to-destination', c.publicIP]);
    for (const n of [a, b]) await ipn(n.ns, 'route', 'add', `${NAT_IP}/32`, 'via', c.publicIP);
    f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16'));
    f.addNode({ name: a.name, podCIDR: a.subnet, annotations: flannelAnnotations(a.publicIP, MACS[0]) });
    f.addNode({ name: b.name, podCIDR: b.subnet, annotations: flannelAnnotations(b.publicIP, MACS[1]) });
    // As flannel leaves it: the overwrite published as public-ip.
    f.addNode({ name: c.name, podCIDR: c.subnet, annotations: flannelAnnotations(NAT_IP, MACS[2], { [`${P}/public-ip-overwrite`]: NAT_IP }) });
    const src = `kube:${f.writeKubeconfig(t.tmp)}`;

    for (const n of t.nodes) {
      const r = await ovlnet(['apply', '--source', src, '--node', n.name, '--netns', n.ns, '--iface', 'eth0']);
      assert.is(r.code, 0, r.stdout + r.stderr);
    }
    const dev = JSON.parse(await ipn(c.ns, '-j', '-d', 'link', 'show', 'flannel.1'))[0];
    assert.is(dev.linkinfo.info_data.local, c.publicIP, 'the vxlan device sends from the interface address');
    assert.match(await sh('bridge', ['-n', a.ns, 'fdb', 'show', 'dev', 'flannel.1']), `dst ${NAT_IP}`, 'peers send to the published address');
    assert.ok(await ping(c, a.podGateway), 'node-c -> node-a (egress from the overwritten node)');
    assert.ok(await ping(a, c.podGateway), 'node-a -> node-c through the NAT address');
    const d = await ovlnet(['diff', '--source', src, '--node', c.name, '--netns', c.ns, '--iface', 'eth0']);
    assert.is(d.code, 0, d.stdout + d.stderr);
  })));

test.run();
