// Partial failure: one object that can not go in is reported (with the
// kernel's own message when the kernel refused it), every independent object
// still goes in, apply exits 1, and the next apply converges once the cause
// is gone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { type Cluster, sharedCluster } from '../lib/e2e.js';
import { route } from '../lib/kernel.js';
import { makeSpy } from '../lib/spy.js';
import { defaultNodes, ipn, ping, type TestNode, type Topology } from '../lib/netns.js';

const specs = defaultNodes(3);
// Fresh nodes: each test applies one of them for the first time.
const env = sharedCluster(test, specs);
let t: Topology;
let c: Cluster;
let a: TestNode, b: TestNode, cc: TestNode;
test.before(() => {
  ({ t, c } = env);
  [a, b, cc] = env.nodes;
});


test('a foreign blackhole holding a peer subnet: reported, the rest goes in, exit 1; converges once removed', async () => {
  await c.apply(b);
  await c.apply(cc);
  await ipn(a.ns, 'route', 'add', 'blackhole', '198.18.1.0/24');
  const r = await c.run('apply', a);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /^warning: route:198\.18\.1\.0\/24: a route not owned by ovlnet \(protocol 3 boot, blackhole\) holds 198\.18\.1\.0\/24; left as is$/m);
  // 8 kernel entries (accept_ra among them) and flannel's 3 FORWARD rules.
  assert.match(r.stdout, /Apply incomplete: 11 added, 0 changed, 0 removed, 1 conflict with foreign routes/);
  assert.match(r.stderr, /^hint: fix the cause above and run apply again/m);
  assert.is((await route(a.ns, '198.18.1.0/24'))?.type, 'blackhole', 'the foreign route is left as is');
  assert.ok(await ping(a, cc.podGateway), 'the independent peer works');
  assert.not.ok(await ping(a, b.podGateway), 'the blackholed peer does not');

  await ipn(a.ns, 'route', 'del', 'blackhole', '198.18.1.0/24');
  const r2 = await c.apply(a);
  assert.match(r2.stdout, /Apply complete: 1 added, 0 changed, 0 removed/);
  assert.ok(await ping(a, b.podGateway));
});

test("the kernel refusing one object (a route that appeared since the read): its message is shown, the rest goes in", async () => {
  // Node-b loses its state; between ovlnet's read and its write, a foreign
  // blackhole takes node-c's subnet, so the kernel refuses that route.
  await ipn(b.ns, 'link', 'del', 'flannel.1');
  const spy = makeSpy(join(t.tmp, 'spy-race'));
  spy.beforeFirstWrite(`ip -n ${b.ns} route add blackhole 198.18.2.0/24\n`);
  const r = await c.run('apply', b, [], { env: spy.env });
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.ok(spy.writes().length > 0, 'the hook ran before a write');
  const failed = r.stderr.split('\n').filter((l) => l.startsWith('failed: '));
  assert.equal(failed, ['failed: route 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink: RTNETLINK answers: File exists'], r.stderr);
  assert.match(r.stdout, /Apply incomplete: 8 added, 0 changed, 0 removed, 1 failed/);
  assert.is((await route(b.ns, '198.18.2.0/24'))?.type, 'blackhole', 'the foreign route was not overwritten');
  assert.ok(await ping(b, a.podGateway), 'the independent peer works');

  await ipn(b.ns, 'route', 'del', 'blackhole', '198.18.2.0/24');
  const r2 = await c.apply(b);
  assert.match(r2.stdout, /Apply complete: 1 added, 0 changed, 0 removed/);
  assert.ok(await ping(b, cc.podGateway));
});

test('a device name clash (a foreign vxlan device with our VNI): the kernel message names the cause; converges once removed', async () => {
  await ipn(cc.ns, 'link', 'del', 'flannel.1');
  await ipn(cc.ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '1', 'local', '192.0.2.12', 'dev', 'eth0', 'dstport', '8472', 'nolearning');
  const r = await c.run('apply', cc);
  assert.is(r.code, 1, r.stdout + r.stderr);
  const failed = r.stderr.split('\n').filter((l) => l.startsWith('failed: '));
  assert.match(failed[0], /^failed: link flannel\.1 vxlan id 1 .*: A VXLAN device with the specified VNI already exists\.$/);
  // Everything else lives on that device: reported once each, with the kernel's reason.
  assert.is(failed.length, 9, r.stderr);
  assert.ok(failed.slice(1).every((l) => l.endsWith('Cannot find device "flannel.1"')), r.stderr);
  assert.match(r.stdout, /Apply incomplete: 0 added, 0 changed, 0 removed, 9 failed/);
  assert.ok(await route(cc.ns, '198.18.0.0/24') === undefined);

  await ipn(cc.ns, 'link', 'del', 'vx0');
  const r2 = await c.apply(cc);
  assert.match(r2.stdout, /Apply complete: 9 added, 0 changed, 0 removed/);
  await c.diffClean(cc);
  assert.ok(await ping(cc, a.podGateway));
});

test.run();
