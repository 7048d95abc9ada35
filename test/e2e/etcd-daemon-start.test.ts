// What `ovlnet daemon` asks etcd on its way to the first converged cycle,
// counted with etcd's own gRPC server metrics: a listing for the
// registration and one for the first cycle, no lease expiry lookups (no
// decision of the daemon needs one; at 5 000 leases they were 5 000 calls),
// and a watch that goes on from the first cycle's listing instead of
// listing again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { DaemonProcess, eventually } from '../lib/daemon.js';
import { flannelLease, grantLease, withEtcd, type EtcdCluster } from '../lib/etcd.js';
import { defaultNodes, ipn, withTopology } from '../lib/netns.js';

const [A, B, C] = defaultNodes(3);
const MACS = ['0e:00:00:00:0b:00', '0e:00:00:00:0b:01', '0e:00:00:00:0b:02'];
const P = '/coreos.com/network';
const leaseKey = (subnet: string) => `${P}/subnets/${subnet.replace('/', '-')}`;
/** Range requests of one listing of a small cluster: the config key, then one page of subnets/. */
const LIST = 2;
const DEADLINE_MS = 15_000;

/** Calls etcd has answered so far, by gRPC method (every status code). */
async function calls(c: EtcdCluster): Promise<{ range: number; timeToLive: number }> {
  const text = await new Promise<string>((resolve, reject) => {
    httpGet(`${c.members[0].clientURL}/metrics`, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const count = (service: string, method: string) => text.split('\n')
    .filter((l) => l.startsWith('grpc_server_handled_total{') && l.includes(`grpc_method="${method}"`) && l.includes(`grpc_service="${service}"`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  if (!text.includes('grpc_method="Range"')) throw new Error('etcd /metrics has no grpc_server_handled_total for Range');
  return { range: count('etcdserverpb.KV', 'Range'), timeToLive: count('etcdserverpb.Lease', 'LeaseTimeToLive') };
}

test('etcd: the daemon lists twice before it is ready (registration, first cycle), looks up no lease expiry, and its watch needs no listing of its own', async () => {
  await withEtcd(async (c) => {
    // node-a's lease is the first subnet, outside flannel's default SubnetMin: allow it, or the daemon re-allocates as flannel does.
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","SubnetMin":"198.18.0.0","Backend":{"Type":"vxlan"}}']);
    // Each lease under an etcd lease of its own, as flanneld keeps them.
    for (const [i, s] of [A, B].entries()) await c.ctl(['put', `--lease=${await grantLease(c, 3600)}`, leaseKey(s.subnet), flannelLease(s.publicIP, MACS[i])]);
    await withTopology([A, B], async (t) => {
      const a = t.nodes[0];
      const before = await calls(c);
      const d = new DaemonProcess(['--log-format', 'json', '--log-level', 'debug', '--interval', '60s', '--source', c.uri(), '--netns', a.ns,
        '--public-ip', A.publicIP, '--subnet-file', join(t.tmp, 'run', 'subnet.env')]);
      try {
        await d.ready(DEADLINE_MS);
        const ready = await calls(c);
        assert.is(ready.timeToLive - before.timeToLive, 0, `no lease expiry looked up\n${d.log}`);
        assert.is(ready.range - before.range, 2 * LIST, `one listing to register, one for the first cycle\n${d.log}`);

        // A lease put after the start: the watch brings it in, from the first cycle's listing on.
        const from = d.lines.length;
        await c.ctl(['put', `--lease=${await grantLease(c, 3600)}`, leaseKey(C.subnet), flannelLease(C.publicIP, MACS[2])]);
        await eventually(() => ipn(a.ns, 'neigh', 'show', 'dev', 'flannel.1'), (n) => n.includes(MACS[2]), 'neighbour entry of node-c after its lease was put', DEADLINE_MS);
        const line = await d.waitForMsg(/^cycle: applied/, DEADLINE_MS, from);
        assert.equal(line.reason, ['watch'], line.raw);
        const after = await calls(c);
        assert.is(after.range, ready.range, `the watch and its cycle sent no range request\n${d.log}`);
        assert.is(after.timeToLive, ready.timeToLive, 'the watch cycle looked up no expiry');
        const stop = await d.stop('SIGTERM');
        assert.is(stop.code, 0, d.log);
      } finally {
        await d.kill();
      }
    });
  });
});

test.run();
