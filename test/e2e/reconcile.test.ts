// Reconciliation on three converged vxlan nodes (one topology for the file;
// each test re-converges what it broke, even when it fails): diff's exit
// codes and + ~ - lines, idempotence, read-only plan/diff, node removal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { ovlnet } from '../lib/cli.js';
import { assertOneLineError, type Cluster, scenario, sharedCluster } from '../lib/e2e.js';
import { fdb, kernelSnapshot, neighbors, route, settledSnapshot } from '../lib/kernel.js';
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

test('diff: 0 in sync, 2 on drift with + ~ - lines, 1 on errors', () => scenario(c, specs, [a], async () => {
  assert.is((await c.run('diff', a)).code, 0);
  // One of each: a missing route, a wrong neighbour, a stale ovlnet route.
  await ipn(a.ns, 'route', 'del', '198.18.1.0/24');
  await ipn(a.ns, 'neigh', 'replace', '198.18.2.0', 'lladdr', '02:00:00:00:00:99', 'dev', 'flannel.1', 'nud', 'permanent');
  await ipn(a.ns, 'route', 'add', '198.18.50.0/24', 'via', '198.18.50.0', 'dev', 'flannel.1', 'onlink', 'proto', '244');
  const d = await c.run('diff', a);
  assert.is(d.code, 2, d.stdout + d.stderr);
  const lines = d.stdout.split('\n');
  assert.ok(lines.includes('  - route 198.18.50.0/24 via 198.18.50.0 dev flannel.1 onlink'), d.stdout);
  assert.ok(lines.some((l) => /^ {2}~ neigh 198\.18\.2\.0 lladdr [0-9a-f:]{17} dev flannel\.1 permanent {2}\(lladdr 02:00:00:00:00:99 -> /.test(l)), d.stdout);
  assert.ok(lines.includes('  + route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink  # node-b'), d.stdout);
  assert.match(d.stdout, /Diff: 1 to add, 1 to change, 1 to destroy\. \d+ in sync\./);
  assert.ok(d.stdout.indexOf('  - route') < d.stdout.indexOf('  ~ neigh'), 'deletions are listed first');

  const r = await c.apply(a);
  assert.match(r.stdout, /Apply complete: 1 added, 1 changed, 1 removed/);
  const clean = await c.run('diff', a);
  assert.is(clean.code, 0, clean.stdout);
  assert.match(clean.stdout, /No changes\. The host matches the plan \(12 entries in sync\)/);

  // Errors: exit 1 and one line.
  const on = ['--node', 'node-a', '--netns', a.ns];
  assertOneLineError(await ovlnet(['diff', '--source', `file:${t.tmp}/missing.yaml`, ...on]), /missing\.yaml: no such file/);
  t.file('broken.yaml', 'network: [198.18.0.0/16\n');
  assertOneLineError(await ovlnet(['diff', '--source', `file:${t.tmp}/broken.yaml`, ...on]), /broken\.yaml:\d+:\d+: invalid YAML: .*; line \d+: /);
  assertOneLineError(await ovlnet(['diff', '--source', 'ftp://x', ...on]), /unknown source "ftp:\/\/x"/);
  assertOneLineError(await ovlnet(['diff', '--source', c.src, '--node', 'node-z', '--netns', a.ns]),
    /^ovlnet: node node-z is not in the source; known nodes: node-a, node-b, node-c$/);
  assertOneLineError(await ovlnet(['diff', '--source', c.src, '--node', 'node-a', '--netns', `${t.hub}-nope`]), /network namespace .*-nope/);
}));

test('a second apply changes nothing and starts no write', async () => {
  for (const n of t.nodes) {
    const spy = makeSpy(join(t.tmp, `spy-idem-${n.name}`));
    const r = await c.apply(n, [], { env: spy.env });
    assert.match(r.stdout, /^Apply complete: 0 added, 0 changed, 0 removed \(\d+ ms\)\.$/m);
    assert.equal(spy.writes(), [], 'no write batch');
    // One read for links, addresses, routes and neighbours, one for the fdb
    // (at the same time, so in either order), one for the FORWARD rules'
    // tables, one for accept_ra: no per-object spawns.
    assert.equal(spy.calls().map((x) => `${x.tool} ${x.args.join(' ')}`).sort(),
      [`bridge -n ${n.ns} -j fdb show dev flannel.1`, `ip -n ${n.ns} -j -d -N -batch -`, `ip netns exec ${n.ns} iptables-save`,
        `ip netns exec ${n.ns} sysctl -e net/ipv6/conf/flannel.1/accept_ra`]);
  }
});

test('plan, diff and apply --dry-run never write, even with drift pending', () => scenario(c, specs, [a], async () => {
  await ipn(a.ns, 'route', 'del', '198.18.1.0/24');
  await ipn(a.ns, 'link', 'set', 'flannel.1', 'mtu', '1400');
  await ipn(a.ns, 'route', 'add', '198.18.51.0/24', 'via', '198.18.51.0', 'dev', 'flannel.1', 'onlink', 'proto', '244');
  const before = await settledSnapshot(a.ns);
  const spy = makeSpy(join(t.tmp, 'spy-ro'));
  const runs = [
    ['plan'], ['plan', '-o', 'json'], ['plan', '-o', 'commands'],
    ['diff'], ['diff', '-o', 'json'], ['apply', '--dry-run'], ['apply', '--dry-run', '-o', 'json'],
  ];
  for (const [cmd, ...extra] of runs) {
    const r = await c.run(cmd, a, extra, { env: spy.env });
    assert.is(r.code, cmd === 'diff' ? 2 : 0, `${cmd} ${extra.join(' ')}: ${r.stderr}`);
    if (cmd === 'apply') assert.match(r.stdout, /1 to add, 1 to change, 1 to destroy|"dryRun": true/);
  }
  assert.equal(spy.writes(), [], 'no write batch from plan/diff/dry-run');
  assert.ok(spy.calls().length >= runs.length, 'the spy saw the reads');
  assert.equal(await kernelSnapshot(a.ns), before);
}));

test('a node removed from the file is removed from the others', () => scenario(c, specs, [a, b], async () => {
  assert.ok((await neighbors(a.ns, 'flannel.1')).has('198.18.2.0'), 'node-c neighbour present before');
  c.writeNodes(specs.slice(0, 2));
  for (const n of [a, b]) {
    const r = await c.apply(n);
    assert.match(r.stdout, /Apply complete: 0 added, 0 changed, 3 removed/, r.stdout);
    assert.is(await route(n.ns, '198.18.2.0/24'), undefined, `${n.name}: route to node-c gone`);
    assert.not.ok((await neighbors(n.ns, 'flannel.1')).has('198.18.2.0'), `${n.name}: neighbour of node-c gone`);
    const f = await fdb(n.ns, 'flannel.1');
    assert.not.ok([...f.values()].includes('192.0.2.12'), `${n.name}: fdb entry of node-c gone`);
    assert.is(f.size, 1, `${n.name}: the other peer's fdb entry stays`);
  }
  assert.ok(await ping(a, b.podGateway), 'the remaining peers still reach each other');
}));

test.run();
