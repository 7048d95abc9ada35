// The vxlan device and per-peer entries when their settings drift: an
// incompatible device is recreated, MTU and MAC are modified in place, and a
// peer's new VTEP MAC moves its neighbour and fdb entry on every other node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Cluster, scenario, sharedCluster } from '../lib/e2e.js';
import { fdb, link, neighbors } from '../lib/kernel.js';
import { defaultNodes, ipn, ping, type TestNode, type Topology } from '../lib/netns.js';

const specs = defaultNodes(3);
const env = sharedCluster(test, specs, { converge: true });
let t: Topology;
let c: Cluster;
let a: TestNode, b: TestNode, cc: TestNode;
test.before(() => {
  ({ t, c } = env);
  [a, b, cc] = env.nodes;
});

const vx = (extra: string) => ['link', 'add', 'flannel.1', 'type', 'vxlan', ...extra.split(' ')];
const RECREATE: Array<{ name: string; make: string[]; detail: RegExp }> = [
  { name: 'wrong dstport', make: vx('id 1 local 192.0.2.10 dev eth0 dstport 4789 nolearning'), detail: /dstport 4789 -> 8472/ },
  { name: 'wrong VNI', make: vx('id 7 local 192.0.2.10 dev eth0 dstport 8472 nolearning'), detail: /id 7 -> 1/ },
  { name: 'wrong local', make: vx('id 1 local 192.0.2.99 dev eth0 dstport 8472 nolearning'), detail: /local 192\.0\.2\.99 -> 192\.0\.2\.10/ },
  { name: 'learning on', make: vx('id 1 local 192.0.2.10 dev eth0 dstport 8472 learning'), detail: /learning -> nolearning/ },
  { name: 'a bridge of that name', make: ['link', 'add', 'flannel.1', 'type', 'bridge'], detail: /not a vxlan device \(bridge\)/ },
];

test('a device with incompatible settings is recreated and the node converges', () => scenario(c, specs, [a], async () => {
  for (const v of RECREATE) {
    await ipn(a.ns, 'link', 'del', 'flannel.1');
    await ipn(a.ns, ...v.make);
    const r = await c.apply(a);
    const line = r.stdout.split('\n').find((l) => l.startsWith('-/+ link flannel.1 '));
    assert.ok(line, `${v.name}: apply recreates the device:\n${r.stdout}`);
    assert.match(line!, v.detail, v.name);
    assert.match(r.stdout, /Apply complete: 8 added, 1 changed, 0 removed/, v.name);
    const l = await link(a.ns, 'flannel.1');
    assert.equal([l.linkinfo.info_data.id, l.linkinfo.info_data.local, l.linkinfo.info_data.port, l.linkinfo.info_data.learning], [1, '192.0.2.10', 8472, false], v.name);
    // apply re-read the host and found nothing left to do (else it exits 1).
    assert.ok(await ping(a, b.podGateway), `${v.name}: node-a reaches node-b again`);
  }
  await c.diffClean(a);
}));

test('MTU is modified in place, and follows the underlay MTU', () => scenario(c, specs, [a], async () => {
  const before = await link(a.ns, 'flannel.1');
  await ipn(a.ns, 'link', 'set', 'flannel.1', 'mtu', '1400');
  const r = await c.apply(a);
  assert.ok(r.stdout.split('\n').some((l) => /^ {2}~ link flannel\.1 .*\(mtu 1400 -> 1450\)$/.test(l)), r.stdout);
  assert.match(r.stdout, /Apply complete: 0 added, 1 changed, 0 removed/);
  const after = await link(a.ns, 'flannel.1');
  assert.is(after.ifindex, before.ifindex, 'modified, not recreated');
  assert.is(after.mtu, 1450);
  assert.is((await neighbors(a.ns, 'flannel.1')).size, 2, 'neighbours kept');
  try {
    await ipn(a.ns, 'link', 'set', 'eth0', 'mtu', '1400');
    const r2 = await c.apply(a);
    assert.match(r2.stdout, /\(mtu 1450 -> 1350\)/);
    assert.is((await link(a.ns, 'flannel.1')).mtu, 1350, 'underlay MTU - 50');
  } finally {
    await ipn(a.ns, 'link', 'set', 'eth0', 'mtu', '1500');
  }
}));

test("a node's new VTEP MAC: its device is modified in place, the peers' neighbour and fdb entries follow", () => scenario(c, specs, t?.nodes ?? [], async () => {
  const newMAC = '02:aa:00:00:00:0a';
  const oldMAC = (await link(a.ns, 'flannel.1')).address;
  const index = (await link(a.ns, 'flannel.1')).ifindex;
  c.writeNodes([{ ...specs[0], vtepMAC: newMAC }, specs[1], specs[2]]);

  const ra = await c.apply(a);
  assert.ok(ra.stdout.includes(`(address ${oldMAC} -> ${newMAC})`), ra.stdout);
  // The kernel flushes a device's neighbours when its address changes: both are written again.
  assert.match(ra.stdout, /Apply complete: 0 added, 3 changed, 0 removed/);
  assert.is((await link(a.ns, 'flannel.1')).ifindex, index, 'modified, not recreated');
  assert.is((await neighbors(a.ns, 'flannel.1')).size, 2, 'neighbours of node-a still there');

  for (const n of [b, cc]) {
    const r = await c.apply(n);
    assert.ok(r.stdout.includes(`(lladdr ${oldMAC} -> ${newMAC})`), r.stdout);
    assert.match(r.stdout, new RegExp(`^ {2}- fdb ${oldMAC} dev flannel\\.1 dst 192\\.0\\.2\\.10 self permanent  # node-a$`, 'm'));
    assert.match(r.stdout, new RegExp(`^ {2}\\+ fdb ${newMAC} dev flannel\\.1 dst 192\\.0\\.2\\.10 self permanent  # node-a$`, 'm'));
    assert.match(r.stdout, /Apply complete: 1 added, 1 changed, 1 removed/);
    assert.is((await neighbors(n.ns, 'flannel.1')).get('198.18.0.0'), newMAC);
    const f = await fdb(n.ns, 'flannel.1');
    assert.is(f.get(newMAC), '192.0.2.10');
    assert.not.ok(f.has(oldMAC), 'old fdb entry removed');
  }
  for (const n of [b, cc]) assert.ok(await ping(n, a.podGateway), `${n.name} reaches node-a at its new MAC`);
  assert.ok(await ping(a, cc.podGateway));
}));

test.run();
