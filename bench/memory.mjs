// The daemon's memory, per source: RSS once converged and after churn.
// A scenario of bench/run.mjs: `node bench/run.mjs --only memory [options]`
// (`npm run bench:memory`).
//
// For each source and size (number of vxlan peers) it starts `ovlnet daemon`
// in a throw-away namespace (as root, never the default one), waits for its
// "ready: first cycle converged" log line, reads VmRSS and VmHWM from
// /proc/PID/status, then makes --memory-changes single-peer VTEP-MAC changes
// twice over, waiting for the kernel to match after each round, and reads RSS
// again: the growth between the two rounds is what churn leaves behind
// (the first round includes warming up). Then RSS once the daemon has been
// idle (--memory-idle-seconds): V8's memory reducer gives back the heap
// headroom the churn made (the live heap is a fraction of RSS; see
// docs/performance.md).
//
// Sources: file (a JSON cluster file replaced by rename), etcd (a real etcd,
// flannel's v3 schema), kube (the loopback API stand-in of
// test/lib/fake-kube.ts on 127.0.0.1 serving realistic ~6 KB Node objects,
// paged lists). --memory-ovlnet runs another build (a copy of bin/ +
// dist/bundle/), for before/after figures; --memory-node-flags passes V8/Node
// flags to the daemon's node. --memory-churn-seconds replaces the two rounds
// with sustained churn (see churn() below); --memory-heap-snapshots DIR has
// the daemon write V8 heap snapshots there (converged, and at the end; the
// snapshot itself costs the daemon ~200 MB of malloc'd RSS, so RSS read after
// one says nothing).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  clusterDoc, createNamespace, deleteNamespace, flannelLease, followDaemon, listOf,
  LOCAL_IP, nodeSpec, onCleanup, seedEtcd, stopDaemon, tempDir, timed, unknownSource, writeAtomic,
} from './lib.mjs';
import { NODE, NO_FWD, OVLNET as OWN_OVLNET, ROOT, log } from './ovlnet.mjs';

const SOURCES = ['file', 'etcd', 'kube'];

/** Settings of one run, from the options. */
function settings(opt) {
  const sizes = (text) => text.split(',').map(Number).filter((n) => n > 0);
  return {
    sources: listOf(opt['memory-sources']),
    sizes: sizes(opt['memory-sizes']),
    kubeSizes: sizes(opt['memory-kube-sizes']),
    changes: Math.max(1, Number(opt['memory-changes'])),
    idleMs: Math.max(0, Number(opt['memory-idle-seconds'])) * 1000,
    ovlnet: opt['memory-ovlnet'] ? resolve(opt['memory-ovlnet']) : OWN_OVLNET,
    nodeFlags: opt['memory-node-flags'].split(/\s+/).filter(Boolean),
    interval: opt['memory-interval'],
    snapshotDir: opt['memory-heap-snapshots'] ? resolve(opt['memory-heap-snapshots']) : '',
    churnSeconds: Math.max(0, Number(opt['memory-churn-seconds'])),
    churnRate: Math.max(0.1, Number(opt['memory-churn-rate'])),
    churnSampleMs: Math.max(1, Number(opt['memory-churn-sample-seconds'])) * 1000,
  };
}

/**
 * Asks the daemon (started with --heapsnapshot-signal) for a heap snapshot
 * and waits until V8 has written it: its path.
 */
async function takeHeapSnapshot(d, dir) {
  const before = new Set(readdirSync(dir));
  d.kill('SIGUSR2');
  for (let i = 0, last = -1; i < 600; i++) {
    await new Promise((res) => setTimeout(res, 500));
    const f = readdirSync(dir).find((x) => x.endsWith('.heapsnapshot') && !before.has(x));
    if (!f) continue;
    const size = statSync(join(dir, f)).size;
    // Written once the file ends the JSON and stops growing.
    if (size === last && size > 0) return join(dir, f);
    last = size;
  }
  return undefined;
}

/**
 * Where the RSS is, from /proc/PID/smaps, in MB: malloc's main arena
 * ([heap]: Buffers, iproute2 and gRPC I/O, V8's compiler zones), anonymous
 * mappings (V8's heap pages, other malloc arenas) and files (the node binary).
 */
