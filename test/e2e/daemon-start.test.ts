// What `ovlnet daemon` asks its source on the way to the first converged
// cycle. etcd, counted with its own gRPC server metrics: one listing, the
// registration's, which the first cycle takes with this node's lease as
// written (no second listing of the same leases); no lease expiry lookups
// (no decision of the daemon needs one; at 5 000 leases they were 5 000
// calls); a watch that goes on from that listing's revision, so a lease
// another node writes after it is programmed, instead of listing again. Kubernetes: the Nodes listed once (the first cycle waits
// for the watch's first list instead of listing too), unless registration
// had to publish this node's annotations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { ovlnet } from '../lib/cli.js';
import { DaemonProcess, eventually, withDaemon } from '../lib/daemon.js';
import { Logger } from '../../src/daemon/logger.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { Reconciler } from '../../src/daemon/reconciler.js';
import { parseMaxDelete } from '../../src/reconcile/guard.js';
import { openSource } from '../../src/sources/index.js';
import type { Source } from '../../src/sources/types.js';
import { etcdCalls, flannelLease, grantLease, withEtcd, type EtcdCluster } from '../lib/etcd.js';
import { FakeKube, flannelAnnotations, netConfJSON } from '../lib/fake-kube.js';
import { defaultNodes, ipn, withTopology } from '../lib/netns.js';

const [A, B, C] = defaultNodes(3);
const MACS = ['0e:00:00:00:0b:00', '0e:00:00:00:0b:01', '0e:00:00:00:0b:02'];
const P = '/coreos.com/network';
const leaseKey = (subnet: string) => `${P}/subnets/${subnet.replace('/', '-')}`;
/** Range requests of one listing of a small cluster: the config key, then one page of subnets/. */
const LIST = 2;
const DEADLINE_MS = 15_000;

/** Calls etcd has answered so far: listings' range requests and lease expiry lookups. */
async function calls(c: EtcdCluster): Promise<{ range: number; timeToLive: number }> {
  return { range: await etcdCalls(c, 'etcdserverpb.KV', 'Range'), timeToLive: await etcdCalls(c, 'etcdserverpb.Lease', 'LeaseTimeToLive') };
}

/**
 * flannel's network config (node-a's lease is the first subnet, outside
 * flannel's default SubnetMin: allowed, or the daemon re-allocates as flannel
 * does), and a lease for each of `nodes` with its VTEP MAC, each under an etcd
 * lease of its own, as flanneld keeps them.
 */
async function seedEtcd(c: EtcdCluster, nodes: Array<{ spec: { subnet: string; publicIP: string }; mac: string }>): Promise<void> {
  await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","SubnetMin":"198.18.0.0","Backend":{"Type":"vxlan"}}']);
  for (const n of nodes) await c.ctl(['put', `--lease=${await grantLease(c, 3600)}`, leaseKey(n.spec.subnet), flannelLease(n.spec.publicIP, n.mac)]);
}
const NODE_A_B = [{ spec: A, mac: MACS[0] }, { spec: B, mac: MACS[1] }];

test('etcd: the daemon lists once before it is ready (the registration\'s listing serves the first cycle), looks up no lease expiry, its watch needs no listing of its own, and it compacts its heap once after the start', async () => {
  await withEtcd(async (c) => {
    await seedEtcd(c, NODE_A_B);
    await withTopology([A, B], async (t) => {
      const a = t.nodes[0];
      const before = await calls(c);
      await withDaemon(['--log-format', 'json', '--log-level', 'debug', '--interval', '60s', '--source', c.uri(), '--netns', a.ns,
        '--public-ip', A.publicIP, '--subnet-file', join(t.tmp, 'run', 'subnet.env')], async (d) => {
        await d.ready(DEADLINE_MS);
        const ready = await calls(c);
        assert.is(ready.timeToLive - before.timeToLive, 0, `no lease expiry looked up\n${d.log}`);
        assert.is(ready.range - before.range, LIST, `one listing, to register; the first cycle takes it\n${d.log}`);

        // A lease put after the start: the watch brings it in, from the first cycle's listing on.
        const from = d.lines.length;
        await c.ctl(['put', `--lease=${await grantLease(c, 3600)}`, leaseKey(C.subnet), flannelLease(C.publicIP, MACS[2])]);
        await eventually(() => ipn(a.ns, 'neigh', 'show', 'dev', 'flannel.1'), (n) => n.includes(MACS[2]), 'neighbour entry of node-c after its lease was put', DEADLINE_MS);
        const line = await d.waitForMsg(/^cycle: applied/, DEADLINE_MS, from);
        assert.equal(line.reason, ['watch'], line.raw);
        const after = await calls(c);
        assert.is(after.range, ready.range, `the watch and its cycle sent no range request\n${d.log}`);
        assert.is(after.timeToLive, ready.timeToLive, 'the watch cycle looked up no expiry');
        // The start's garbage is compacted away once after the first converged cycle (heap-compact.ts), not after later cycles.
        await d.waitForMsg(/^heap compacted after the start$/, DEADLINE_MS);
        assert.is(d.lines.filter((l) => l.msg === 'heap compacted after the start').length, 1, d.log);
      });
    });
  });
});

