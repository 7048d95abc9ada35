// The daemon's cost per cluster event: one peer's VTEP MAC changes in the
// source (the cluster file replaced, or a put to etcd), one at a time; for
// each, the time until the new neighbour and fdb entries are in the kernel
// (`ip monitor neigh`, `bridge monitor fdb` inside the namespace), and the
// daemon's CPU time over all of them (every thread's, from
// /proc/PID/task/*/schedstat, in ns) divided by the number of changes, and
// net of what it costs idle (measured over 10 s, --events-idle-seconds, before the changes, once the
// daemon has settled: `diff` finds the namespace in sync and the daemon's CPU
// has dropped to idle, since the first cycle's verify and the kept plan's
// seeding run on after the kernel is in sync). At two cluster sizes, so a
// cost that grows with the cluster shows (the daemon's incremental planning
// aims at a constant one: docs/performance.md). --events-node-flags passes
// Node flags to the daemon (`--cpu-prof --cpu-prof-dir=DIR` for a profile).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterDoc, createNamespace, deleteNamespace, listOf, nodeSpec, onCleanup, percentile, tempDir, unknownSource, writeAtomic } from './lib.mjs';
import { etcdSource, fileSource, lineWatcher, statusKB, waitConverged } from './daemon.mjs';
import { floorRun } from './events-floor.mjs';
import { kubeSource } from './memory.mjs';
import { NODE, OVLNET as OWN_OVLNET, fmtMs, log } from './ovlnet.mjs';

/** The kube source of the memory scenario (realistic ~6 KB Nodes from a loopback API stand-in), timed from the MODIFIED event. */
async function kubeEvents(dir, peers, salts) {
  const k = await kubeSource(dir, peers, salts);
  return { ...k, async change(_doc, n) { const start = process.hrtime.bigint(); await k.change(n); return start; } };
}

/** CPU time of every thread of `pid` so far, in ms (undefined once it is gone). */
function cpuMs(pid) {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch { /* a thread that ended meanwhile */ }
    }
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

/** MAC salts of the warm-up changes (the measured ones use 2, 3, ...), and the pause after each. */
const WARMUP_SALT = 20000;
const WARMUP_GAP_MS = 50;

/** A daemon at rest spends a few ms per second (timers, lease renewal, GC); converging, hundreds. */
const SETTLED_MS_PER_S = 50;
const SETTLE_WINDOW_MS = 1000;

/**
 * Waits until the daemon's CPU over a 1 s window is below SETTLED_MS_PER_S
 * (its first cycle done, the plan seeded), at most `deadlineMs`; returns
 * the ms waited, or undefined when it never settled (no idle figure then).
 */
async function settled(pid, deadlineMs) {
  const t0 = performance.now();
  while (performance.now() - t0 < deadlineMs) {
    const c0 = cpuMs(pid);
    const w0 = performance.now();
    await sleep(SETTLE_WINDOW_MS);
    const rate = (cpuMs(pid) - c0) / ((performance.now() - w0) / 1000);
    if (rate < SETTLED_MS_PER_S) return performance.now() - t0;
  }
  return undefined;
}

