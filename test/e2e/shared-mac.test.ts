// Two peers with one VTEP MAC (issue 16.6). The fdb is keyed by MAC, so the
// two fdb entries replaced each other on every write: verify never passed and
// no daemon ever became ready. Now the pair is left out and reported (neither
// is programmed) and the rest converges; a programmed peer keeps its MAC
// against a newcomer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { DaemonProcess } from '../lib/daemon.js';
import { Cluster } from '../lib/e2e.js';
import { ipn, withTopology, type NodeSpec } from '../lib/netns.js';

const local: NodeSpec = { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24' };
// Peers that exist only in the file: vxlan programs them without a reply.
const SHARED = '0e:aa:00:00:00:01';
const p1: NodeSpec = { name: 'peer-1', publicIP: '192.0.2.11', subnet: '198.18.1.0/24', vtepMAC: SHARED };
const p2: NodeSpec = { name: 'peer-2', publicIP: '192.0.2.12', subnet: '198.18.2.0/24', vtepMAC: SHARED };
const p3: NodeSpec = { name: 'peer-3', publicIP: '192.0.2.13', subnet: '198.18.3.0/24', vtepMAC: '0e:aa:00:00:00:03' };

const routes = (ns: string) => ipn(ns, 'route', 'show', 'proto', '244');

test('daemon: two new peers with one VTEP MAC are left out and reported; the daemon becomes ready and the rest converges', () => withTopology([local], async (t) => {
  const c = new Cluster(t);
  c.writeNodes([local, p1, p2, p3]);
  const a = t.nodes[0];
  const d = new DaemonProcess(['--source', c.src, '--node', 'node-a', '--netns', a.ns, '--log-format', 'json',
    '--subnet-file', join(t.tmp, 'run', 'subnet.env'), '--interval', '1s']);
  try {
    // Generous: a loaded machine; before the fix this never came.
    await d.ready(30_000);
    const r = await routes(a.ns);
    assert.match(r, /198\.18\.3\.0\/24 via/);
    assert.not.match(r, /198\.18\.[12]\.0/);
    for (const peer of ['peer-1', 'peer-2']) {
      assert.ok(d.lines.some((l) => l.raw.includes(`node ${peer}`) && l.raw.includes('is also the VTEP MAC of')), `${peer} reported:\n${d.log}`);
    }
    const stop = await d.stop('SIGTERM');
    assert.is(stop.code, 0, d.log);
  } finally {
    await d.kill();
  }
  await c.diffClean(a);
}));

test('apply: a programmed peer keeps its VTEP MAC against a newcomer; a second apply writes nothing', () => withTopology([local], async (t) => {
  const c = new Cluster(t);
  const a = t.nodes[0];
  c.writeNodes([local, p1, p3]);
  await c.apply(a);
  c.writeNodes([local, p1, p2, p3]);
  const r = await c.apply(a);
  assert.match(r.stdout, /Apply complete: 0 added, 0 changed, 0 removed/, r.stdout);
  assert.match(r.stderr, /node peer-2 .*\.vtepMAC: 0e:aa:00:00:00:01 is the VTEP MAC of programmed peer peer-1; left out/, r.stderr);
  assert.match(await routes(a.ns), /198\.18\.1\.0\/24 via 198\.18\.1\.0 dev flannel\.1 onlink/);
  assert.match(await ipn(a.ns, 'neigh', 'show', 'dev', 'flannel.1'), /198\.18\.1\.0 lladdr 0e:aa:00:00:00:01/);
  await c.diffClean(a);
}));

test.run();
