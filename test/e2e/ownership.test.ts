// Ownership on three converged vxlan nodes (one topology; each test
// re-converges what it broke): ovlnet repairs its own routes, and never
// changes or deletes a route without its protocol 244, even in the pod range.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { type Cluster, scenario, sharedCluster } from '../lib/e2e.js';
import { route, routes } from '../lib/kernel.js';
import { makeSpy } from '../lib/spy.js';
import { defaultNodes, ipn, ping, type TestNode, type Topology } from '../lib/netns.js';

const specs = defaultNodes(3);
const env = sharedCluster(test, specs, { converge: true });
let t: Topology;
let c: Cluster;
let a: TestNode, b: TestNode;
test.before(() => {
  ({ t, c } = env);
  [a, b] = env.nodes;
});

test('a hand-deleted route is reported by diff (exit 2), then repaired by apply', () => scenario(c, specs, [b], async () => {
  await ipn(b.ns, 'route', 'del', '198.18.0.0/24');
  assert.not.ok(await ping(b, a.podGateway), 'without its route node-b can not reach node-a');
  const d = await c.run('diff', b);
  assert.is(d.code, 2);
  assert.ok(d.stdout.split('\n').includes('  + route 198.18.0.0/24 via 198.18.0.0 dev flannel.1 onlink  # node-a'), d.stdout);
  assert.match(d.stdout, /Diff: 1 to add, 0 to change, 0 to destroy/);
  const r = await c.apply(b);
  assert.match(r.stdout, /Apply complete: 1 added, 0 changed, 0 removed/);
  assert.is((await route(b.ns, '198.18.0.0/24'))?.protocol, '244');
  await c.diffClean(b);
  assert.ok(await ping(b, a.podGateway));
}));

test('routes without protocol 244 in the pod range are never changed or deleted', () => scenario(c, specs, [a], async () => {
  await ipn(a.ns, 'route', 'add', '198.18.99.0/24', 'via', '192.0.2.99', 'dev', 'eth0');
  await ipn(a.ns, 'route', 'add', 'blackhole', '198.18.98.0/24', 'proto', 'static');
  await ipn(a.ns, 'route', 'add', '198.18.97.0/24', 'dev', 'cni0', 'proto', '200');
  // Foreign, at a desired destination, with other forwarding: a conflict, left as is.
  await ipn(a.ns, 'route', 'replace', '198.18.2.0/24', 'via', '192.0.2.12', 'dev', 'eth0', 'proto', 'static');
  const foreign = async () => (await routes(a.ns)).filter((r) => r.protocol !== '244' && r.dst.startsWith('198.18.'));
  const before = await foreign();
  assert.is(before.length, 5, JSON.stringify(before)); // the 4 above and cni0's own subnet
  try {
    const r = await c.run('apply', a);
    assert.is(r.code, 1, 'a conflict leaves apply incomplete');
    assert.match(r.stderr, /warning: route:198\.18\.2\.0\/24: a route not owned by ovlnet \(protocol 4 static, via 192\.0\.2\.12 dev eth0\) holds 198\.18\.2\.0\/24; left as is/);
    assert.match(r.stdout, /Apply incomplete: 0 added, 0 changed, 0 removed, 1 conflict with foreign routes/);
    const d = await c.run('diff', a);
    assert.is(d.code, 2, 'the conflict is drift');
    assert.match(d.stdout, /^ {2}! route:198\.18\.2\.0\/24: /m);
    assert.equal(await foreign(), before, 'foreign routes untouched by apply');
    // Nor when the peer leaves: ovlnet deletes only what carries its protocol.
    c.writeNodes(specs.slice(0, 2));
    const r2 = await c.run('apply', a);
    assert.is(r2.code, 0, r2.stdout + r2.stderr);
    assert.match(r2.stdout, /0 added, 0 changed, 2 removed/, 'neighbour and fdb entry of node-c only');
    assert.equal(await foreign(), before, 'foreign routes untouched when their peer leaves');
  } finally {
    for (const dst of ['198.18.2.0/24', '198.18.99.0/24', '198.18.98.0/24', '198.18.97.0/24']) await ipn(a.ns, 'route', 'del', dst);
  }
}));