async function eventsRun(kind, peers, changes, nodeFlags, idleMs, OVLNET, warmup = 0, logLevel = 'warn') {
  const dir = join(tempDir(), `events-${kind}-${peers}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'cluster.json');
  const salts = new Map();
  writeAtomic(file, JSON.stringify(clusterDoc(peers, salts)));
  const src = kind === 'etcd' ? await etcdSource(clusterDoc(peers, salts)) : kind === 'kube' ? await kubeEvents(dir, peers, salts) : fileSource(file);
  const ns = createNamespace();
  const stderr = [];
  // A resync (full replan) must not fall inside the measurement: an hour.
  const d = spawn(NODE, [...nodeFlags, OVLNET, 'daemon', ...src.daemonArgs(ns), '--interval', '1h', '--subnet-file', join(dir, 'subnet.env'), '--log-level', logLevel], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  d.stderr.on('data', (b) => stderr.push(b));
  let exited;
  const exitP = new Promise((res) => d.on('close', (code, sig) => { exited = { code, sig }; res(); }));
  onCleanup(() => { if (!exited) d.kill('SIGKILL'); });
  const watchers = [];
  try {
    if (!await waitConverged(src.diffArgs(ns), 180000, () => exited !== undefined)) {
      return { source: kind, peers, notRun: `the daemon did not converge: ${Buffer.concat(stderr).toString().trim().split('\n').slice(-3).join(' | ')}` };
    }
    const neigh = lineWatcher('ip', ['-n', ns, 'monitor', 'neigh']);
    const fdb = lineWatcher('bridge', ['-n', ns, 'monitor', 'fdb']);
    watchers.push(neigh, fdb);
    // Let the monitors subscribe and the daemon settle after the diffs above:
    // in sync is not idle yet (the first cycle's verify read and the kept plan's seeding follow).
    await sleep(1000);
    // Changes before the measured ones, not counted (--events-warmup): the daemon's steady state, its
    // event path compiled and the heap past the collections that follow the start, instead of its first minute.
    for (let i = 0; i < warmup; i++) {
      const k = 1 + ((i * 104729 + 17) % peers);
      const n = nodeSpec(k, WARMUP_SALT + i);
      salts.set(k, WARMUP_SALT + i);
      const gw = n.subnet.split('/')[0];
      const pN = neigh.waitFor((l) => l.startsWith(`${gw} `) && l.includes(`lladdr ${n.vtepMAC}`) && !l.startsWith('Deleted'), 10000);
      await src.change(clusterDoc(peers, salts), n);
      await pN;
      await sleep(WARMUP_GAP_MS);
    }
    const settleMs = await settled(d.pid, 120000);
    if (settleMs === undefined) {
      return { source: kind, peers, notRun: `the daemon's CPU did not drop below ${SETTLED_MS_PER_S} ms/s within 120 s of converging` };
    }
    // What the daemon costs doing nothing (timers, lease renewal, GC): subtracted for the net figure.
    const idle0 = cpuMs(d.pid);
    const idleT0 = performance.now();
    // 10 s by default: one round of the default --probe-interval and two of --iptables-resync,
    // whose spawns are most of the idle cost; a shorter window catches a varying share of them.
    await sleep(idleMs);
    const idleMsPerS = (cpuMs(d.pid) - idle0) / ((performance.now() - idleT0) / 1000);
    const loopT0 = performance.now();
    // On the monotonic clock a --cpu-prof profile's timestamps use (µs): the changes' window in it.
    const loopUs0 = Number(process.hrtime.bigint() / 1000n);
    const lat = [];
    let timeouts = 0;
    let cpu = 0;
    for (let i = 0; i < changes; i++) {
      const k = 1 + ((i * 7919) % peers);
      salts.set(k, 2 + i);
      const n = nodeSpec(k, 2 + i);
      const gw = n.subnet.split('/')[0];
      const doc = clusterDoc(peers, salts);
      const pN = neigh.waitFor((l) => l.startsWith(`${gw} `) && l.includes(`lladdr ${n.vtepMAC}`) && !l.startsWith('Deleted'), 10000);
      const pF = fdb.waitFor((l) => l.startsWith(`${n.vtepMAC} `) && l.includes(`dst ${n.publicIP}`) && !l.startsWith('Deleted'), 10000);
      // The file's JSON is written before the clock and the CPU count start: it is the source's cost, not the daemon's.
      const before = cpuMs(d.pid);
      const start = await src.change(doc, n);
      const [tn, tf] = await Promise.all([pN, pF]);
      // The rest of the cycle (the model kept) after the kernel has the entries.
      await sleep(200);
      cpu += cpuMs(d.pid) - before;
      if (tn === undefined || tf === undefined) timeouts++;
      else lat.push(Number((tn > tf ? tn : tf) - start) / 1e6);
    }
    const loopS = (performance.now() - loopT0) / 1000;
    const loopUs1 = Number(process.hrtime.bigint() / 1000n);
    const inSync = await waitConverged(src.diffArgs(ns), 30000);
    return {
      source: kind, peers, changes, warmup, timeouts, inSyncAfter: inSync, settleMs, monotonicUs: [loopUs0, loopUs1],
      cpuMsPerChange: cpu / changes,
      idleCpuMsPerS: idleMsPerS,
      // The changes' own CPU: the counted windows hold loopS of idling too.
      netCpuMsPerChange: Math.max(0, cpu - idleMsPerS * loopS) / changes,
      p50Ms: lat.length ? percentile(lat, 50) : NaN,
      p99Ms: lat.length ? percentile(lat, 99) : NaN,
      latenciesMs: lat.map((x) => Math.round(x * 100) / 100),
      rssMB: statusKB(d.pid, 'VmRSS') / 1024,
    };
  } finally {
    for (const w of watchers) w.stop();
    if (!exited) {
      d.kill('SIGTERM');
      const t = setTimeout(() => d.kill('SIGKILL'), 10000);
      await exitP;
      clearTimeout(t);
    }
    deleteNamespace(ns);
    await src.stop();
  }
}

const list = listOf;
const SOURCES = ['file', 'etcd', 'kube'];

