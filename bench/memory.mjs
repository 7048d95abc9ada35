#!/usr/bin/env node
// The daemon's memory, per source: RSS once converged and after churn.
//
//   node bench/memory.mjs [--sources file,etcd,kube] [--sizes 100,1000,10000]
//                         [--kube-sizes 100,1000,5000,10000] [--changes 200]
//                         [--quick] [--ovlnet bin/ovlnet] [--node-flags="--max-semi-space-size=2"]
//                         [--out FILE.json]
//
// For each source and size (number of vxlan peers) it starts `ovlnet daemon`
// in a throw-away namespace (as root, never the default one), waits for its
// "ready: first cycle converged" log line, reads VmRSS and VmHWM from
// /proc/PID/status, then makes --changes single-peer VTEP-MAC changes twice
// over, waiting for the kernel to match after each round, and reads RSS
// again: the growth between the two rounds is what churn leaves behind
// (the first round includes warming up). Then RSS once the daemon has been
// idle for 30 s: V8's memory reducer gives back the heap headroom the churn
// made (the live heap is a fraction of RSS; see docs/performance.md).
//
// Sources: file (a JSON cluster file replaced by rename), etcd (a real etcd,
// flannel's v3 schema), kube (the loopback API stand-in of
// test/lib/fake-kube.ts on 127.0.0.1 serving realistic ~6 KB Node objects,
// paged lists). --ovlnet runs another build (a copy of bin/ + dist/bundle/),
// for before/after figures; --node-flags passes V8/Node flags to the daemon's node.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { tmpdir } from 'node:os';
import {
  clusterDoc, createNamespace, deleteNamespace, flannelConfig, flannelLease, installCleanupHandlers, leaseName,
  LOCAL_IP, nodeSpec, onCleanup, requireTools, startEtcd, tempDir, timed, writeAtomic,
} from './lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
if (!process.env.OVLNET_RUN_DIR) {
  const runDir = mkdtempSync(join(tmpdir(), 'ovlnet-bench-run-'));
  process.env.OVLNET_RUN_DIR = runDir;
  process.on('exit', () => rmSync(runDir, { recursive: true, force: true }));
}
const NODE = process.execPath;

const { values: opt } = parseArgs({
  options: {
    sources: { type: 'string', default: 'file,etcd,kube' },
    sizes: { type: 'string', default: '100,1000,10000' },
    'kube-sizes': { type: 'string', default: '100,1000,5000,10000' },
    changes: { type: 'string', default: '200' },
    quick: { type: 'boolean', default: false },
    ovlnet: { type: 'string', default: join(ROOT, 'bin', 'ovlnet') },
    'node-flags': { type: 'string', default: '' },
    out: { type: 'string' },
  },
});
const OVLNET = resolve(opt.ovlnet);
const SOURCES = opt.sources.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of SOURCES) {
  if (!['file', 'etcd', 'kube'].includes(s)) {
    process.stderr.write(`--sources: unknown source "${s}" (file, etcd, kube)\n`);
    process.exit(2);
  }
}
const sizesOf = (text) => text.split(',').map(Number).filter((n) => n > 0);
const SIZES = opt.quick ? [100, 1000] : sizesOf(opt.sizes);
const KUBE_SIZES = opt.quick ? [100, 1000] : sizesOf(opt['kube-sizes']);
const CHANGES = opt.quick ? 50 : Math.max(1, Number(opt.changes));
const NO_FWD = '--iptables-forward-rules=false';
const IDLE_MS = opt.quick ? 10_000 : 30_000;
const log = (s) => process.stderr.write(s + '\n');

const ovlnet = (args) => timed(NODE, [OVLNET, ...args]);

