// The daemon's start: time from spawning `ovlnet daemon` to its "ready:
// first cycle converged" log line, on an empty namespace (every entry is
// written), per source. A scenario of bench/run.mjs: `node bench/run.mjs
// --only start [--start-sources file,etcd,kube] [--start-peers 5000]
// [--start-runs 3] [--start-ovlnet PATH [--start-alternate]]`.
//
// The sources are the memory scenario's (bench/memory.mjs): a JSON cluster
// file, a real etcd with flannel's v3 schema (one etcd lease per node, the
// local lease pre-written: the daemon renews it), the loopback Kubernetes API
// stand-in with realistic ~6 KB Node objects. Each run is a fresh namespace
// and a fresh subnet file; the source stays up between runs. The daemon runs
// at --log-level debug (--start-ovlnet: another build's bin/ovlnet): the
// offsets of its log lines from the spawn (registration, the first cycle's
// stages) are kept in the raw figures, and its CPU time until ready (the
// ready line's cpu_ms; its ip/bridge children not included), steadier than
// the wall time on a shared host. --start-alternate with --start-ovlnet:
// the runs alternate between that build and this one, one by one, so both
// see the same load (before/after figures on a busy host).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createNamespace, deleteNamespace, followDaemon, listOf, median, onCleanup, stopDaemon, tempDir, timed, unknownSource } from './lib.mjs';
import { etcdSource, fileSource, kubeSource } from './memory.mjs';
import { NODE, OVLNET, log } from './ovlnet.mjs';

const SOURCES = ['file', 'etcd', 'kube'];
const sourcesOf = (opt) => listOf(opt['start-sources']);

