// `ovlnet daemon` end to end with the etcd and Kubernetes sources (the
// daemon's own e2e file covers the file source). The daemon runs as a child
// process for node-a in a network namespace with a long --interval, so only
// the source's watch can bring the changes in. Daemon, etcd, fake API server
// and namespaces are always stopped in a finally.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ovlnet } from '../lib/cli.js';
import { DaemonProcess, eventually, withDaemon as runDaemon } from '../lib/daemon.js';
import { flannelLease, grantLease, withEtcd } from '../lib/etcd.js';
import { FakeKube, FLANNEL_PREFIX, flannelAnnotations, netConfJSON } from '../lib/fake-kube.js';
import { defaultNodes, ipn, ping, withTopology } from '../lib/netns.js';

const [A, B, C] = defaultNodes(3);
const MACS = ['0e:00:00:00:0a:00', '0e:00:00:00:0a:01', '0e:00:00:00:0a:02'];
// Generous: the watch path is normally well under a second.
const DEADLINE_MS = 10_000;

const routes = (ns: string) => ipn(ns, 'route', 'show', 'proto', '244');
const neighs = (ns: string) => ipn(ns, 'neigh', 'show', 'dev', 'flannel.1');

/** The shared runner with this file's defaults: JSON logs, a resync a minute away (the watch must do the work). */
const withDaemon = (args: string[], fn: (d: DaemonProcess) => Promise<void>) => runDaemon(['--log-format', 'json', '--interval', '60s', ...args], fn);

/** Waits for a cycle started by the watch after log line `from` (proves the resync did not do it). */
async function appliedByWatch(d: DaemonProcess, from: number): Promise<void> {
  const line = await d.waitForMsg(/^cycle: applied/, DEADLINE_MS, from);
  assert.ok(Array.isArray(line.reason) && (line.reason as string[]).includes('watch'), line.raw);
}


/**
 * The watch cycle after log line `from` that applied a change naming `what`
 * planned only the Nodes the source's delta named (engine/incremental.ts).
 * Found by its change, not as the first watch cycle after `from`: the watch
 * event of this node's own registration can start a cycle (planned in full,
 * in sync) whose lines arrive after `from` was taken.
 */
async function plannedIncrementally(d: DaemonProcess, from: number, what: string): Promise<void> {
  const applied = await d.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('cycle: applied') && Array.isArray(l.changes) && (l.changes as string[]).some((c) => c.includes(what)),
    `the cycle that applied ${what}`, DEADLINE_MS, from);
  const line = await d.waitFor((l) => l.msg === 'cycle stages', `the stages of the cycle that applied ${what}`, DEADLINE_MS, d.lines.indexOf(applied));
  assert.ok(Array.isArray(line.reason) && (line.reason as string[]).includes('watch'), line.raw);
  assert.is(line.plan, 'incremental', d.log);
}

const NEW_MAC = '0e:00:00:00:0a:09';

/** The status PATCHes that published annotations (not the NetworkUnavailable condition). */
const annotationPatches = (f: FakeKube, name: string) => f.patches.filter((p) => p.name === name && (p.body as any).metadata);

/** Waits until the node's NetworkUnavailable condition satisfies ok; returns it. */
async function networkCondition(f: FakeKube, name: string, ok: (c: any) => boolean): Promise<any> {
  const get = async () => f.node(name)!.status.conditions.find((c: any) => c.type === 'NetworkUnavailable');
  await eventually(get, ok, `NetworkUnavailable condition of ${name}`, DEADLINE_MS);
  return get();
}

const P = '/coreos.com/network';
const leaseKey = (subnet: string) => `${P}/subnets/${subnet.replace('/', '-')}`;