function statusKB(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

async function waitConverged(args, deadlineMs) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await ovlnet(['diff', ...args]);
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
  const { Etcd3 } = await import('etcd3');
  const etcd = await startEtcd();
  const client = new Etcd3({ hosts: `http://${etcd.endpoint}` });
  const key = (n) => `${PREFIX}/subnets/${leaseName(n.subnet)}`;
  const grant = async () => (await client.leaseClient.leaseGrant({ TTL: 3600, ID: 0 })).ID;
  const stop = async () => {
    client.close();
    await etcd.stop();
  };
  try {
    await client.put(`${PREFIX}/config`).value(flannelConfig(doc));
    const todo = [...doc.nodes];
    const worker = async () => {
      for (let n = todo.pop(); n; n = todo.pop()) await client.put(key(n)).value(flannelLease(n)).lease(await grant());
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  } catch (e) {
    await stop();
    throw e;
  }
  const args = (ns) => ['--source', `etcd://${etcd.endpoint}${PREFIX}`, '--public-ip', LOCAL_IP, '--netns', ns, NO_FWD];
  return {
    daemonArgs: args,
    diffArgs: args,
    async change(n) {
      await client.put(key(n)).value(flannelLease(n)).lease(await grant());
    },
    stop,
  };
}

async function kubeSource(dir, peers, salts) {
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

async function measure(kind, peers) {
  const dir = join(tempDir(), `memory-${kind}-${peers}`);
  mkdirSync(dir, { recursive: true });
  const salts = new Map();
  const src = kind === 'file' ? fileSource(dir, peers, salts) : kind === 'etcd' ? await etcdSource(peers, salts) : await kubeSource(dir, peers, salts);
  const ns = createNamespace();
  const stderr = [];
  const started = Date.now();
  const nodeFlags = opt['node-flags'].split(/\s+/).filter(Boolean);
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
      return waitConverged(src.diffArgs(ns), 120_000);
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
    if (!exited) {
      d.kill('SIGTERM');
      const t = setTimeout(() => d.kill('SIGKILL'), 10_000);
      await exitP;
      clearTimeout(t);
    }
    deleteNamespace(ns);
    await src.stop();
  }
}

const fmt = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');

async function main() {
  requireTools({ etcd: SOURCES.includes('etcd') });
  installCleanupHandlers();
  const results = [];
  for (const kind of SOURCES) {
    for (const peers of kind === 'kube' ? KUBE_SIZES : SIZES) {
      log(`memory: ${kind} at ${peers} peers ...`);
      const r = await measure(kind, peers);
      results.push(r);
      if (r.notRun) log(`  not run: ${r.notRun}`);
      else log(`  converged ${r.convergeMs} ms, RSS ${fmt(r.rssMB)} MB; after ${r.changes} changes ${fmt(r.afterChangesMB)} MB, after ${2 * r.changes} ${fmt(r.after2xChangesMB)} MB (growth ${r.growthMB.toFixed(1)} MB); idle ${fmt(r.idleMB)} MB; peak ${fmt(r.peakMB)} MB${r.inSyncAfterChanges ? '' : '; NOT in sync after the changes'}`);
    }
  }
  const rows = [['source', 'peers', 'converged ms', 'RSS MB', `after ${CHANGES} changes`, `after ${2 * CHANGES}`, 'growth MB', 'idle MB', 'peak MB']];
  for (const r of results) {
    if (r.notRun) rows.push([r.source, String(r.peers), 'not run', '', '', '', '', '', '']);
    else rows.push([r.source, String(r.peers), String(r.convergeMs), fmt(r.rssMB), fmt(r.afterChangesMB), fmt(r.after2xChangesMB), r.growthMB.toFixed(1), fmt(r.idleMB), fmt(r.peakMB)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  process.stdout.write(rows.map((row) => row.map((c, i) => c.padStart(widths[i])).join('  ')).join('\n') + '\n');
  if (opt.out) writeFileSync(opt.out, JSON.stringify({ date: new Date().toISOString(), ovlnet: OVLNET, nodeFlags: opt['node-flags'], results }, null, 2) + '\n');
  if (results.some((r) => r.notRun || !r.inSyncAfterChanges)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