test('a route identical to the desired one but with another protocol is adopted, never touched', () => scenario(c, specs, [a], async () => {
  // As flannel leaves them: no protocol (boot).
  await ipn(a.ns, 'route', 'del', '198.18.1.0/24');
  await ipn(a.ns, 'route', 'add', '198.18.1.0/24', 'via', '198.18.1.0', 'dev', 'flannel.1', 'onlink');
  const before = await route(a.ns, '198.18.1.0/24');
  assert.is(before?.protocol, 'boot');
  try {
    const d = await c.run('diff', a);
    assert.is(d.code, 0, d.stdout);
    assert.match(d.stdout, /No changes\. The host matches the plan \(12 entries in sync, 1 held by identical foreign routes\)/);
    const spy = makeSpy(join(t.tmp, 'spy-adopt'));
    const r = await c.apply(a, [], { env: spy.env });
    assert.match(r.stdout, /0 added, 0 changed, 0 removed/);
    assert.equal(spy.writes(), []);
    assert.equal(await route(a.ns, '198.18.1.0/24'), before);
    assert.ok(await ping(a, b.podGateway));
    // When node-b leaves, flannel's route to it is stale: flannel's, hence ovlnet's to delete.
    c.writeNodes([specs[0], specs[2]]);
    const r2 = await c.apply(a);
    assert.match(r2.stdout, /0 added, 0 changed, 3 removed/, 'neighbour, fdb entry and flannel\'s route of node-b');
    assert.is(await route(a.ns, '198.18.1.0/24'), undefined);
  } finally {
    await ipn(a.ns, 'route', 'del', '198.18.1.0/24').catch(() => undefined);
  }
}));

test('routes flannel left (protocol boot, in the pod network, through flannel.1) are replaced when wrong and deleted when stale', () => scenario(c, specs, [a], async () => {
  // A node flannel programmed: its routes carry no protocol (boot).
  await ipn(a.ns, 'route', 'del', '198.18.1.0/24');
  await ipn(a.ns, 'route', 'add', '198.18.1.0/24', 'via', '198.18.2.0', 'dev', 'flannel.1', 'onlink');
  await ipn(a.ns, 'route', 'add', '198.18.50.0/24', 'via', '198.18.50.0', 'dev', 'flannel.1', 'onlink');
  // Protocol boot but via an address that is no node's: not flannel's, left alone.
  await ipn(a.ns, 'route', 'add', '198.18.99.0/24', 'via', '192.0.2.99', 'dev', 'eth0');
  try {
    const d = await c.run('diff', a);
    assert.is(d.code, 2, d.stdout + d.stderr);
    const lines = d.stdout.split('\n');
    assert.ok(lines.includes('  ~ route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink  (left by flannel: via 198.18.2.0 dev flannel.1 onlink -> via 198.18.1.0 dev flannel.1 onlink)  # node-b'), d.stdout);
    assert.ok(lines.includes('  - route 198.18.50.0/24 via 198.18.50.0 dev flannel.1 onlink  (left by flannel, not in the plan)'), d.stdout);
    assert.not.match(d.stdout, /198\.18\.99\.0/);
    const r = await c.apply(a);
    assert.match(r.stdout, /Apply complete: 0 added, 1 changed, 1 removed/);
    assert.is((await route(a.ns, '198.18.1.0/24'))?.protocol, '244');
    assert.is(await route(a.ns, '198.18.50.0/24'), undefined);
    assert.is((await route(a.ns, '198.18.99.0/24'))?.protocol, 'boot', 'a foreign route that is not flannel\'s stays');
    await c.diffClean(a);
    const spy = makeSpy(join(t.tmp, 'spy-inherit'));
    await c.apply(a, [], { env: spy.env });
    assert.equal(spy.writes(), [], 'a second apply writes nothing');
    assert.ok(await ping(a, b.podGateway));
  } finally {
    await ipn(a.ns, 'route', 'del', '198.18.99.0/24');
  }
}));

test.run();
