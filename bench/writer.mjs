// Per-change write latency: one peer's neighbour, fdb entry and route (three
// phases, as the daemon writes a new peer) through the one-shot writer (a
// process per batch) and through the daemon's long-lived ip/bridge -batch
// writers (src/host/batch-writer.ts), alternating, in a namespace.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createNamespace, deleteNamespace, percentile } from './lib.mjs';
import { ROOT, fmtMs, log } from './ovlnet.mjs';

const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', 'src', p)).href);

async function writerRun(changes) {
  const { writePhases } = await dist('host/write.js');
  const { BatchWriters } = await dist('host/batch-writer.js');
  const ns = createNamespace();
  const { execFileSync } = await import('node:child_process');
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: 'link add flannel.1 type vxlan id 1 dstport 8472 local 198.19.0.1 nolearning\nlink set flannel.1 up\n' });
  const writers = new BatchWriters(ns);
  const hex = (i) => [(i >> 8) & 255, i & 255].map((x) => x.toString(16).padStart(2, '0')).join(':');
  const phases = (i, salt) => {
    const gw = `198.18.${(i >> 6) & 255}.${(i & 63) * 4}`;
    const mac = `0e:${salt}:00:00:${hex(i)}`;
    const change = { kind: 'neigh', action: 'add', key: `bench:${i}` };
    return [
      [{ tool: 'ip', lines: [{ line: `neigh replace ${gw} lladdr ${mac} dev flannel.1 nud permanent`, change }] }],
      [{ tool: 'bridge', lines: [{ line: `fdb replace ${mac} dev flannel.1 dst 198.19.${(i >> 8) & 255}.${i & 255} self permanent`, change }] }],
      [{ tool: 'ip', lines: [{ line: `route replace ${gw}/30 via ${gw} dev flannel.1 onlink proto 244`, change }] }],
    ];
  };
  const once = [];
  const long = [];
  try {
    await writePhases(phases(0, '01'), ns, writers); // start the processes
    for (let i = 1; i <= changes; i++) {
      for (const [out, w, salt] of [[once, undefined, '02'], [long, writers, '03']]) {
        const t = process.hrtime.bigint();
        const r = await writePhases(phases(i, salt), ns, w);
        out.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (r.failures.length) throw new Error(`write failed: ${r.failures[0].line}: ${r.failures[0].message}`);
      }
    }
  } finally {
    writers.close();
    deleteNamespace(ns);
  }
  const st = (xs) => ({ p50Ms: percentile(xs, 50), p99Ms: percentile(xs, 99), samplesMs: xs.map((x) => Math.round(x * 100) / 100) });
  return { changes, oneShot: st(once), longLived: st(long) };
}

export default {
  name: 'writer',
  options: {
    'writer-changes': { type: 'string', default: '200', quick: '30', help: 'single-peer writes (neighbour, fdb, route) with each writer; 0: not run' },
  },
  enabled: (opt) => Number(opt['writer-changes']) > 0,
  async run({ opt }) {
    log('\n== per-change write latency: one-shot vs long-lived ip/bridge -batch');
    const r = await writerRun(Number(opt['writer-changes']));
    log(`  one-shot p50 ${fmtMs(r.oneShot.p50Ms)} ms, long-lived p50 ${fmtMs(r.longLived.p50Ms)} ms`);
    return r;
  },
  report(r) {
    return [`writer: one peer's neighbour + fdb + route (3 phases), ${r.changes} changes: one process per batch p50 ${fmtMs(r.oneShot.p50Ms)} ms, p99 ${fmtMs(r.oneShot.p99Ms)} ms; long-lived ip/bridge -batch p50 ${fmtMs(r.longLived.p50Ms)} ms, p99 ${fmtMs(r.longLived.p99Ms)} ms`];
  },
};
