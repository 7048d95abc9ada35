// The daemon's long-lived ip/bridge -batch writers (src/host/batch-writer.ts)
// in a namespace: every batch is acknowledged under load (thousands queued at
// once), errors are attributed to the same lines as the one-shot writer's,
// and a writer that dies is replaced for the next batch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Batch } from '../../src/engine/batches.js';
import { BatchWriters } from '../../src/host/batch-writer.js';
import { writePhases } from '../../src/host/write.js';
import { addChange, fdb, neigh } from '../unit/support/build.js';
import { ipn, sh, withTopology } from '../lib/netns.js';

const MAC = (i: number) => `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const GW = (i: number) => `198.18.${(i >> 8) & 255}.${i & 255}`;

function neighBatch(from: number, to: number, dev = 'vx1'): Batch {
  const lines = [];
  for (let i = from; i < to; i++) {
    lines.push({ line: `neigh replace ${GW(i)} lladdr ${MAC(i)} dev ${dev} nud permanent`, change: addChange(neigh(dev, GW(i), MAC(i))) });
  }
  return { tool: 'ip', lines };
}

async function withVxlan(fn: (ns: string) => Promise<void>): Promise<void> {
  await withTopology(undefined, async (t) => {
    const ns = t.nodes[0].ns;
    await sh('ip', ['-n', ns, '-batch', '-'], 'link add vx1 type vxlan id 7 dstport 8472 local 127.0.0.1 nolearning\nlink set vx1 up\n');
    await fn(ns);
  });
}

test('thousands of batches queued at once: each acknowledged, every entry in the kernel', async () => {
  await withVxlan(async (ns) => {
    const w = new BatchWriters(ns);
    try {
      const batches = Array.from({ length: 2000 }, (_, k) => neighBatch(1 + k * 2, 3 + k * 2));
      const results = await Promise.all(batches.map((b) => w.write('ip', b.lines.map((l) => l.line))));
      assert.ok(results.every((r) => r.whole === undefined && r.errors.size === 0), JSON.stringify(results.find((r) => r.whole || r.errors.size)));
      const n = (await ipn(ns, 'neigh', 'show', 'dev', 'vx1', 'nud', 'permanent')).split('\n').filter(Boolean).length;
      assert.is(n, 4000);
      const f = await w.write('bridge', [`fdb replace ${MAC(1)} dev vx1 dst 192.0.2.1 self permanent`]);
      assert.equal([f.errors.size, f.whole], [0, undefined]);
    } finally {
      w.close();
    }
  });
});

test('errors are attributed to their lines exactly as by the one-shot writer', async () => {
  await withVxlan(async (ns) => {
    const mixed = (base: number): Batch[][] => [[{
      tool: 'ip',
      lines: [
        ...neighBatch(base, base + 2).lines,
        { line: `neigh replace ${GW(base + 2)} lladdr ${MAC(base + 2)} dev nosuch0 nud permanent`, change: addChange(neigh('nosuch0', GW(base + 2), MAC(base + 2))) },
        ...neighBatch(base + 3, base + 4).lines,
      ],
    }, {
      tool: 'bridge',
      lines: [
        { line: `fdb replace ${MAC(base)} dev nosuch0 dst 192.0.2.9 self permanent`, change: addChange(fdb('nosuch0', MAC(base), '192.0.2.9')) },
        { line: `fdb replace ${MAC(base)} dev vx1 dst 192.0.2.9 self permanent`, change: addChange(fdb('vx1', MAC(base), '192.0.2.9')) },
      ],
    }]];
    const shape = (r: Awaited<ReturnType<typeof writePhases>>) => r.failures.map((f) => `${f.line} => ${f.message}`).sort();
    const once = shape(await writePhases(mixed(10), ns));
    const w = new BatchWriters(ns);
    try {
      // Twice through the same processes: line numbers run on across batches.
      const long1 = shape(await writePhases(mixed(20), ns, w));
      const long2 = shape(await writePhases(mixed(30), ns, w));
      const norm = (xs: string[], base: number) => xs.map((x) => x.replaceAll(GW(base + 2), 'GW').replaceAll(MAC(base + 2), 'MAC').replaceAll(MAC(base), 'MAC0'));
      assert.is(once.length, 2, once.join('\n'));
      assert.equal(norm(long1, 20), norm(once, 10));
      assert.equal(norm(long2, 30), norm(once, 10));
    } finally {
      w.close();
    }
  });
});

test('a writer that died is started again for the next batch; the batch it held fails as a whole', async () => {
  await withVxlan(async (ns) => {
    const w = new BatchWriters(ns);
    try {
      assert.equal((await w.write('ip', neighBatch(1, 2).lines.map((l) => l.line))).errors.size, 0);
      const pid = w.pids.ip!;
      process.kill(pid, 'SIGKILL');
      // Wait for it to be gone, then write again: a new process.
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      let r = await w.write('ip', neighBatch(2, 3).lines.map((l) => l.line));
      // The write may have met the dying process (failed as a whole) or a new one.
      if (r.whole) r = await w.write('ip', neighBatch(2, 3).lines.map((l) => l.line));
      assert.equal([r.errors.size, r.whole], [0, undefined]);
      assert.is.not(w.pids.ip, pid);
      assert.match(await ipn(ns, 'neigh', 'show', 'dev', 'vx1'), GW(2));
    } finally {
      w.close();
    }
  });
});

test('a device deleted and created again through the writers: later batches reach the new one (no stale device index)', async () => {
  await withVxlan(async (ns) => {
    const w = new BatchWriters(ns);
    const add = 'link add vx2 type vxlan id 8 dstport 8472 local 127.0.0.1 nolearning';
    try {
      for (let round = 0; round < 2; round++) {
        const r = await w.write('ip', [...(round ? ['link del vx2'] : []), add, 'link set vx2 up']);
        assert.equal([r.errors.size, r.whole], [0, undefined], `round ${round}`);
        const f = await w.write('bridge', [`fdb replace ${MAC(round)} dev vx2 dst 192.0.2.${round + 1} self permanent`]);
        assert.equal([f.errors.size, f.whole], [0, undefined], `round ${round}: ${JSON.stringify([...f.errors])} ${f.whole}`);
        const n = await w.write('ip', [`neigh replace ${GW(round)} lladdr ${MAC(round)} dev vx2 nud permanent`]);
        assert.equal([n.errors.size, n.whole], [0, undefined], `round ${round}: ${JSON.stringify([...n.errors])} ${n.whole}`);
      }
      assert.match(await sh('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'vx2']), 'dst 192.0.2.2');
    } finally {
      w.close();
    }
  });
});

test('a batch that must go to a new process (a device created) takes the spare started after the last acknowledged batch, not a spawn on its path; the spare holds no stale device index', async () => {
  await withVxlan(async (ns) => {
    const w = new BatchWriters(ns);
    const add = 'link add vx2 type vxlan id 8 dstport 8472 local 127.0.0.1 nolearning';
    try {
      let r = await w.write('ip', [add, 'link set vx2 up']);
      assert.equal([r.errors.size, r.whole], [0, undefined]);
      r = await w.write('ip', [`neigh replace ${GW(1)} lladdr ${MAC(1)} dev vx2 nud permanent`]);
      assert.equal([r.errors.size, r.whole], [0, undefined]);
      for (let i = 0; i < 500 && w.sparePids.ip === undefined; i++) await new Promise((res) => setTimeout(res, 10));
      const spare = w.sparePids.ip;
      assert.ok(spare, 'a spare ip process');
      assert.is.not(spare, w.pids.ip);
      // The device goes behind the writers' back, then a batch creates it again.
      await sh('ip', ['-n', ns, 'link', 'del', 'vx2']);
      r = await w.write('ip', [add, 'link set vx2 up', `neigh replace ${GW(2)} lladdr ${MAC(2)} dev vx2 nud permanent`]);
      assert.equal([r.errors.size, r.whole], [0, undefined], JSON.stringify([...r.errors]));
      assert.is(w.pids.ip, spare, 'written by the spare');
      assert.match(await ipn(ns, 'neigh', 'show', 'dev', 'vx2'), GW(2));
    } finally {
      w.close();
    }
  });
});

test('a device deleted behind the writers\' back (its kernel event lost, no renew): a batch that creates it again reaches the new one', async () => {
  await withVxlan(async (ns) => {
    const w = new BatchWriters(ns);
    const add = 'link add vx2 type vxlan id 8 dstport 8472 local 127.0.0.1 nolearning';
    try {
      let r = await w.write('ip', [add]);
      assert.equal([r.errors.size, r.whole], [0, undefined]);
      // This process now knows vx2's index.
      r = await w.write('ip', ['link set vx2 up', `neigh replace ${GW(1)} lladdr ${MAC(1)} dev vx2 nud permanent`]);
      assert.equal([r.errors.size, r.whole], [0, undefined]);
      await sh('ip', ['-n', ns, 'link', 'del', 'vx2']);
      r = await w.write('ip', [add, 'link set vx2 up', `neigh replace ${GW(2)} lladdr ${MAC(2)} dev vx2 nud permanent`]);
      assert.equal([r.errors.size, r.whole], [0, undefined], JSON.stringify([...r.errors]));
      assert.match(await ipn(ns, 'link', 'show', 'vx2'), /,UP/);
      assert.match(await ipn(ns, 'neigh', 'show', 'dev', 'vx2'), GW(2));
    } finally {
      w.close();
    }
  });
});

test.run();