test('etcd: a lease another node writes between the registration\'s listing and the watch start is programmed (the watch goes on from that listing)', async () => {
  await withEtcd(async (c) => {
    await seedEtcd(c, NODE_A_B);
    await withTopology([A], async (t) => {
      const ns = t.nodes[0].ns;
      const lines: string[] = [];
      const log = new Logger({ format: 'json', level: 'debug', write: (s) => lines.push(s) });
      const source = await openSource(c.uri(), { leaseExpiries: false });
      // The daemon's source, except that node-c's lease is written as soon as this node's registration returns:
      // after the registration's listing, before the first cycle reads the source and the watch starts.
      const racing: Source = {
        uri: source.uri,
        watchResumesLoad: source.watchResumesLoad,
        load: (o) => source.load(o),
        update: () => source.update!(),
        watch: (h) => source.watch!(h),
        close: () => source.close(),
        register: async (o) => {
          const r = await source.register!(o);
          await c.ctl(['put', `--lease=${await grantLease(c, 3600)}`, leaseKey(C.subnet), flannelLease(C.publicIP, MACS[2])]);
          return r;
        },
      };
      let changes = 0;
      let stop: (() => void) | undefined;
      try {
        const rec = new Reconciler({ source: racing, cycle: { netns: ns, publicIP: A.publicIP }, maxDelete: parseMaxDelete('100%'), log, metrics: new DaemonMetrics() });
        const neigh = () => ipn(ns, 'neigh', 'show', 'dev', 'flannel.1');
        const r = (await calls(c)).range;
        assert.ok(await rec.run(['start']), lines.join(''));
        assert.is((await calls(c)).range - r, LIST, 'the start cycle lists once, to register');
        const first = await neigh();
        assert.match(first, new RegExp(`lladdr ${MACS[1]}`), 'node-b, listed at registration');
        assert.not.match(first, new RegExp(`lladdr ${MACS[2]}`), 'the first cycle is etcd as registered: node-c came after its listing');
        // As the daemon does after the first cycle (watchResumesLoad).
        stop = source.watch!({ onChange: () => changes++, onError: (e) => lines.push(`watch error: ${e.message}\n`) });
        await eventually(async () => changes, (n) => n > 0, 'the watch to report node-c\'s lease', DEADLINE_MS);
        assert.ok(await rec.run(['watch']), lines.join(''));
        assert.match(await neigh(), new RegExp(`lladdr ${MACS[2]}`), `node-c programmed from the watch\n${lines.join('')}`);
        assert.is((await calls(c)).range - r, LIST, 'the watch and its cycle listed nothing');
      } finally {
        stop?.();
        await source.close();
      }
    });
  });
});