test('etcd: a lease put while the daemon runs is routed, a deleted one unrouted (watch only)', async () => {
  await withEtcd(async (c) => {
    // node-a's lease is the first subnet, outside flannel's default SubnetMin: allow it, or the daemon re-allocates as flannel does.
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","SubnetMin":"198.18.0.0","Backend":{"Type":"vxlan"}}']);
    const id = await grantLease(c, 3600);
    for (const [i, s] of [A, B].entries()) await c.ctl(['put', `--lease=${id}`, leaseKey(s.subnet), flannelLease(s.publicIP, MACS[i])]);
    await withTopology([A, B], async (t) => {
      const [a, b] = t.nodes;
      const subnetFile = join(t.tmp, 'run', 'subnet.env');
      await withDaemon(['--source', c.uri(), '--netns', a.ns, '--public-ip', A.publicIP, '--subnet-file', subnetFile], async (d) => {
        await d.ready();
        assert.not.ok(d.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('cycle failed')), d.log);
        // The daemon took over node-a's lease (same public IP): same subnet, same MAC.
        const reg = await d.waitForMsg(/^registered this node/);
        assert.is(reg.subnet, A.subnet, reg.raw);
        assert.is(reg.vtep_mac, MACS[0], reg.raw);
        assert.match(readFileSync(subnetFile, 'utf8'), /^FLANNEL_SUBNET=198\.18\.0\.1\/24$/m);
        assert.match(await routes(a.ns), /198\.18\.1\.0\/24 via 198\.18\.1\.0 dev flannel\.1 .*onlink/);
        assert.not.match(await routes(a.ns), /198\.18\.2\.0/);
        const rb = await ovlnet(['apply', '--source', c.uri(), '--netns', b.ns]);
        assert.is(rb.code, 0, rb.stdout + rb.stderr);
        assert.ok(await ping(a, b.podGateway), 'node-a reaches node-b pods through the overlay');

        let from = d.lines.length;
        await c.ctl(['put', `--lease=${id}`, leaseKey(C.subnet), flannelLease(C.publicIP, MACS[2])]);
        await eventually(() => routes(a.ns), (r) => r.includes('198.18.2.0/24'), 'route to node-c after its lease was put', DEADLINE_MS);
        await eventually(() => neighs(a.ns), (n) => n.includes(MACS[2]), 'neighbour entry of node-c', DEADLINE_MS);
        await appliedByWatch(d, from);

        from = d.lines.length;
        await c.ctl(['del', leaseKey(C.subnet)]);
        await eventually(() => routes(a.ns), (r) => !r.includes('198.18.2.0/24'), 'route to node-c gone after its lease was deleted', DEADLINE_MS);
        await eventually(() => neighs(a.ns), (n) => !n.includes(MACS[2]), 'neighbour entry of node-c gone', DEADLINE_MS);
        await appliedByWatch(d, from);
        assert.match(await routes(a.ns), /198\.18\.1\.0\/24/, 'node-b stays');
        assert.ok(await ping(a, b.podGateway), 'node-a still reaches node-b');
      });
      // SIGTERM leaves the kernel and the lease as they are.
      assert.match(await routes(a.ns), /198\.18\.1\.0\/24/);
    });
  });
});

