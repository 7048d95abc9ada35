// The udp backend's forwarder cannot run in a namespace the daemon is not in
// (daemon --netns NS started outside NS): the kernel part converges, but no
// packet is forwarded. The daemon must never report ready then: no "ready"
// log line, no READY=1, /readyz 503 naming the data plane, ovlnet_ready 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DaemonProcess, eventually, httpGet } from '../lib/daemon.js';
import { clusterYAML, defaultNodes, withTopology } from '../lib/netns.js';

const specs = defaultNodes(3);
const [A] = specs;

test('udp with --netns outside the namespace: the kernel part converges, the daemon is never ready', async () => {
  await withTopology([A], async (t) => {
    const file = t.file('cluster.yaml', clusterYAML(specs, '{ type: udp, port: 8285 }'));
    const d = new DaemonProcess(['--source', `file:${file}`, '--node', A.name, '--netns', t.nodes[0].ns, '--log-format', 'json',
      '--subnet-file', '', '--metrics-addr', '127.0.0.1:0', '--interval', '1s']);
    try {
      const url = await d.metricsURL();
      await d.waitForMsg(/^udp forwarder failed: the udp forwarder must run inside network namespace/, 15_000);
      // Three successful cycles (1 s resync), each followed by a failed forwarder start.
      const okCycles = async () => Number(/^ovlnet_cycles_total\{result="ok"\} (\d+)$/m.exec((await httpGet(`${url}/metrics`)).body)?.[1] ?? 0);
      await eventually(okCycles, (n) => n >= 3, 'three successful cycles', 15_000, 200);
      const rz = await httpGet(`${url}/readyz`);
      assert.is(rz.status, 503, rz.body);
      assert.match(rz.body, /^not ready: data plane down: udp forwarder: the udp forwarder must run inside network namespace/);
      const m = await httpGet(`${url}/metrics`);
      assert.match(m.body, /^ovlnet_ready 0$/m);
      assert.is(d.lines.filter((l) => /^ready/.test(l.msg ?? '')).length, 0, `never logged ready:\n${d.log}`);
      // Liveness is the loop's: still alive.
      assert.is((await httpGet(`${url}/healthz`)).status, 200);
    } finally {
      await d.kill();
    }
  });
});

test.run();
