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
// flags to the daemon's node.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  clusterDoc, createNamespace, deleteNamespace, flannelLease,
  LOCAL_IP, nodeSpec, onCleanup, seedEtcd, stopDaemon, tempDir, timed, writeAtomic,
} from './lib.mjs';
import { NODE, NO_FWD, OVLNET as OWN_OVLNET, ROOT, log } from './ovlnet.mjs';

const SOURCES = ['file', 'etcd', 'kube'];

/** Settings of one run, from the options. */
function settings(opt) {
  const sizes = (text) => text.split(',').map(Number).filter((n) => n > 0);
  return {
    sources: [...new Set(opt['memory-sources'].split(',').map((x) => x.trim()).filter(Boolean))],
    sizes: sizes(opt['memory-sizes']),
    kubeSizes: sizes(opt['memory-kube-sizes']),
    changes: Math.max(1, Number(opt['memory-changes'])),
    idleMs: Math.max(0, Number(opt['memory-idle-seconds'])) * 1000,
    ovlnet: opt['memory-ovlnet'] ? resolve(opt['memory-ovlnet']) : OWN_OVLNET,
    nodeFlags: opt['memory-node-flags'].split(/\s+/).filter(Boolean),
  };
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

function fileSource(dir, peers, salts) {
  const file = join(dir, 'cluster.json');
  writeAtomic(file, JSON.stringify(clusterDoc(peers, salts)));
  const args = (ns) => ['--source', `file:${file}`, '--node', 'node-0', '--netns', ns, NO_FWD];
  return {
    daemonArgs: args,
    diffArgs: args,
    async change() {
      writeAtomic(file, JSON.stringify(clusterDoc(peers, salts)));
    },
    async stop() {},
  };
}

async function etcdSource(peers, salts) {
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
      f.modifyNode(n.name, (node) => {
        node.metadata.annotations[`flannel.alpha.coreos.com/backend-data`] = JSON.stringify({ VNI: 1, VtepMAC: n.vtepMAC });
        // A heartbeat rides along, as kubelets send every 10 s.
        node.status.conditions[0].lastHeartbeatTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      });
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
  const stderr = [];
  const started = Date.now();
  const d = spawn(NODE, [...nodeFlags, OVLNET, 'daemon', ...src.daemonArgs(ns), '--interval', '1h', '--subnet-file', join(dir, 'subnet.env'),
    '--log-level', 'info', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited;
  const exitP = new Promise((res) => d.on('close', (code, sig) => { exited = { code, sig }; res(); }));
  onCleanup(() => { if (!exited) d.kill('SIGKILL'); });
  let ready;
  const readyP = new Promise((res) => { ready = res; });
  let pending = '';
  d.stderr.on('data', (b) => {
    stderr.push(b);
    pending += b.toString();
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const l of lines) {
      try {
        const o = JSON.parse(l);
        if (typeof o.msg === 'string' && o.msg.startsWith('ready: first cycle converged')) ready(o.startup_ms ?? Date.now() - started);
      } catch { /* not JSON */ }
    }
  });
  exitP.then(() => ready(undefined));
  const deadline = setTimeout(() => ready(undefined), 300_000);
  try {
    const convergeMs = await readyP;
    clearTimeout(deadline);
    if (convergeMs === undefined) {
      const why = exited ? `exited (${exited.code ?? exited.sig})` : 'not ready within 300 s';
      return { source: kind, peers, notRun: `the daemon ${why}: ${Buffer.concat(stderr).toString().trim().split('\n').slice(-3).join(' | ')}` };
    }
    // Let the start-up garbage settle the way a long-running daemon's does.
    await new Promise((res) => setTimeout(res, 2000));
    const convergedKB = statusKB(d.pid, 'VmRSS');
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
    return {
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
    'memory-ovlnet': { type: 'string', default: '', help: 'another build\'s bin/ovlnet (before/after figures)' },
  },
  needsEtcd: (opt) => settings(opt).sources.includes('etcd'),
  validate(opt) {
    for (const x of settings(opt).sources) if (!SOURCES.includes(x)) return `--memory-sources: unknown source "${x}" (${SOURCES.join(', ')})`;
    return undefined;
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
        else log(`  converged ${r.convergeMs} ms, RSS ${fmt(r.rssMB)} MB; after ${r.changes} changes ${fmt(r.afterChangesMB)} MB, after ${2 * r.changes} ${fmt(r.after2xChangesMB)} MB; idle ${fmt(r.idleMB)} MB`);
      }
    }
    return { nodeFlags: set.nodeFlags.join(' '), ovlnet: set.ovlnet, runs: out };
  },
  report(res) {
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