function rssParts(pid) {
  const parts = { mallocMB: 0, anonMB: 0, fileMB: 0 };
  try {
    let where = 'anonMB';
    for (const l of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(l);
      if (m) where = m[1] === '[heap]' ? 'mallocMB' : m[1] === '' || m[1].startsWith('[') ? 'anonMB' : 'fileMB';
      else if (l.startsWith('Rss:')) parts[where] += Number(l.split(/\s+/)[1]) / 1024;
    }
  } catch {
    /* gone */
  }
  return parts;
}

/** CPU time (user + system) the process used so far, in ms. */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

function statusKB(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

async function waitConverged(ovlnet, args, deadlineMs) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await timed(NODE, [ovlnet, 'diff', ...args]);
    if (r.code === 0) return true;
    if (Date.now() > until) return false;
    await new Promise((res) => setTimeout(res, 500));
  }
}

// ---------------------------------------------------------------------------
// Sources. Each holds clusterDoc(peers) and changes one peer's VTEP MAC per step.

export function fileSource(dir, peers, salts) {
  const file = join(dir, 'cluster.json');
  const absent = new Set();
  const write = () => {
    const doc = clusterDoc(peers, salts);
    if (absent.size) doc.nodes = doc.nodes.filter((n) => !absent.has(n.name));
    writeAtomic(file, JSON.stringify(doc));
  };
  write();
  const args = (ns) => ['--source', `file:${file}`, '--node', 'node-0', '--netns', ns, NO_FWD];
  return {
    daemonArgs: args,
    diffArgs: args,
    async change(n) {
      absent.delete(n.name);
      write();
    },
    async leave(n) {
      absent.add(n.name);
      write();
    },
    async stop() {},
  };
}

export async function etcdSource(peers, salts) {
  const PREFIX = '/bench.ovlnet/network';
  const doc = clusterDoc(peers, salts);
  const { uri, client, key, grant, stop } = await seedEtcd(doc, PREFIX, 3600);
  const args = (ns) => ['--source', uri, '--public-ip', LOCAL_IP, '--netns', ns, NO_FWD];
  return {
    daemonArgs: args,
    diffArgs: args,
    async change(n) {
      await client.put(key(n)).value(flannelLease(n)).lease(await grant());
    },
    async leave(n) {
      await client.delete().key(key(n));
    },
    stop,
  };
}

/** Also the events scenario's kube source (bench/daemon-cpu.mjs). */
export async function kubeSource(dir, peers, salts) {
  const lib = join(ROOT, 'dist', 'test', 'lib', 'fake-kube.js');
  const { FakeKube, flannelAnnotations } = await import(pathToFileURL(lib).href);
  const f = await FakeKube.start();
  f.realisticNodes = true;
  const doc = clusterDoc(peers, salts);
  f.setConfigMap('kube-flannel', JSON.stringify({ Network: doc.network, SubnetLen: doc.subnetLen, Backend: { Type: 'vxlan', VNI: 1, Port: 8472 } }));
  for (const n of doc.nodes) {
    f.addNode({ name: n.name, podCIDR: n.subnet, internalIP: n.publicIP, annotations: flannelAnnotations(n.publicIP, n.vtepMAC) });
  }
  const kc = f.writeKubeconfig(dir);
  const args = (ns) => ['--source', `kube:${kc}`, '--node', 'node-0', '--public-ip', LOCAL_IP, '--netns', ns, NO_FWD];
  return {
    daemonArgs: args,
    diffArgs: args,
    async change(n) {
      if (!f.node(n.name)) {
        f.addNode({ name: n.name, podCIDR: n.subnet, internalIP: n.publicIP, annotations: flannelAnnotations(n.publicIP, n.vtepMAC) });
        return;
      }
      f.modifyNode(n.name, (node) => {
        node.metadata.annotations[`flannel.alpha.coreos.com/backend-data`] = JSON.stringify({ VNI: 1, VtepMAC: n.vtepMAC });
        // A heartbeat rides along, as kubelets send every 10 s.
        node.status.conditions[0].lastHeartbeatTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      });
    },
    async leave(n) {
      f.deleteNode(n.name);
    },
    stop: () => f.close(),
  };
}

// ---------------------------------------------------------------------------

