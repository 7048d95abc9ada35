// The daemon and its files: the subnet.env it writes by default, the cluster
// file it watches (half-written rewrites, recreated directories, ConfigMap
// symlink swaps). The daemon runs for node-a in a namespace, as a child
// process with JSON logs; every test kills it in a finally.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { DaemonProcess, eventually } from '../lib/daemon.js';
import { clusterYAML, defaultNodes, withTopology } from '../lib/netns.js';
import { listPrivate, privateRunWrapper, readPrivate } from '../lib/private-run.js';

const specs = defaultNodes(3);
const [A] = specs;

test('daemon --netns without --subnet-file writes the namespace\'s subnet.env, never the host\'s /run/flannel/subnet.env', async () => {
  const hostFileBefore = existsSync('/run/flannel/subnet.env');
  await withTopology([A], async (t) => {
    const file = t.file('cluster.yaml', clusterYAML(specs));
    const ns = t.nodes[0].ns;
    // /run is a private tmpfs for this daemon: the host's /run/flannel is never touched.
    const d = new DaemonProcess(['--source', `file:${file}`, '--node', A.name, '--netns', ns, '--log-format', 'json', '--interval', '1s'], { wrapper: privateRunWrapper(t.tmp) });
    try {
      const start = await d.waitForMsg(/^starting/);
      assert.is(start.subnet_file, `/run/flannel/netns/${ns}/subnet.env`, start.raw);
      await d.ready();
      await d.waitForMsg(/^wrote subnet file/);
      const pid = d.child.pid!;
      assert.equal(await listPrivate(pid, '/run/flannel'), [`/run/flannel/netns/${ns}/subnet.env`]);
      assert.match((await readPrivate(pid, `/run/flannel/netns/${ns}/subnet.env`))!, /^FLANNEL_SUBNET=198\.18\.0\.1\/24$/m);
      assert.is(await readPrivate(pid, '/run/flannel/subnet.env'), undefined);
    } finally {
      await d.kill();
    }
  });
  assert.is(existsSync('/run/flannel/subnet.env'), hostFileBefore, "the host's /run/flannel is untouched");
});

test.run();
