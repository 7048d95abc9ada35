// The daemon and its files: the subnet.env it writes by default, the cluster
// file it watches (half-written rewrites, recreated directories, ConfigMap
// symlink swaps). The daemon runs for node-a in a namespace, as a child
// process with JSON logs; every test kills it in a finally.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, eventually } from '../lib/daemon.js';
import { clusterYAML, defaultNodes, ipn, withTopology, type NodeSpec, type Topology } from '../lib/netns.js';
import { listPrivate, privateRunWrapper, readPrivate } from '../lib/private-run.js';

const specs = defaultNodes(3);
const [A] = specs;
const five = defaultNodes(6);

/** Runs a daemon for node-a (only node-a has a namespace: vxlan peers are programmed whether they exist or not). */
async function withFileDaemon(file: (t: Topology) => string, extra: string[], fn: (t: Topology, d: DaemonProcess) => Promise<void>): Promise<void> {
  await withTopology([A], async (t) => {
    const d = new DaemonProcess(['--source', `file:${file(t)}`, '--node', A.name, '--netns', t.nodes[0].ns, '--log-format', 'json', '--subnet-file', '', ...extra]);
    try {
      await fn(t, d);
    } finally {
      await d.kill();
    }
  });
}

const routes = (ns: string) => ipn(ns, 'route', 'show', 'proto', '244');
const routed = (r: string, n: NodeSpec) => r.includes(n.subnet);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

// `cat > file`, an editor without backup-rename, a config-management tool
// writing in place: the file is truncated, then written in chunks. The
// daemon must never plan from the first chunk alone. The writer pauses
// 500 ms after the chunk that ends at node-c's line (valid YAML listing
// a, b, c): before the fix the daemon removed node-d's and node-e's routes
// (2 of 4 peers, within the --max-delete guard) until the rest arrived.
test('a cluster file rewritten in place, with a pause mid-write, never removes a peer; the finished file is applied', async () => {
  const before = clusterYAML(five.slice(0, 5));
  const after = clusterYAML(five);
  const cut = after.indexOf('\n', after.indexOf('name: node-c')) + 1;
  await withFileDaemon((t) => t.file('cluster.yaml', before), ['--interval', '1m'], async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    const peers = five.slice(1, 5);
    const start = await routes(ns);
    assert.ok(peers.every((p) => routed(start, p)), start);
    let missing = '';
    let watching = true;
    // Every 20 ms until the end, bounded by the test's own deadlines below.
    const watcher = (async () => {
      for (let i = 0; watching && i < 2000; i++) {
        const r = await routes(ns);
        const gone = peers.filter((p) => !routed(r, p)).map((p) => p.name);
        if (gone.length && !missing) missing = `${gone.join(', ')} unrouted at poll ${i}:\n${r}`;
        await sleep(20);
      }
    })();
    try {
      const file = join(t.tmp, 'cluster.yaml');
      const fd = openSync(file, 'w');
      writeSync(fd, after.slice(0, cut));
      await sleep(500);
      writeSync(fd, after.slice(cut));
      closeSync(fd);
      await eventually(() => routes(ns), (r) => routed(r, five[5]), 'node-f (added by the finished file) routed', 10_000, 50);
    } finally {
      watching = false;
      await watcher;
    }
    assert.is(missing, '', 'no peer was ever unrouted');
    const removals = d.lines.filter((l) => l.msg?.startsWith('cycle: applied') && Number(l.removed ?? 0) > 0);
    assert.equal(removals.map((l) => l.raw), [], 'no cycle removed anything');
  });
});

// A removal written in place is applied, once a second read agrees.
test('a node removed by an in-place write is unrouted after the confirming read', async () => {
  await withFileDaemon((t) => t.file('cluster.yaml', clusterYAML(specs)), ['--interval', '1m'], async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    writeFileSync(join(t.tmp, 'cluster.yaml'), clusterYAML([specs[0], specs[2]]));
    await eventually(() => routes(ns), (r) => !routed(r, specs[1]) && routed(r, specs[2]), 'node-b unrouted', 10_000, 50);
  });
});

/** A Kubernetes ConfigMap volume: cluster.yaml -> ..data/cluster.yaml, ..data -> ..<timestamp>/ (atomic writer). */
function configMapVolume(dir: string, text: string, generation: number): void {
  const gen = join(dir, `..2026_12_03_10_00_0${generation}.000000001`);
  mkdirSync(gen, { recursive: true });
  writeFileSync(join(gen, 'cluster.yaml'), text);
  symlinkSync(gen.slice(dir.length + 1), join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  if (generation === 1) symlinkSync('..data/cluster.yaml', join(dir, 'cluster.yaml'));
  else rmSync(join(dir, `..2026_12_03_10_00_0${generation - 1}.000000001`), { recursive: true });
}

test('a ConfigMap-style ..data symlink swap is picked up by the watch', async () => {
  await withFileDaemon((t) => {
    configMapVolume(join(t.tmp, 'cm'), clusterYAML([A]), 1);
    return join(t.tmp, 'cm', 'cluster.yaml');
  }, ['--interval', '1m'], async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    configMapVolume(join(t.tmp, 'cm'), clusterYAML(specs.slice(0, 2)), 2);
    await eventually(() => routes(ns), (r) => routed(r, specs[1]), 'node-b routed after the first swap', 5000, 50);
    configMapVolume(join(t.tmp, 'cm'), clusterYAML(specs), 3);
    await eventually(() => routes(ns), (r) => routed(r, specs[2]), 'node-c routed after the second swap', 5000, 50);
  });
});

test('a replaced directory is watched again (logged), and so is a deleted one once it is back', async () => {
  await withFileDaemon((t) => {
    mkdirSync(join(t.tmp, 'conf'));
    return t.file('conf/cluster.yaml', clusterYAML([A]));
  }, ['--interval', '1m'], async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    const conf = join(t.tmp, 'conf');
    // Replaced whole (a deploy tool swapping directories): nothing happens in the watched one any more.
    mkdirSync(join(t.tmp, 'conf.new'));
    writeFileSync(join(t.tmp, 'conf.new', 'cluster.yaml'), clusterYAML(specs.slice(0, 2)));
    renameSync(conf, join(t.tmp, 'conf.old'));
    renameSync(join(t.tmp, 'conf.new'), conf);
    await eventually(() => routes(ns), (r) => routed(r, specs[1]), 'node-b routed from the new directory', 5000, 50);
    await d.waitForMsg(/^file watch re-established on .*conf \(the directory was replaced\)/, 5000);
    // An in-place write in the new directory is seen.
    writeFileSync(join(conf, 'cluster.yaml'), clusterYAML(specs));
    await eventually(() => routes(ns), (r) => routed(r, specs[2]), 'node-c routed after an edit in the new directory', 5000, 50);

    // Deleted, then made again.
    const from = d.lines.length;
    rmSync(conf, { recursive: true });
    await d.waitFor((l) => /^source watch failed: cannot watch .*conf: no such directory/.test(l.msg ?? ''), 'the lost watch reported', 5000, from);
    mkdirSync(conf);
    writeFileSync(join(conf, 'cluster.yaml'), clusterYAML([...specs, five[3]]));
    await d.waitForMsg(/^file watch re-established on .*conf$/, 5000);
    await eventually(() => routes(ns), (r) => routed(r, five[3]), 'node-d routed from the recreated directory', 5000, 50);
  });
});

test.run();