async function measure(kind, peers, set) {
  const { changes: CHANGES, idleMs: IDLE_MS, ovlnet: OVLNET, nodeFlags } = set;
  const dir = join(tempDir(), `memory-${kind}-${peers}`);
  mkdirSync(dir, { recursive: true });
  const salts = new Map();
  const src = kind === 'file' ? fileSource(dir, peers, salts) : kind === 'etcd' ? await etcdSource(peers, salts) : await kubeSource(dir, peers, salts);
  const ns = createNamespace();
  const started = Date.now();
  const traceGC = set.churnSeconds > 0 ? ['--trace-gc'] : [];
  const snapFlags = set.snapshotDir ? ['--heapsnapshot-signal=SIGUSR2'] : [];
  const d = spawn(NODE, [...nodeFlags, ...traceGC, ...snapFlags, OVLNET, 'daemon', ...src.daemonArgs(ns), '--interval', set.interval, '--subnet-file', join(dir, 'subnet.env'),
    '--log-level', 'info', '--log-format', 'json'], { stdio: ['ignore', traceGC.length ? 'pipe' : 'ignore', 'pipe'], cwd: set.snapshotDir || undefined });
  const gc = traceGC.length ? followGC(d.stdout) : undefined;
  let exited;
  const exitP = new Promise((res) => d.on('close', (code, sig) => { exited = { code, sig }; res(); }));
  onCleanup(() => { if (!exited) d.kill('SIGKILL'); });
  const follow = followDaemon(d, exitP);
  try {
    const r = await follow.ready;
    const convergeMs = r && (r.line.startup_ms ?? r.at - started);
    if (convergeMs === undefined) {
      const why = exited ? `exited (${exited.code ?? exited.sig})` : 'not ready within 300 s';
      return { source: kind, peers, notRun: `the daemon ${why}: ${follow.tail()}` };
    }
    // Let the start-up garbage settle the way a long-running daemon's does.
    await new Promise((res) => setTimeout(res, 2000));
    const convergedKB = statusKB(d.pid, 'VmRSS');
    const convergedParts = rssParts(d.pid);
    const snapshots = [];
    const heapSnapshot = async () => {
      if (set.snapshotDir) snapshots.push(await takeHeapSnapshot(d, set.snapshotDir));
    };
    await heapSnapshot();
    if (set.churnSeconds > 0) {
      const c = await churn(d, src, peers, salts, gc, set, ns);
      await heapSnapshot();
      return { source: kind, peers, convergeMs, rssMB: convergedKB / 1024, convergedParts, churn: c, snapshots };
    }
    const round = async (salt0) => {
      for (let i = 0; i < CHANGES; i++) {
        const k = 1 + ((i * 7919) % peers);
        salts.set(k, salt0 + i);
        await src.change(nodeSpec(k, salt0 + i));
        await new Promise((res) => setTimeout(res, 20));
      }
      return waitConverged(OVLNET, src.diffArgs(ns), 120_000);
    };
    const inSync1 = await round(2);
    await new Promise((res) => setTimeout(res, 2000));
    const churn1KB = statusKB(d.pid, 'VmRSS');
    const inSync2 = await round(2 + CHANGES);
    await new Promise((res) => setTimeout(res, 2000));
    const churn2KB = statusKB(d.pid, 'VmRSS');
    await new Promise((res) => setTimeout(res, IDLE_MS));
    const idleKB = statusKB(d.pid, 'VmRSS');
    await heapSnapshot();
    return {
      snapshots,
      convergedParts,
      source: kind,
      peers,
      convergeMs,
      rssMB: convergedKB / 1024,
      afterChangesMB: churn1KB / 1024,
      after2xChangesMB: churn2KB / 1024,
      growthMB: (churn2KB - churn1KB) / 1024,
      idleMB: idleKB / 1024,
      peakMB: statusKB(d.pid, 'VmHWM') / 1024,
      changes: CHANGES,
      inSyncAfterChanges: inSync1 && inSync2,
    };
  } finally {
    if (!exited) await stopDaemon(d, exitP);
    deleteNamespace(ns);
    await src.stop();
  }
}

// ---------------------------------------------------------------------------
// Sustained churn (--memory-churn-seconds): an hour of a busy cluster,
// compressed. Peers change VTEP MAC, leave and come back at --memory-churn-rate
// changes a second; RSS (/proc) and the live heap after the last full GC (V8's
// --trace-gc lines on the daemon's stdout) are sampled every
// --memory-churn-sample-seconds. The slope of each over the second half of
// the run (least squares, MB per 1 000 changes) is what churn leaves behind
// once V8's heap has grown to its working size: a leak shows as a steady
// slope of the live heap, headroom as noise around a flat line.