test('kube: a Node ADDED while the daemon runs is routed, a DELETED one unrouted (watch only)', async () => {
  const f = await FakeKube.start();
  try {
    f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16'));
    // node-a has its podCIDR but no flannel annotations yet: the daemon publishes them (status PATCH).
    // A cloud node: NetworkUnavailable=True until a network agent says otherwise.
    f.addNode({ name: A.name, podCIDR: A.subnet, internalIP: A.publicIP, networkUnavailable: true });
    f.addNode({ name: B.name, podCIDR: B.subnet, annotations: flannelAnnotations(B.publicIP, MACS[1]) });
    await withTopology([A], async (t) => {
      const ns = t.nodes[0].ns;
      const subnetFile = join(t.tmp, 'run', 'subnet.env');
      const kubeconfig = f.writeKubeconfig(t.tmp);
      await withDaemon(['--source', `kube:${kubeconfig}`, '--node', A.name, '--netns', ns, '--public-ip', A.publicIP, '--subnet-file', subnetFile, '--log-level', 'debug'], async (d) => {
        await d.ready();
        // The first cycle already sees the annotations it just published (not a stale watch cache).
        assert.not.ok(d.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('cycle failed')), d.log);
        const first = await d.waitForMsg(/^cycle: applied/);
        assert.equal(first.reason, ['start'], first.raw);
        const patches = annotationPatches(f, A.name);
        assert.is(patches.length, 1, JSON.stringify(f.patches));
        assert.is(patches[0].path, `/api/v1/nodes/${A.name}/status`);
        const ann = f.node(A.name)!.metadata.annotations;
        assert.is(ann[`${FLANNEL_PREFIX}/public-ip`], A.publicIP);
        const mac = JSON.parse(ann[`${FLANNEL_PREFIX}/backend-data`]).VtepMAC;
        assert.is(JSON.parse(await ipn(ns, '-j', 'link', 'show', 'flannel.1'))[0].address, mac, 'the device carries the published MAC');
        assert.ok(existsSync(subnetFile));
        assert.match(readFileSync(subnetFile, 'utf8'), /^FLANNEL_SUBNET=198\.18\.0\.1\/24$/m);
        assert.match(await routes(ns), /198\.18\.1\.0\/24 via 198\.18\.1\.0 dev flannel\.1 .*onlink/);
        assert.not.match(await routes(ns), /198\.18\.2\.0/);
        await f.waitForWatches(1);
        // The start's listing gives the watch no baseline: the first watch cycle (the echo of this
        // node's own annotation patch) plans in full and sets it. node-c comes after it, or it would
        // be planned in that full cycle (it was, once, when both arrived in one batch under load).
        await d.waitFor((l) => l.msg === 'cycle stages' && Array.isArray(l.reason) && (l.reason as string[]).includes('watch'), 'the first watch cycle', DEADLINE_MS);

        let from = d.lines.length;
        f.addNode({ name: C.name, podCIDR: C.subnet, annotations: flannelAnnotations(C.publicIP, MACS[2]) });
        await eventually(() => routes(ns), (r) => r.includes('198.18.2.0/24'), 'route to node-c after ADDED', DEADLINE_MS);
        await eventually(() => neighs(ns), (n) => n.includes(MACS[2]), 'neighbour entry of node-c', DEADLINE_MS);
        await appliedByWatch(d, from);

        await plannedIncrementally(d, from, '198.18.2.0/24');

        // A new VTEP MAC on node-b (MODIFIED): planned for node-b alone, and a
        // full plan against the kernel afterwards (diff) finds nothing to do.
        from = d.lines.length;
        f.modifyNode(B.name, (n) => { n.metadata.annotations = { ...n.metadata.annotations, ...flannelAnnotations(B.publicIP, NEW_MAC) }; });
        await eventually(() => neighs(ns), (n) => n.includes(NEW_MAC), 'node-b\'s new MAC', DEADLINE_MS);
        await appliedByWatch(d, from);
        await plannedIncrementally(d, from, NEW_MAC);
        const full = await ovlnet(['diff', '--source', `kube:${kubeconfig}`, '--node', A.name, '--netns', ns, '--public-ip', A.publicIP]);
        assert.is(full.code, 0, `incremental == full: ${full.stdout}${full.stderr}`);

        from = d.lines.length;
        f.deleteNode(C.name);
        await eventually(() => routes(ns), (r) => !r.includes('198.18.2.0/24'), 'route to node-c gone after DELETED', DEADLINE_MS);
        await eventually(() => neighs(ns), (n) => !n.includes(MACS[2]), 'neighbour entry of node-c gone', DEADLINE_MS);
        await appliedByWatch(d, from);
        assert.match(await routes(ns), /198\.18\.1\.0\/24/, 'node-b stays');
        assert.is(annotationPatches(f, A.name).length, 1, 'registered once');
        // As flanneld, once the network is up: NetworkUnavailable=False, reason FlannelIsUp, through nodes/status.
        const cond = await networkCondition(f, A.name, (c) => c?.status === 'False');
        assert.is(cond.reason, 'FlannelIsUp');
        assert.is(cond.message, 'Flannel is running on this node');
        assert.match(cond.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.is(cond.lastHeartbeatTime, cond.lastTransitionTime);
        const condPatches = f.patches.filter((p) => p.name === A.name && (p.body as any).status);
        assert.is(condPatches.length, 1, 'set once');
        assert.is(condPatches[0].path, `/api/v1/nodes/${A.name}/status`);
        assert.is(condPatches[0].contentType, 'application/strategic-merge-patch+json');
        assert.is(f.node(A.name)!.status.conditions.find((c: any) => c.type === 'Ready').status, 'True', 'other conditions stay');
      });
    });
  } finally {
    await f.close();
  }
});

test('kube: --no-set-node-network-unavailable leaves the NetworkUnavailable condition alone', async () => {
  const f = await FakeKube.start();
  try {
    f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16'));
    f.addNode({ name: A.name, podCIDR: A.subnet, networkUnavailable: true, annotations: flannelAnnotations(A.publicIP, MACS[0]) });
    await withTopology([A], async (t) => {
      const kubeconfig = f.writeKubeconfig(t.tmp);
      await withDaemon(['--source', `kube:${kubeconfig}`, '--node', A.name, '--netns', t.nodes[0].ns, '--public-ip', A.publicIP,
        '--subnet-file', join(t.tmp, 'subnet.env'), '--no-set-node-network-unavailable'], async (d) => {
        await d.ready();
      });
      // The condition would be patched right after the first converged cycle, long before the daemon stopped.
      assert.not.ok(f.patches.some((p) => (p.body as any).status), JSON.stringify(f.patches));
      assert.is(f.node(A.name)!.status.conditions.find((c: any) => c.type === 'NetworkUnavailable').status, 'True');
    });
  } finally {
    await f.close();
  }
});

test.run();