/** One start: ms from spawn to ready, and the offsets of the daemon's log lines. */
async function startOnce(src, dir, run, ovlnet) {
  const ns = createNamespace();
  const runDir = join(dir, `run-${run}`);
  mkdirSync(runDir, { recursive: true });
  const lines = [];
  const t0 = Date.now();
  const d = spawn(NODE, [ovlnet, 'daemon', ...src.daemonArgs(ns), '--interval', '1h', '--subnet-file', join(runDir, 'subnet.env'),
    '--log-level', 'debug', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited;
  const exitP = new Promise((res) => d.on('close', (code, sig) => { exited = { code, sig }; res(); }));
  onCleanup(() => { if (!exited) d.kill('SIGKILL'); });
  const follow = followDaemon(d, exitP, {
    onLine: ({ time, level: _level, msg, ...fields }) => lines.push({ atMs: Date.parse(time) - t0, msg, ...fields }),
  });
  try {
    const r = await follow.ready;
    const readyMs = r && r.at - t0;
    if (readyMs === undefined) {
      const why = exited ? `exited (${exited.code ?? exited.sig})` : 'not ready within 300 s';
      return { notRun: `the daemon ${why}: ${follow.tail()}` };
    }
    // Ready must mean converged: a diff from the same source finds nothing to do.
    const diff = await timed(NODE, [OVLNET, 'diff', ...src.diffArgs(ns)]);
    const at = (re) => lines.find((l) => re.test(l.msg))?.atMs;
    const stages = lines.find((l) => l.msg === 'cycle stages');
    return {
      readyMs,
      startupMs: lines.find((l) => l.startup_ms !== undefined)?.startup_ms,
      cpuMs: lines.find((l) => l.cpu_ms !== undefined)?.cpu_ms,
      startingAtMs: at(/^starting$/),
      registeredAtMs: at(/^registered this node/),
      appliedAtMs: at(/^cycle: applied/),
      stages,
      inSync: diff.code === 0,
      lines,
    };
  } finally {
    if (!exited) await stopDaemon(d, exitP);
    deleteNamespace(ns);
  }
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
const med = (runs, f) => {
  const xs = runs.map(f).filter(Number.isFinite);
  return xs.length ? median(xs) : NaN;
};

export default {
  name: 'start',
  options: {
    'start-sources': { type: 'string', default: 'file,etcd,kube', help: 'sources for the daemon start (file, etcd, kube; empty: none)' },
    'start-peers': { type: 'string', default: '5000', quick: '1000', help: 'peers (kube: realistic Node objects)' },
    'start-runs': { type: 'string', default: '3', quick: '1', help: 'starts per source (the median is reported)' },
    'start-ovlnet': { type: 'string', default: '', help: 'another build\'s bin/ovlnet (before/after figures)' },
    'start-alternate': { type: 'boolean', default: false, help: 'with --start-ovlnet: alternate run by run between that build and this one' },
  },
  needsEtcd: (opt) => sourcesOf(opt).includes('etcd'),
  validate(opt) {
    return unknownSource('start-sources', sourcesOf(opt), SOURCES);
  },
  enabled: (opt) => sourcesOf(opt).length > 0,
  async run({ opt }) {
    const peers = Number(opt['start-peers']);
    const runs = Math.max(1, Number(opt['start-runs']));
    const ovlnet = opt['start-ovlnet'] ? resolve(opt['start-ovlnet']) : OVLNET;
    const alternate = Boolean(opt['start-alternate']) && ovlnet !== OVLNET;
    const out = [];
    for (const kind of sourcesOf(opt)) {
      log(`\n== daemon start, ${kind} source, ${peers} peers`);
      const dir = join(tempDir(), `start-${kind}-${peers}`);
      mkdirSync(dir, { recursive: true });
      const salts = new Map();
      let src;
      const r = { source: kind, peers, runs: [] };
      try {
        src = kind === 'file' ? fileSource(dir, peers, salts) : kind === 'etcd' ? await etcdSource(peers, salts) : await kubeSource(dir, peers, salts);
        for (let i = 0; i < runs; i++) {
          // Alternating: the other build first, then this one.
          const build = alternate && i % 2 === 1 ? 'this' : alternate || ovlnet !== OVLNET ? 'other' : 'this';
          const one = { build, ...await startOnce(src, dir, i, build === 'this' ? OVLNET : ovlnet) };
          r.runs.push(one);
          if (one.notRun) { r.notRun = one.notRun; break; }
          const s = one.stages ?? {};
          log(`  ${alternate ? `${build} build: ` : ''}ready ${one.readyMs} ms${one.inSync ? '' : ' (NOT in sync)'}, CPU ${fmt(one.cpuMs)} ms: starting at ${fmt(one.startingAtMs)}, registered at ${fmt(one.registeredAtMs)}; first cycle source ${fmt(s.source_ms)}, plan ${fmt(s.plan_ms)}, write ${fmt(s.write_ms)}, verify ${fmt(s.verify_ms)} ms`);
        }
      } catch (e) {
        r.notRun = String(e?.message ?? e).split('\n')[0];
      } finally {
        await src?.stop();
      }
      if (r.notRun) log(`  not run: ${r.notRun}`);
      out.push(r);
    }
    return { ovlnet, alternate, runs: out };
  },
  report(res) {
    const rows = [['start: source', 'peers', 'ready ms (median)', 'min..max', 'CPU ms', 'min..max', 'starting at', 'registered at', 'source', 'plan', 'write', 'verify', 'in sync']];
    const range = (xs) => (xs.length ? `${fmt(Math.min(...xs))}..${fmt(Math.max(...xs))}` : '-');
    for (const r of res.runs) {
      // Alternating runs: one row per build.
      for (const build of res.alternate ? ['other', 'this'] : [undefined]) {
        const name = build ? `${r.source} (${build} build)` : r.source;
        const ok = r.runs.filter((x) => !x.notRun && (!build || x.build === build));
        if (!ok.length) { rows.push([name, String(r.peers), `not run: ${r.notRun}`, ...Array(10).fill('')]); continue; }
        const ready = ok.map((x) => x.readyMs);
        const cpu = ok.map((x) => x.cpuMs).filter(Number.isFinite);
        rows.push([name, String(r.peers), fmt(median(ready)), range(ready), fmt(med(ok, (x) => x.cpuMs)), range(cpu),
          fmt(med(ok, (x) => x.startingAtMs)), fmt(med(ok, (x) => x.registeredAtMs)), fmt(med(ok, (x) => x.stages?.source_ms)), fmt(med(ok, (x) => x.stages?.plan_ms)),
          fmt(med(ok, (x) => x.stages?.write_ms)), fmt(med(ok, (x) => x.stages?.verify_ms)), ok.every((x) => x.inSync) ? 'yes' : 'NO']);
      }
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    const lines = rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
    return [...lines, '(ms from spawning the daemon on an empty namespace; the first cycle\'s stages from its "cycle stages" debug line; CPU: the daemon\'s own until ready)'];
  },
};