/** The daemon's --trace-gc output: the heap after its last mark-compact, in MB. */
function followGC(stdout) {
  const gc = { afterMB: NaN, fullGCs: 0 };
  let pending = '';
  stdout.on('data', (b) => {
    pending += b.toString();
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const l of lines) {
      const m = /Mark-Compact[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(l);
      if (m) {
        gc.afterMB = Number(m[1]);
        gc.fullGCs++;
      }
    }
  });
  return gc;
}

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : NaN;
}

async function churn(d, src, peers, salts, gc, set, ns) {
  const { churnSeconds, churnRate, churnSampleMs } = set;
  const samples = [];
  const t0 = Date.now();
  const sample = (changes) => samples.push({ s: (Date.now() - t0) / 1000, changes, rssMB: statusKB(d.pid, 'VmRSS') / 1024, heapMB: gc.afterMB, ...rssParts(d.pid) });
  sample(0);
  const cpu0 = cpuMs(d.pid);
  const absent = new Set();
  let changes = 0;
  let nextSample = t0 + churnSampleMs;
  const end = t0 + churnSeconds * 1000;
  while (Date.now() < end) {
    const k = 1 + ((changes * 7919) % peers);
    const n = nodeSpec(k, 2 + changes);
    // Every fourth step takes a peer out; it comes back on its next turn.
    if (absent.has(k)) {
      absent.delete(k);
      salts.set(k, 2 + changes);
      await src.change(n);
    } else if (changes % 4 === 3) {
      absent.add(k);
      await src.leave(n);
    } else {
      salts.set(k, 2 + changes);
      await src.change(n);
    }
    changes++;
    const due = t0 + (changes * 1000) / churnRate;
    if (due > Date.now()) await new Promise((res) => setTimeout(res, due - Date.now()));
    if (Date.now() >= nextSample) {
      sample(changes);
      nextSample += churnSampleMs;
    }
  }
  // Everyone back, then the kernel must match.
  for (const k of absent) {
    salts.set(k, 2 + changes);
    await src.change(nodeSpec(k, 2 + changes++));
  }
  const cpuPerChangeMs = (cpuMs(d.pid) - cpu0) / changes;
  const inSync = await waitConverged(set.ovlnet, src.diffArgs(ns), 120_000);
  await new Promise((res) => setTimeout(res, 2000));
  sample(changes);
  const half = samples.filter((x) => x.s >= churnSeconds / 2);
  const perK = (f) => slope(half.map((x) => x.changes / 1000), half.map(f));
  const heap = half.filter((x) => Number.isFinite(x.heapMB));
  return {
    seconds: (Date.now() - t0) / 1000,
    changes,
    inSync,
    fullGCs: gc.fullGCs,
    cpuPerChangeMs,
    rssSlopeMBPer1000: perK((x) => x.rssMB),
    heapSlopeMBPer1000: slope(heap.map((x) => x.changes / 1000), heap.map((x) => x.heapMB)),
    samples,
  };
}

