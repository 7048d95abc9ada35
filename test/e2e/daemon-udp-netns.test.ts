// The udp backend with `daemon --netns NS` started outside NS: the TUN and
// the UDP socket are created inside NS by the addon (setns around the open,
// then back), so the forwarder works from the host's namespace. While the
// forwarder cannot start (its port held by another process), the daemon is
// never ready: no "ready" log line, /readyz 503 naming the data plane,
// ovlnet_ready 0; once the port is free it starts and the daemon is ready.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { existsSync, readlinkSync } from 'node:fs';
import { execa } from 'execa';
import { closeFd, netnsPath, openTun, udpSocket } from '../../src/backends/udp/tun.js';
import { ovlnet } from '../lib/cli.js';
import { DaemonProcess, eventually, httpGet } from '../lib/daemon.js';
import { clusterYAML, defaultNodes, ping, withTopology } from '../lib/netns.js';

const UDP = '{ type: udp, port: 8285 }';
const specs = defaultNodes(3);
const [A] = specs;

/** A UDP listener inside `ns` on ip:port that prints the first datagram it gets, or holds the port until killed. */
function listenIn(ns: string, ip: string, port: number) {
  const js = `const s = require('node:dgram').createSocket('udp4');
s.on('message', (m) => process.stdout.write('got ' + m + '\\n'));
s.bind(${port}, '${ip}', () => process.stdout.write('ready\\n'));`;
  const child = execa('ip', ['netns', 'exec', ns, process.execPath, '-e', js], { reject: false, timeout: 120_000 });
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => { out += d; if (out.includes('ready')) resolve(); });
    child.then((r) => reject(new Error(`listener exited before it was ready: ${r.stderr}`)), reject);
  });
  return { child, ready };
}

test('the addon creates the TUN descriptor and the UDP socket inside the namespace; the main thread comes back to its own', async () => {
  await withTopology([A], async (t) => {
    const ns = t.nodes[0].ns;
    const file = t.file('cluster.yaml', clusterYAML(specs, UDP));
    const r = await ovlnet(['apply', '--source', `file:${file}`, '--node', A.name, '--netns', ns]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const home = readlinkSync('/proc/thread-self/ns/net');
    const hostHadDevice = existsSync('/sys/class/net/flannel0');

    // The address exists only in the node's namespace: bound there, refused here.
    const fd = udpSocket(A.publicIP, 18285, netnsPath(ns));
    assert.is(readlinkSync('/proc/thread-self/ns/net'), home, 'back in our own namespace after the socket');
    assert.throws(() => udpSocket(A.publicIP, 18286), /cannot bind udp 192\.0\.2\.10:18286: bind: Cannot assign requested address/);
    const s = createSocket('udp4');
    try {
      const got = new Promise<string>((resolve) => s.once('message', (m) => resolve(String(m))));
      s.bind({ fd });
      // Sent from inside the namespace to the socket's address: it arrives at the socket this (host-namespace) process holds.
      await execa('ip', ['netns', 'exec', ns, process.execPath, '-e',
        `const c = require('node:dgram').createSocket('udp4'); c.send('hello', 18285, '${A.publicIP}', () => c.close());`]);
      assert.is(await got, 'hello');
    } finally {
      s.close();
    }

    // flannel0 exists only in the namespace: attached there; here it is refused, never created.
    const tun = openTun('flannel0', netnsPath(ns));
    assert.ok(tun > 2);
    closeFd(tun);
    assert.is(readlinkSync('/proc/thread-self/ns/net'), home, 'back in our own namespace after the TUN');
    if (!hostHadDevice) {
      assert.throws(() => openTun('flannel0'), /cannot attach to flannel0: no such device/);
      assert.is(existsSync('/sys/class/net/flannel0'), false, 'no stray device created in our namespace');
    }
    assert.throws(() => openTun('flannel9', netnsPath(ns)), /cannot attach to flannel9 in \/run\/netns\/.*: no such device/);
    assert.is(readlinkSync('/proc/thread-self/ns/net'), home, 'back after a failed attach');
  });
});

test('daemons with --netns, started outside their namespaces, forward between pod gateways; a held port keeps one unready until freed', async () => {
  await withTopology(specs, async (t) => {
    const file = t.file('cluster.yaml', clusterYAML(specs, UDP));
    // node-a's forwarder port is taken in its namespace before its daemon starts.
    const blocker = listenIn(t.nodes[0].ns, A.publicIP, 8285);
    const daemons: DaemonProcess[] = [];
    try {
      await blocker.ready;
      for (const [i, spec] of specs.entries()) {
        daemons.push(new DaemonProcess(['--source', `file:${file}`, '--node', spec.name, '--netns', t.nodes[i].ns, '--log-format', 'json',
          '--subnet-file', '', '--metrics-addr', '127.0.0.1:0', '--interval', '1s']));
      }
      const [da, db, dc] = daemons;
      for (const d of [db, dc]) await d.waitForMsg(/^udp forwarder running/, 30_000);
      for (const d of [db, dc]) await d.waitForMsg(/^ready/, 30_000);

      // node-a: its kernel part converges, its forwarder cannot bind: not ready.
      const url = await da.metricsURL();
      await da.waitForMsg(/^udp forwarder failed: cannot bind udp 192\.0\.2\.10:8285 in \/run\/netns\/.*: bind: Address already in use/, 30_000);
      const okCycles = async () => Number(/^ovlnet_cycles_total\{result="ok"\} (\d+)$/m.exec((await httpGet(`${url}/metrics`)).body)?.[1] ?? 0);
      await eventually(okCycles, (n) => n >= 3, 'three successful cycles on node-a', 30_000, 200);
      const rz = await httpGet(`${url}/readyz`);
      assert.is(rz.status, 503, rz.body);
      assert.match(rz.body, /^not ready: data plane down: udp forwarder: cannot bind udp 192\.0\.2\.10:8285/);
      assert.match((await httpGet(`${url}/metrics`)).body, /^ovlnet_ready 0$/m);
      assert.is(da.lines.filter((l) => /^ready/.test(l.msg ?? '')).length, 0, `never logged ready:\n${da.log}`);
      assert.is((await httpGet(`${url}/healthz`)).status, 200, 'liveness is the loop\'s: alive');

      // The port is freed: the next cycle starts the forwarder, then the daemon is ready.
      blocker.child.kill('SIGKILL');
      await blocker.child;
      await da.waitForMsg(/^udp forwarder running/, 30_000);
      await da.waitForMsg(/^ready/, 30_000);
      assert.is((await httpGet(`${url}/readyz`)).status, 200);

      const [na, nb, nc] = t.nodes;
      for (const [from, to] of [[na, nb], [nb, nc], [nc, na], [nb, na], [na, nc], [nc, nb]]) {
        await eventually(() => ping(from, to.podGateway), (ok) => ok, `${from.name} -> ${to.name} pod gateway over udp`, 15_000, 200);
      }
    } finally {
      blocker.child.kill('SIGKILL');
      for (const d of daemons) await d.kill();
    }
  });
});

test.run();
