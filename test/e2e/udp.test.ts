// The udp backend end to end: its kernel part through plan/diff/apply, and
// the forwarder inside `ovlnet daemon`. The forwarder's socket and TUN must
// live in the node's namespace, so each daemon runs under `ip netns exec`
// (no --netns). Every daemon is killed in a finally.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ovlnet } from '../lib/cli.js';
import { DaemonProcess, eventually } from '../lib/daemon.js';
import { clusterYAML, defaultNodes, ipn, ping, withTopology, type NodeSpec, type TestNode } from '../lib/netns.js';

const UDP = '{ type: udp, port: 8285 }';
const specs = defaultNodes(3);
const [A, B, C] = specs;

function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

test('plan/diff/apply: persistent flannel0 (MTU - 28), .0/32, one route for the network; drift repaired', async () => {
  await withTopology([A], async (t) => {
    const file = t.file('c.yaml', clusterYAML(specs, UDP));
    const ns = t.nodes[0].ns;
    const args = ['--source', `file:${file}`, '--node', A.name, '--netns', ns];
    const r = await ovlnet(['apply', ...args]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const link = await ipn(ns, '-d', 'link', 'show', 'flannel0');
    assert.match(link, /mtu 1472 /);
    assert.match(link, /tun type tun pi off vnet_hdr off persist on/);
    assert.match(link, /<[^>]*\bUP\b[^>]*>/);
    assert.match(await ipn(ns, 'addr', 'show', 'dev', 'flannel0'), /inet 198\.18\.0\.0\/32 /);
    assert.is((await ipn(ns, 'route', 'show', 'proto', '244')).trim().replace(/\s+linkdown$/, ''), '198.18.0.0/16 dev flannel0 scope link');
    assert.is((await ovlnet(['diff', ...args])).code, 0, 'in sync after apply');

    await ipn(ns, 'link', 'set', 'flannel0', 'mtu', '1400');
    await ipn(ns, 'route', 'del', '198.18.0.0/16', 'proto', '244');
    const d = await ovlnet(['diff', ...args]);
    assert.is(d.code, 2, d.stdout + d.stderr);
    assert.match(d.stdout, /mtu 1400 -> 1472/);
    assert.is((await ovlnet(['apply', ...args])).code, 0);
    assert.is((await ovlnet(['diff', ...args])).code, 0, 'repaired');

    // A tap device with the name is not ours to use: replaced by a tun.
    await ipn(ns, 'link', 'del', 'flannel0');
    await ipn(ns, 'tuntap', 'add', 'dev', 'flannel0', 'mode', 'tap');
    const a = await ovlnet(['apply', ...args]);
    assert.is(a.code, 0, a.stdout + a.stderr);
    assert.match(await ipn(ns, '-d', 'link', 'show', 'flannel0'), /tun type tun pi off/);
  });
});

/** ping from a node's pod gateway; the output, for unreachable checks. */
async function pingOut(from: TestNode, to: string): Promise<{ ok: boolean; out: string }> {
  const r = await execa('ip', ['netns', 'exec', from.ns, 'ping', '-n', '-c', '1', '-W', '2', '-I', from.podGateway, to], { reject: false });
  return { ok: r.exitCode === 0, out: String(r.stdout) + String(r.stderr) };
}

test('daemons forward between pod gateways; a peer added to the source is reachable without restart', async () => {
  await withTopology(specs, async (t) => {
    const file = join(t.tmp, 'cluster.yaml');
    writeFileSync(file, clusterYAML([A, B], UDP));
    const daemons: DaemonProcess[] = [];
    const start = (i: number, spec: NodeSpec) => {
      const d = new DaemonProcess(['--source', `file:${file}`, '--node', spec.name, '--log-format', 'json', '--interval', '60s', '--subnet-file', ''],
        { wrapper: ['ip', 'netns', 'exec', t.nodes[i].ns] });
      daemons.push(d);
      return d;
    };
    try {
      const [da, db] = [start(0, A), start(1, B)];
      for (const d of [da, db]) await d.waitForMsg(/^udp forwarder running/, 20_000);
      const [na, nb, nc] = t.nodes;
      await eventually(() => ping(na, nb.podGateway), (ok) => ok, 'node-a -> node-b pod gateway over udp', 10_000, 200);
      assert.ok(await ping(nb, na.podGateway), 'node-b -> node-a');

      // No peer owns it: the forwarder answers net-unreachable, as flannel does.
      const un = await pingOut(na, '198.18.99.1');
      assert.is(un.ok, false);
      assert.match(un.out, /From 198\.18\.99\.1 .*Destination Net Unreachable/);
      // node-c is not in the source yet.
      assert.match((await pingOut(na, nc.podGateway)).out, /Destination Net Unreachable/);

      const from = da.lines.length;
      replaceFile(file, clusterYAML([A, B, C], UDP));
      const dc = start(2, C);
      await dc.waitForMsg(/^udp forwarder running/, 20_000);
      await da.waitForMsg(/^udp forwarder peers updated/, 20_000, from);
      await eventually(() => ping(na, nc.podGateway), (ok) => ok, 'node-a -> node-c after the file change', 10_000, 200);
      assert.ok(await ping(nc, nb.podGateway), 'node-c -> node-b');
      assert.is(da.exited, undefined, 'node-a was not restarted');
    } finally {
      for (const d of daemons) await d.kill();
    }
  });
});

test.run();