function churnReport(res) {
  const rows = [['memory churn: source', 'peers', 'changes', 'seconds', 'RSS MB start / min / max / end', 'heap after GC MB min / max / end', 'slope (2nd half) RSS / heap MB per 1 000 changes', 'CPU ms per change']];
  for (const r of res.runs) {
    if (r.notRun) {
      rows.push([r.source, String(r.peers), `not run: ${r.notRun}`, '', '', '', '', '']);
      continue;
    }
    const c = r.churn;
    const rss = c.samples.map((x) => x.rssMB);
    const heap = c.samples.map((x) => x.heapMB).filter(Number.isFinite);
    rows.push([
      c.inSync ? r.source : `${r.source} (NOT in sync after)`, String(r.peers), String(c.changes), c.seconds.toFixed(0),
      [rss[0], Math.min(...rss), Math.max(...rss), rss.at(-1)].map(fmt).join(' / '),
      heap.length ? [Math.min(...heap), Math.max(...heap), heap.at(-1)].map(fmt).join(' / ') : '-',
      `${c.rssSlopeMBPer1000.toFixed(2)} / ${c.heapSlopeMBPer1000.toFixed(2)}`,
      c.cpuPerChangeMs.toFixed(1),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return [...rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')), res.nodeFlags ? `(daemon node flags ${res.nodeFlags})` : ''].filter(Boolean);
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');

export default {
  name: 'memory',
  options: {
    'memory-sources': { type: 'string', default: 'file,etcd,kube', quick: 'kube', help: 'sources for the daemon memory measurement (file, etcd, kube; empty: none)' },
    'memory-sizes': { type: 'string', default: '100,1000,10000', quick: '100', help: 'peers for file and etcd' },
    'memory-kube-sizes': { type: 'string', default: '100,1000,5000,10000', quick: '100', help: 'Nodes for kube' },
    'memory-changes': { type: 'string', default: '200', quick: '10', help: 'single-peer changes per round (two rounds)' },
    'memory-idle-seconds': { type: 'string', default: '30', quick: '2', help: 'idle time before the last RSS reading' },
    'memory-node-flags': { type: 'string', default: '', help: 'node/V8 flags for the daemon (--memory-node-flags="--max-semi-space-size=2")' },
    'memory-churn-seconds': { type: 'string', default: '0', help: 'instead of the two rounds: sustained churn for this long (MAC changes, peers leaving and coming back), RSS and heap-after-GC sampled, slope reported; 0: off' },
    'memory-churn-rate': { type: 'string', default: '10', help: 'changes a second during --memory-churn-seconds' },
    'memory-churn-sample-seconds': { type: 'string', default: '10', help: 'sampling period during --memory-churn-seconds' },
    'memory-interval': { type: 'string', default: '1h', help: 'the daemon\'s --interval (full resync); the daemon\'s own default is 10s' },
    'memory-heap-snapshots': { type: 'string', default: '', help: 'a directory: the daemon writes a V8 heap snapshot there once converged and at the end (SIGUSR2)' },
    'memory-ovlnet': { type: 'string', default: '', help: 'another build\'s bin/ovlnet (before/after figures)' },
  },
  needsEtcd: (opt) => settings(opt).sources.includes('etcd'),
  validate(opt) {
    return unknownSource('memory-sources', settings(opt).sources, SOURCES);
  },
  enabled: (opt) => settings(opt).sources.length > 0,
  async run({ opt }) {
    const set = settings(opt);
    const out = [];
    for (const kind of set.sources) {
      for (const peers of kind === 'kube' ? set.kubeSizes : set.sizes) {
        log(`\n== memory, ${kind} source, ${peers} peers`);
        let r;
        try {
          r = await measure(kind, peers, set);
        } catch (e) {
          r = { source: kind, peers, notRun: String(e?.message ?? e).split('\n')[0] };
        }
        out.push(r);
        if (r.notRun) log(`  not run: ${r.notRun}`);
        else if (r.churn) log(`  converged ${r.convergeMs} ms, RSS ${fmt(r.rssMB)} MB; churn: ${r.churn.changes} changes in ${r.churn.seconds.toFixed(0)} s, RSS ${fmt(r.churn.samples.at(-1).rssMB)} MB, heap after GC ${fmt(r.churn.samples.at(-1).heapMB)} MB; slope RSS ${r.churn.rssSlopeMBPer1000.toFixed(2)}, heap ${r.churn.heapSlopeMBPer1000.toFixed(2)} MB per 1 000 changes`);
        else log(`  converged ${r.convergeMs} ms, RSS ${fmt(r.rssMB)} MB; after ${r.changes} changes ${fmt(r.afterChangesMB)} MB, after ${2 * r.changes} ${fmt(r.after2xChangesMB)} MB; idle ${fmt(r.idleMB)} MB`);
      }
    }
    return { nodeFlags: set.nodeFlags.join(' '), ovlnet: set.ovlnet, runs: out };
  },
  report(res) {
    if (res.runs.some((r) => r.churn)) return churnReport(res);
    const rows = [['memory: source', 'peers', 'converged ms', 'RSS MB', 'after N changes', 'after 2N', 'growth MB', 'idle MB', 'peak MB']];
    for (const r of res.runs) {
      if (r.notRun) rows.push([r.source, String(r.peers), `not run: ${r.notRun}`, '', '', '', '', '', '']);
      else rows.push([r.inSyncAfterChanges ? r.source : `${r.source} (NOT in sync after the changes)`, String(r.peers), String(r.convergeMs), fmt(r.rssMB), fmt(r.afterChangesMB), fmt(r.after2xChangesMB), r.growthMB.toFixed(1), fmt(r.idleMB), fmt(r.peakMB)]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    const lines = rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
    const n = res.runs.find((r) => r.changes)?.changes;
    return [...lines, `(N = ${n ?? '-'} single-peer changes${res.nodeFlags ? `; daemon node flags ${res.nodeFlags}` : ''})`];
  },
};
