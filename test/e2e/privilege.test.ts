// Not root and no iproute2: apply refuses with a one-line hint (sudo, or the
// package to install) and changes nothing; plan works regardless.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ovlnet, ROOT } from '../lib/cli.js';
import { assertOneLineError, Cluster } from '../lib/e2e.js';
import { kernelSnapshot, settledSnapshot } from '../lib/kernel.js';
import { createTopology, defaultNodes, ipn, sh, type TestNode, type Topology } from '../lib/netns.js';

const specs = defaultNodes(2);
let t: Topology;
let c: Cluster;
let a: TestNode;
let setpriv: string;
/** As user nobody, with no capabilities left. */
const nobody = () => [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups'];

test.before(async () => {
  t = await createTopology(specs);
  c = new Cluster(t);
  a = t.nodes[0];
  c.writeNodes(specs);
  // The unprivileged user must be able to read the cluster file.
  chmodSync(t.tmp, 0o755);
  chmodSync(c.path, 0o644);
  setpriv = (await sh('sh', ['-c', 'command -v setpriv'])).trim();
  assert.ok(setpriv, 'setpriv (util-linux) is needed');
});

test.after(async () => {
  await t?.destroy();
});

test('not root, with --netns: apply and diff say to use sudo; plan still works', async () => {
  const before = await settledSnapshot(a.ns);
  for (const cmd of ['apply', 'diff']) {
    const r = await c.run(cmd, a, [], { prefix: nobody() });
    assertOneLineError(r, /^ovlnet: entering network namespace \S+ needs root \(CAP_SYS_ADMIN\)$/);
    assert.match(r.stderr, /^hint: run it as root: sudo ovlnet /m);
  }
  const p = await c.run('plan', a, ['-o', 'commands'], { prefix: nobody() });
  assert.is(p.code, 0, p.stderr);
  assert.match(p.stderr, /^warning: host: cannot read network namespace \S+ \(entering network namespace \S+ needs root/);
  assert.match(p.stdout, /^ip route add 198\.18\.1\.0\/24 via 198\.18\.1\.0 dev flannel\.1 onlink proto 244$/m);
  assert.equal(await kernelSnapshot(a.ns), before, 'nothing changed');
});

test('not root, inside the namespace: apply says to use sudo and changes nothing; plan and diff work', async () => {
  const inside = () => ['ip', 'netns', 'exec', a.ns, ...nobody()];
  const run = (cmd: string, extra: string[] = []) => ovlnet([cmd, '--source', c.src, '--node', a.name, ...extra], { prefix: inside() });
  const before = await settledSnapshot(a.ns);
  const r = await run('apply');
  assertOneLineError(r, /^ovlnet: changing the network needs root \(CAP_NET_ADMIN\)$/);
  assert.match(r.stderr, /^hint: run it as root: sudo ovlnet /m);
  assert.equal(await kernelSnapshot(a.ns), before, 'nothing changed');

  const d = await run('diff');
  assert.is(d.code, 2, 'diff reads without root: drift on an empty node');
  assert.match(d.stdout, /^ {2}\+ link flannel\.1 /m);
  const asUser = await run('plan', ['-o', 'commands']);
  const asRoot = await c.run('plan', a, ['-o', 'commands']);
  assert.is(asUser.code, 0, asUser.stderr);
  assert.is(asUser.stderr, '');
  assert.is(asUser.stdout, asRoot.stdout, 'the same plan as root');
  // The bundled example, without root and without a namespace.
  const ex = await ovlnet(['plan', '--source', `file:${ROOT}examples/cluster.yaml`, '--node', 'node-a'], { prefix: nobody() });
  assert.is(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /3 routes?|2 peers/);
});

test('ip or bridge missing: the error names iproute2; plan still works', async () => {
  const empty = join(t.tmp, 'empty-path');
  const onlyIp = join(t.tmp, 'only-ip');
  mkdirSync(empty);
  mkdirSync(onlyIp);
  symlinkSync((await sh('sh', ['-c', 'command -v ip'])).trim(), join(onlyIp, 'ip'));
  // The namespace's writer lock is held through flock(1), which runs cat (util-linux, coreutils).
  for (const tool of ['flock', 'cat']) symlinkSync((await sh('sh', ['-c', `command -v ${tool}`])).trim(), join(onlyIp, tool));
  const before = await settledSnapshot(a.ns);
  const noIp = await c.run('apply', a, [], { env: { PATH: empty } });
  assertOneLineError(noIp, /^ovlnet: ip not found in PATH; it comes with the iproute2 package$/);
  assert.match(noIp.stderr, /^hint: install it: apt-get install iproute2/m);
  const plan = await c.run('plan', a, [], { env: { PATH: empty } });
  assert.is(plan.code, 0, plan.stderr);
  assert.match(plan.stderr, /cannot read network namespace .* \(ip not found in PATH; it comes with the iproute2 package\); planned as for an empty host/);

  // bridge is needed once the device exists (to read its fdb).
  await c.apply(a);
  await ipn(a.ns, 'route', 'del', '198.18.1.0/24');
  const withDevice = await settledSnapshot(a.ns);
  const noBridge = await c.run('apply', a, [], { env: { PATH: onlyIp } });
  assertOneLineError(noBridge, /^ovlnet: bridge not found in PATH; it comes with the iproute2 package$/);
  assert.equal(await kernelSnapshot(a.ns), withDevice, 'nothing changed');
  assert.not.equal(withDevice, before);
});

test.run();
