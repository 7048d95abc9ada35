// Two writers on one network namespace (src/host/lock.ts): an apply refuses
// while a daemon owns the namespace, naming it (--force goes ahead); a second
// daemon refuses to start (--force runs anyway); an apply waits for another
// apply. Locks live in $OVLNET_RUN_DIR, a temporary directory test/run.mjs
// gives each test file, never the host's /run/ovlnet.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { lockFileName } from '../../src/host/lock.js';
import { ovlnet } from '../lib/cli.js';
import { DaemonProcess, eventually } from '../lib/daemon.js';
import { clusterYAML, defaultNodes, ipn, withTopology } from '../lib/netns.js';

const specs = defaultNodes(3);
const [A, B, C] = specs;
const routes = (ns: string) => ipn(ns, 'route', 'show', 'proto', '244');

test('apply refuses while a daemon owns the namespace, naming its pid and source; --force goes ahead; a second daemon refuses to start', async () => {
  assert.ok(process.env.OVLNET_RUN_DIR && !process.env.OVLNET_RUN_DIR.startsWith('/run'), 'a temporary run directory');
  await withTopology([A], async (t) => {
    const ns = t.nodes[0].ns;
    const file = t.file('cluster.yaml', clusterYAML([A, B]));
    const other = t.file('other.yaml', clusterYAML([A, C]));
    const args = ['--source', `file:${file}`, '--node', A.name, '--netns', ns, '--log-format', 'json', '--subnet-file', '', '--interval', '1m'];
    const d = new DaemonProcess(args);
    try {
      await d.ready();
      const owner = JSON.parse(readFileSync(join(process.env.OVLNET_RUN_DIR!, `${lockFileName(ns)}.owner`), 'utf8'));
      assert.equal([owner.pid, owner.kind, owner.source], [d.child.pid, 'daemon', `file:${file}`]);
      const before = await routes(ns);

      const r = await ovlnet(['apply', '--source', `file:${other}`, '--node', A.name, '--netns', ns]);
      assert.is.not(r.code, 0, r.stdout + r.stderr);
      assert.ok(r.stderr.includes(`network namespace ${ns} is owned by ovlnet daemon pid ${d.child.pid} (source file:${file}, since `), r.stderr);
      assert.match(r.stderr, /--force/);
      assert.is(await routes(ns), before, 'nothing changed');
      // The lock is the namespace's, not its name's: an apply run inside it (no --netns) is refused too.
      const inside = await ovlnet(['apply', '--source', `file:${other}`, '--node', A.name], { prefix: ['ip', 'netns', 'exec', ns] });
      assert.is.not(inside.code, 0, inside.stdout + inside.stderr);
      assert.match(inside.stderr, new RegExp(`the network namespace this runs in is owned by ovlnet daemon pid ${d.child.pid} `));
      assert.is(await routes(ns), before, 'nothing changed');

      const forced = await ovlnet(['apply', '--source', `file:${other}`, '--node', A.name, '--netns', ns, '--force']);
      assert.is(forced.code, 0, forced.stdout + forced.stderr);
      assert.match(forced.stderr, /--force: applying although network namespace .* is owned by ovlnet daemon pid/);
      // It wrote C's route (the daemon, which follows kernel events, may put its own plan back at once: that is what --force risks).
      assert.match(forced.stdout, /198\.18\.2\.0\/24/);

      const d2 = new DaemonProcess(args);
      try {
        const exit = await eventually(async () => d2.exited, (e) => e !== undefined, 'the second daemon exits', 15_000, 100).then(() => d2.exited!);
        assert.is.not(exit.code, 0);
        assert.match(d2.log, new RegExp(`is owned by ovlnet daemon pid ${d.child.pid}`));
      } finally {
        await d2.kill();
      }
      const d3 = new DaemonProcess([...args, '--force']);
      try {
        await d3.waitForMsg(/^--force: running although network namespace .* is owned by ovlnet daemon pid/, 10_000);
      } finally {
        await d3.kill();
      }
    } finally {
      await d.kill();
    }
    // Killed with -9: the kernel dropped its lock; an apply goes through.
    const after = await ovlnet(['apply', '--source', `file:${file}`, '--node', A.name, '--netns', ns]);
    assert.is(after.code, 0, after.stdout + after.stderr);
  });
});

test('an apply waits for another apply holding the namespace, then runs', async () => {
  await withTopology([A], async (t) => {
    const ns = t.nodes[0].ns;
    const file = t.file('cluster.yaml', clusterYAML([A, B]));
    const lock = join(process.env.OVLNET_RUN_DIR!, lockFileName(ns));
    // Another apply: the lock held for 3 s, its owner file written.
    writeFileSync(`${lock}.owner`, JSON.stringify({ pid: 1, kind: 'apply', source: 'file:/elsewhere', since: new Date().toISOString() }));
    // flock --verbose reports on its stdout, at exit.
    const holder = execa('flock', ['--verbose', lock, 'sleep', '3'], { reject: false });
    const holderEnd = holder.then((h) => ({ at: Date.now(), out: String(h.stdout) }));
    await eventually(async () => existsSync(lock), (v) => v, 'the holder took the lock', 5000);
    await new Promise((r) => setTimeout(r, 100));
    const r = await ovlnet(['apply', '--source', `file:${file}`, '--node', A.name, '--netns', ns]);
    const applyEnd = Date.now();
    const h = await holderEnd;
    assert.match(h.out, /getting lock took/, 'the holder held the lock');
    assert.ok(applyEnd >= h.at, 'the apply finished after the other apply released the namespace');
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(await routes(ns), /198\.18\.1\.0\/24/);
  });
});

test.run();