export default {
  name: 'events',
  options: {
    'events-sources': { type: 'string', default: 'file,etcd', quick: 'etcd', help: 'sources for the per-event cost (file, etcd, kube: realistic Node objects)' },
    'events-peers': { type: 'string', default: '5000,10000', quick: '1000', help: 'cluster sizes for the per-event cost' },
    'events-changes': { type: 'string', default: '30', quick: '5', help: 'single-peer changes per size and source' },
    'events-warmup': { type: 'string', default: '0', help: 'single-peer changes run first and not counted (the steady state rather than the first minute after the start)' },
    'events-idle-seconds': { type: 'string', default: '10', quick: '3', help: 'the daemon\'s idle CPU is read over this long before the changes' },
    'events-node-flags': { type: 'string', default: '', help: 'Node flags for the daemon (--events-node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof")' },
    'events-floor': { type: 'string', default: 'yes', help: 'also time the same changes through long-lived ip/bridge -batch with no ovlnet in the loop (yes|no): the floor under the latency' },
    'events-log-level': { type: 'string', default: 'warn', help: "the daemon's --log-level (info, the default as shipped, adds a log line per change to a pipe the bench drains)" },
    'events-ovlnet': { type: 'string', default: '', help: "another build's bin/ovlnet (before/after figures)" },
  },
  needsEtcd: (opt) => list(opt['events-sources']).includes('etcd'),
  validate(opt) {
    if (!['yes', 'no'].includes(opt['events-floor'])) return `--events-floor ${opt['events-floor']}: expected yes or no`;
    if (!['debug', 'info', 'warn', 'error'].includes(opt['events-log-level'])) return `--events-log-level ${opt['events-log-level']}: expected debug, info, warn or error`;
    return unknownSource('events-sources', list(opt['events-sources']), SOURCES);
  },
  enabled: (opt) => list(opt['events-sources']).length > 0 && list(opt['events-peers']).length > 0,
  async run({ opt }) {
    const out = [];
    for (const p of list(opt['events-peers']).map(Number)) {
      for (const kind of list(opt['events-sources'])) {
        log(`\n== daemon per event, ${kind} source, ${p} peers`);
        let r;
        try {
          r = await eventsRun(kind, p, Number(opt['events-changes']), opt['events-node-flags'].split(/\s+/).filter(Boolean), Number(opt['events-idle-seconds']) * 1000, opt['events-ovlnet'] || OWN_OVLNET, Number(opt['events-warmup']), opt['events-log-level']);
        } catch (e) {
          r = { source: kind, peers: p, notRun: String(e?.message ?? e).split('\n')[0] };
        }
        out.push(r);
        log(r.notRun ? `  not run: ${r.notRun}` : `  CPU ${fmtMs(r.cpuMsPerChange)} ms per change (${fmtMs(r.netCpuMsPerChange)} net of idle); change -> kernel p50 ${fmtMs(r.p50Ms)} ms, p99 ${fmtMs(r.p99Ms)} ms`);
      }
      if (opt['events-floor'] !== 'no') {
        log(`\n== the floor: the same changes through ip/bridge -batch, no ovlnet, ${p} peers`);
        let r;
        try {
          r = await floorRun(p, Number(opt['events-changes']));
        } catch (e) {
          r = { source: 'floor', peers: p, notRun: String(e?.message ?? e).split('\n')[0] };
        }
        out.push(r);
        log(r.notRun ? `  not run: ${r.notRun}` : `  change -> kernel p50 ${fmtMs(r.p50Ms)} ms, p99 ${fmtMs(r.p99Ms)} ms`);
      }
    }
    return out;
  },
  report(runs) {
    return runs.map((r) => (r.notRun ? `daemon per event (${r.peers} peers, ${r.source}): not run: ${r.notRun}`
      : r.source === 'floor' ? `floor per event (${r.peers} peers, ip/bridge -batch, no ovlnet): change -> kernel p50 ${fmtMs(r.p50Ms)} ms, p99 ${fmtMs(r.p99Ms)} ms over ${r.latenciesMs.length} changes (${r.timeouts} timeouts)`
      : r.notRun
      ? `daemon per event (${r.peers} peers, ${r.source}): not run: ${r.notRun}`
      : `daemon per event (${r.peers} peers, ${r.source}): CPU ${fmtMs(r.cpuMsPerChange)} ms per change (${fmtMs(r.netCpuMsPerChange)} net of ${fmtMs(r.idleCpuMsPerS)} ms/s idle, settled ${fmtMs(r.settleMs)} ms after in sync); change -> kernel p50 ${fmtMs(r.p50Ms)} ms, p99 ${fmtMs(r.p99Ms)} ms over ${r.latenciesMs.length} changes (${r.timeouts} timeouts${r.warmup ? `, after ${r.warmup} not counted` : ''})${r.inSyncAfter ? '' : '; NOT in sync after'}`));
  },
};