test('etcd: a daemon starting beside a vxlan device publishes that device\'s MAC (read while the source opens)', async () => {
  await withEtcd(async (c) => {
    await seedEtcd(c, [{ spec: B, mac: MACS[1] }]);
    await withTopology([A], async (t) => {
      const ns = t.nodes[0].ns;
      // What a previous run left: the device, its MAC in the peers' fdb; its lease gone (expired).
      const mac = '0e:00:00:00:0a:0a';
      await ipn(ns, 'link', 'add', 'flannel.1', 'address', mac, 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'nolearning');
      await withDaemon(['--log-format', 'json', '--interval', '60s', '--source', c.uri(), '--netns', ns,
        '--public-ip', A.publicIP, '--subnet-file', join(t.tmp, 'run', 'subnet.env')], async (d) => {
        await d.ready(DEADLINE_MS);
        const registered = await d.waitForMsg(/^registered this node/);
        assert.is(registered.vtep_mac, mac, registered.raw);
        assert.match(await c.ctl(['get', '--prefix', `${P}/subnets/`]), new RegExp(`"VtepMAC":"${mac}"`), 'the lease published the device\'s MAC');
        assert.match(await ipn(ns, 'link', 'show', 'flannel.1'), new RegExp(`link/ether ${mac}`), 'the device kept it');
      });
    });
  });
});

test('etcd: plan, diff and apply look up no lease expiry (one call per lease); nodes and doctor, which show it, do', async () => {
  await withEtcd(async (c) => {
    await seedEtcd(c, NODE_A_B);
    await withTopology([A, B], async (t) => {
      const ns = t.nodes[0].ns;
      const base = ['--source', c.uri(), '--netns', ns, '--public-ip', A.publicIP];
      const rows: Array<[string[], number, boolean]> = [
        [['plan', ...base], 0, false], [['diff', ...base], 2, false], [['apply', ...base], 0, false],
        [['nodes', '--source', c.uri()], 0, true], [['doctor', ...base, '--subnet-file', ''], -1, true],
      ];
      for (const [args, code, looksUp] of rows) {
        const before = await calls(c);
        const r = await ovlnet(args);
        if (code >= 0) assert.is(r.code, code, `${args[0]}: ${r.stderr}`);
        const n = (await calls(c)).timeToLive - before.timeToLive;
        if (looksUp) assert.ok(n >= 2, `${args[0]}: ${n} lease expiry lookups, expected one per lease`);
        else assert.is(n, 0, `${args[0]}: ${n} lease expiry lookups`);
      }
    });
  });
});

test('kube: the daemon lists the Nodes once before it is ready when its Node is published already, twice when registration patched it', async () => {
  const f = await FakeKube.start();
  try {
    f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16'));
    // The list is still under way when the first cycle reads the source, as with thousands of Nodes.
    f.listDelayMs = 1500;
    f.addNode({ name: A.name, podCIDR: A.subnet, internalIP: A.publicIP, annotations: flannelAnnotations(A.publicIP, MACS[0]) });
    f.addNode({ name: B.name, podCIDR: B.subnet, annotations: flannelAnnotations(B.publicIP, MACS[1]) });
    // A node not yet published (no annotations): registration patches it.
    f.addNode({ name: C.name, podCIDR: C.subnet, internalIP: C.publicIP });
    await withTopology([A, C], async (t) => {
      const kubeconfig = f.writeKubeconfig(t.tmp);
      for (const [i, node] of [A, C].entries()) {
        const ns = t.nodes[i].ns;
        const lists = f.listCount;
        await withDaemon(['--log-format', 'json', '--interval', '60s', '--source', `kube:${kubeconfig}`, '--node', node.name, '--netns', ns,
          '--public-ip', node.publicIP, '--subnet-file', join(t.tmp, `run-${node.name}`, 'subnet.env')], async (d) => {
          await d.ready(DEADLINE_MS);
          const first = await d.waitForMsg(/^cycle: applied/);
          assert.equal(first.reason, ['start'], first.raw);
          const published = node === A;
          assert.is(f.listCount - lists, published ? 1 : 2, `${node.name}: Node lists until ready\n${d.log}`);
          // The first cycle saw every node, this one's published annotations included.
          const other = published ? MACS[1] : MACS[0];
          assert.match(await ipn(ns, 'neigh', 'show', 'dev', 'flannel.1'), new RegExp(`lladdr ${other}`), d.log);
          if (!published) assert.match(await ipn(ns, 'route', 'show', 'proto', '244'), /198\.18\.1\.0\/24/, d.log);
        });
      }
    });
  } finally {
    await f.close();
  }
});

test.run();
