// Renumbering the local subnet (issue 16.1): the device's old address is
// replaced by the new one without its last IPv4 address ever going away, so
// the kernel never flushes the routes and neighbours on the device. apply
// exits 0 and every peer keeps its route through the change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess } from '../lib/daemon.js';
import { Cluster } from '../lib/e2e.js';
import { clusterYAML, defaultNodes, ipn, ping, withTopology, type NodeSpec, type TestNode } from '../lib/netns.js';

const specs = defaultNodes(3);

async function routesOn(n: TestNode): Promise<string> {
  return ipn(n.ns, 'route', 'show', 'proto', '244');
}

/** Moves node `i`'s pod bridge (cni0) to the new subnet, as its CNI would after a renumber. */
async function moveBridge(n: TestNode, from: string, to: string): Promise<void> {
  await ipn(n.ns, 'addr', 'del', from, 'dev', 'cni0');
  await ipn(n.ns, 'addr', 'add', to, 'dev', 'cni0');
}

for (const backend of ['{ type: vxlan, vni: 1, port: 8472 }', '{ type: udp, port: 8285 }']) {
  const name = backend.includes('udp') ? 'udp' : 'vxlan';
  test(`${name}: renumbering a node keeps every peer's route; apply exits 0 and the diff is clean`, () => withTopology(specs, async (t) => {
    const c = new Cluster(t, backend);
    c.writeNodes(specs);
    await Promise.all(t.nodes.map((n) => c.apply(n)));
    const [a, b, cc] = t.nodes;
    const before = await routesOn(a);
    assert.ok(before.includes('198.18.1.0/24') || before.includes('198.18.0.0/16'), before);

    const renumbered: NodeSpec[] = specs.map((s) => (s.name === 'node-a' ? { ...s, subnet: '198.18.40.0/24' } : s));
    c.writeNodes(renumbered);
    const r = await c.run('apply', a);
    assert.is(r.code, 0, `apply after renumbering:\n${r.stdout}\n${r.stderr}`);
    // Right after apply, nothing re-added by a later run: the peers' routes survived.
    const after = await routesOn(a);
    if (name === 'vxlan') {
      for (const peer of ['198.18.1.0/24', '198.18.2.0/24']) assert.ok(after.includes(`${peer} via`), `route to ${peer} after renumbering:\n${after}`);
      const addrs = await ipn(a.ns, 'addr', 'show', 'dev', 'flannel.1');
      assert.match(addrs, /inet 198\.18\.40\.0\/32/);
      assert.not.match(addrs, /inet 198\.18\.0\.0\/32/);
    } else {
      assert.ok(after.includes('198.18.0.0/16 dev flannel0'), `the network route through flannel0 after renumbering:\n${after}`);
    }
    await c.diffClean(a);

    if (name === 'vxlan') {
      // The peers learn the new subnet; the renumbered node's pods are reachable both ways.
      await Promise.all([b, cc].map((n) => c.apply(n)));
      await moveBridge(a, '198.18.0.1/24', '198.18.40.1/24');
      const a2 = { ...a, podGateway: '198.18.40.1' };
      assert.ok(await ping(a2, b.podGateway, 3), 'renumbered node -> node-b');
      assert.ok(await ping(cc, a2.podGateway, 3), 'node-c -> renumbered node');
    }
  }));
}

test('daemon: a renumber picked up by the watch keeps every peer routed, with no retry', () => withTopology(specs, async (t) => {
  const file = join(t.tmp, 'cluster.yaml');
  writeFileSync(file, clusterYAML(specs));
  const a = t.nodes[0];
  // A long interval: only the file watch can bring the renumber in, and only a
  // resync a minute later could repair what its write broke.
  const d = new DaemonProcess(['--source', `file:${file}`, '--node', 'node-a', '--netns', a.ns, '--log-format', 'json',
    '--subnet-file', join(t.tmp, 'run', 'subnet.env'), '--interval', '60s']);
  try {
    await d.ready(30_000);
    const from = d.lines.length;
    writeFileSync(`${file}.tmp`, clusterYAML(specs.map((s) => (s.name === 'node-a' ? { ...s, subnet: '198.18.40.0/24' } : s))));
    renameSync(`${file}.tmp`, file);
    const applied = await d.waitForMsg(/^cycle: applied/, 20_000, from);
    assert.ok((applied.reason as string[]).includes('watch'), applied.raw);
    const after = await routesOn(a);
    for (const peer of ['198.18.1.0/24', '198.18.2.0/24']) assert.ok(after.includes(`${peer} via`), `route to ${peer} right after the daemon's renumber:\n${after}\n${d.log}`);
    assert.match(await ipn(a.ns, 'addr', 'show', 'dev', 'flannel.1'), /inet 198\.18\.40\.0\/32/);
    assert.not.ok(d.lines.slice(from).some((l) => l.level === 'error' || /failed|not converged/.test(l.msg ?? '')), d.log);
    const stop = await d.stop('SIGTERM');
    assert.is(stop.code, 0, d.log);
  } finally {
    await d.kill();
  }
}));

test.run();
