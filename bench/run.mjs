#!/usr/bin/env node
// `npm run bench`: ovlnet against the kernel's own floor, as root, in
// throw-away network namespaces (never the default one).
//
//   node bench/run.mjs [--sizes 100,1000,5000,10000] [--runs 5] [--no-daemon]
//                      [--daemon-sources file,etcd] [--daemon-peers 5000]
//                      [--daemon-changes 100] [--daemon-rss-peers 10000]
//                      [--out bench/results/NAME.json]
//
// For each size (number of vxlan peers) it measures whole-command wall time
// and peak RSS of: cold apply, no-op apply, diff, one changed peer, plan; and
// the floor: `ip -batch` + `bridge -batch` of the very lines `ovlnet plan -o
// commands` prints. Runs of ovlnet and of the floor are interleaved so that a
// noisy neighbour hits both alike. Then the daemon: one changed peer from the
// source (a file, a real etcd) to the kernel. See README "Performance".
import { spawn, spawnSync } from 'node:child_process';
import { cpus, release, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import {
  clusterDoc, clusterYAML, createNamespace, deleteNamespace, flannelConfig, flannelLease, installCleanupHandlers, leaseName,
  LOCAL_IP, median, nodeSpec, onCleanup, percentile, requireTools, startEtcd, tempDir, timed, writeAtomic, cleanupAll,
} from './lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// ovlnet's writer locks (src/host/lock.ts) go to a directory of the bench's own, never the host's /run/ovlnet.
if (!process.env.OVLNET_RUN_DIR) {
  const runDir = mkdtempSync(join(tmpdir(), 'ovlnet-bench-run-'));
  process.env.OVLNET_RUN_DIR = runDir;
  process.on('exit', () => rmSync(runDir, { recursive: true, force: true }));
}
const OVLNET = join(ROOT, 'bin', 'ovlnet');
const NODE = process.execPath;

const { values: opt } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,1000,5000,10000' },
    runs: { type: 'string', default: '5' },
    'no-daemon': { type: 'boolean', default: false },
    'daemon-sources': { type: 'string', default: 'file,etcd' },
    'daemon-changes': { type: 'string', default: '100' },
    'daemon-peers': { type: 'string', default: '5000' },
    'daemon-rss-peers': { type: 'string', default: '10000' },
    'per-command-peers': { type: 'string', default: '1000' },
    out: { type: 'string' },
  },
});
const SIZES = opt.sizes.split(',').map(Number).filter((n) => n > 0);
const RUNS = Math.max(1, Number(opt.runs));
const DAEMON_SOURCES = opt['no-daemon'] ? [] : [...new Set(opt['daemon-sources'].split(',').map((s) => s.trim()).filter(Boolean))];
for (const s of DAEMON_SOURCES) {
  if (s !== 'file' && s !== 'etcd') {
    process.stderr.write(`--daemon-sources: unknown source "${s}" (file, etcd)\n`);
    process.exit(2);
  }
}
const log = (s) => process.stderr.write(s + '\n');

function ovlnet(args, extra) {
  return timed(NODE, [OVLNET, ...args], extra);
}

function must(r, what, check) {
  const why = r.code !== 0 ? `exit ${r.code}` : check && !check(r) ? 'unexpected output' : undefined;
  if (why) {
    throw new Error(`${what}: ${why}\nstdout (tail): ${r.stdout.slice(-600)}\nstderr: ${r.stderr.slice(0, 2000)}`);
  }
  return r;
}

const summaryOf = (stdout) => {
  const m = /Apply complete: (\d+) added, (\d+) changed, (\d+) removed/.exec(stdout);
  return m ? { add: +m[1], change: +m[2], remove: +m[3] } : undefined;
};

// ---------------------------------------------------------------------------

const results = {
  version: 1,
  startedAt: new Date().toISOString(),
  machine: {},
  options: { sizes: SIZES, runs: RUNS, daemonSources: DAEMON_SOURCES },
  sizes: {},
  startup: undefined,
  perCommand: undefined,
  daemon: undefined,
};

function machine() {
  const cpu = cpus();
  const ipV = spawnSync('ip', ['-V'], { encoding: 'utf8' }).stdout.trim();
  return {
    nproc: cpu.length,
    cpu: cpu[0]?.model ?? 'unknown',
    kernel: release(),
    node: process.version,
    iproute2: ipV,
    loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
}

function files(dir, peers) {
  mkdirSync(dir, { recursive: true });
  const a = join(dir, 'cluster.json');
  const b = join(dir, 'cluster-changed.json');
  const doc = clusterDoc(peers);
  writeFileSync(a, JSON.stringify(doc));
  // One peer (in the middle) with a new VTEP MAC: a neighbour and an fdb entry change.
  writeFileSync(b, JSON.stringify(clusterDoc(peers, new Map([[Math.ceil(peers / 2), 1]]))));
  const y = join(dir, 'cluster.yaml');
  writeFileSync(y, clusterYAML(doc));
  return { a, b, yaml: y };
}

// The FORWARD accept rules (on by default) are left out: the bench measures the
// routing state against ip/bridge, and iptables-restore is a cost of its own.
const NO_FWD = '--iptables-forward-rules=false';
const common = (file, ns) => ['--source', `file:${file}`, '--node', 'node-0', '--netns', ns, NO_FWD];

async function planCommandLines(file, peers) {
  const ns = createNamespace();
  try {
    const r = must(await ovlnet(['plan', ...common(file, ns), '-o', 'commands'], { keepAll: true }), 'plan -o commands');
    const lines = r.stdout.trim().split('\n');
    const ip = lines.filter((l) => l.startsWith('ip ')).map((l) => l.slice(3));
    const bridge = lines.filter((l) => l.startsWith('bridge ')).map((l) => l.slice(7));
    // A device setting (e.g. sysctl accept_ra): one line per device, run as it is by the floor too.
    const other = lines.filter((l) => !l.startsWith('ip ') && !l.startsWith('bridge '));
    // link add + link up + address, then a neighbour and a route per peer; an fdb entry per peer.
    if (ip.length !== 3 + 2 * peers || bridge.length !== peers || other.length > 2) {
      throw new Error(`plan -o commands: unexpected lines (${ip.length} ip, ${bridge.length} bridge for ${peers} peers)`);
    }
    return { lines, ip, bridge, other };
  } finally {
    deleteNamespace(ns);
  }
}

/** The floor: the same entries, written by one ip and one bridge process. */
async function floorRun(cmds, file, verify) {
  const ns = createNamespace();
  try {
    const a = must(await timed('ip', ['-n', ns, '-force', '-batch', '-'], { input: cmds.ip.join('\n') + '\n' }), 'floor: ip -batch');
    const b = must(await timed('bridge', ['-n', ns, '-force', '-batch', '-'], { input: cmds.bridge.join('\n') + '\n' }), 'floor: bridge -batch');
    for (const line of cmds.other) {
      const [tool, ...rest] = line.split(' ');
      const o = must(await timed('ip', ['netns', 'exec', ns, tool, ...rest]), `floor: ${line}`);
      a.ms += o.ms;
    }
    if (verify) {
      // The floor must have written exactly what ovlnet wants, or the ratio is meaningless.
      must(await ovlnet(['diff', ...common(file, ns)]), 'diff after the floor (the floor does not match the plan)');
    }
    return { ms: a.ms + b.ms, rssKB: Math.max(a.rssKB, b.rssKB), cpuMs: a.cpuMs + b.cpuMs };
  } finally {
    deleteNamespace(ns);
  }
}

async function coldRun(file, peers) {
  const ns = createNamespace();
  try {
    const r = must(await ovlnet(['apply', ...common(file, ns)]), 'cold apply', (x) => summaryOf(x.stdout)?.add === 3 * peers + 2);
    return { ms: r.ms, rssKB: r.rssKB, cpuMs: r.cpuMs };
  } finally {
    deleteNamespace(ns);
  }
}

const sample = (xs) => ({
  medianMs: median(xs.map((x) => x.ms)),
  minMs: Math.min(...xs.map((x) => x.ms)),
  maxMs: Math.max(...xs.map((x) => x.ms)),
  peakRssMB: Math.max(...xs.map((x) => x.rssKB)) / 1024,
  medianCpuMs: median(xs.map((x) => x.cpuMs ?? NaN)),
  samplesMs: xs.map((x) => Math.round(x.ms * 100) / 100),
});

async function benchSize(peers) {
  log(`\n== ${peers} peers`);
  const f = files(join(tempDir(), `p${peers}`), peers);
  const cmds = await planCommandLines(f.a, peers);
  const floor = [];
  const cold = [];
  for (let r = 0; r < RUNS; r++) {
    floor.push(await floorRun(cmds, f.a, r === 0));
    cold.push(await coldRun(f.a, peers));
    log(`  run ${r + 1}/${RUNS}: floor ${floor[r].ms.toFixed(0)} ms, cold apply ${cold[r].ms.toFixed(0)} ms`);
  }

  // A converged namespace for the steady-state commands.
  const ns = createNamespace();
  const noop = [];
  const diff = [];
  const changed = [];
  const plan = [];
  const planYaml = [];
  try {
    must(await ovlnet(['apply', ...common(f.a, ns)]), 'converging apply');
    let current = f.a;
    for (let r = 0; r < RUNS; r++) {
      noop.push(must(await ovlnet(['apply', ...common(current, ns)]), 'no-op apply', (x) => {
        const s = summaryOf(x.stdout);
        return s && s.add + s.change + s.remove === 0;
      }));
      diff.push(must(await ovlnet(['diff', ...common(current, ns)]), 'no-op diff'));
      // Alternate between the two files: every run is one changed peer.
      current = current === f.a ? f.b : f.a;
      changed.push(must(await ovlnet(['apply', ...common(current, ns)]), 'one changed peer', (x) => {
        const s = summaryOf(x.stdout);
        return s && s.add + s.change + s.remove > 0 && s.add + s.change + s.remove <= 4;
      }));
      plan.push(must(await ovlnet(['plan', ...common(current, ns)]), 'plan'));
      planYaml.push(must(await ovlnet(['plan', ...common(f.yaml, ns)]), 'plan (YAML)'));
    }
  } finally {
    deleteNamespace(ns);
  }
  const out = {
    peers,
    floor: sample(floor),
    coldApply: sample(cold),
    noopApply: sample(noop),
    diff: sample(diff),
    changedPeer: sample(changed),
    plan: sample(plan),
    planYaml: sample(planYaml),
  };
  for (const k of Object.keys(out)) if (out[k]?.medianMs !== undefined) out[k].ratioToFloor = out[k].medianMs / out.floor.medianMs;
  results.sizes[peers] = out;
  log(`  floor ${out.floor.medianMs.toFixed(0)} ms; cold ${out.coldApply.medianMs.toFixed(0)}, no-op ${out.noopApply.medianMs.toFixed(0)}, diff ${out.diff.medianMs.toFixed(0)}, changed ${out.changedPeer.medianMs.toFixed(0)}, plan ${out.plan.medianMs.toFixed(0)} ms`);
  return cmds;
}

/** One `ip`/`bridge` process per line, as a naive script would do it. */
async function perCommand(peers, cmds, runs) {
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const ns = createNamespace();
    try {
      const t0 = process.hrtime.bigint();
      for (const l of cmds.lines) {
        const [tool, ...args] = l.split(' ');
        // Plain spawns (no /usr/bin/time around each): the baseline is the process cost itself.
        const code = await new Promise((res, rej) => {
          const c = spawn(tool, ['-n', ns, ...args], { stdio: 'ignore' });
          c.on('error', rej);
          c.on('close', res);
        });
        if (code !== 0) throw new Error(`per-command baseline: "${l}" exited ${code}`);
      }
      samples.push({ ms: Number(process.hrtime.bigint() - t0) / 1e6, rssKB: NaN, cpuMs: NaN });
    } finally {
      deleteNamespace(ns);
    }
    log(`  per-command run ${r + 1}/${runs}: ${samples[r].ms.toFixed(0)} ms`);
  }
  const s = sample(samples);
  delete s.peakRssMB;
  delete s.medianCpuMs;
  return { peers, processes: cmds.lines.length, ...s };
}

async function startup() {
  const bare = [];
  const ver = [];
  const help = [];
  for (let r = 0; r < Math.max(RUNS, 11); r++) {
    bare.push(must(await timed(NODE, ['-e', '0']), 'node -e 0'));
    ver.push(must(await ovlnet(['--version']), 'ovlnet --version'));
    help.push(must(await ovlnet(['--help']), 'ovlnet --help'));
  }
  const out = { nodeBare: sample(bare), version: sample(ver), help: sample(help) };
  out.version.ratioToBareNode = out.version.medianMs / out.nodeBare.medianMs;
  out.help.ratioToBareNode = out.help.medianMs / out.nodeBare.medianMs;
  return out;
}

// ---------------------------------------------------------------------------
// The daemon: time from one peer's VTEP MAC changing in the source (the
// cluster file replaced, or a put to etcd) to the new neighbour and fdb
// entries being in the kernel, seen by `ip monitor neigh` and `bridge monitor
// fdb` inside the namespace.

function lineWatcher(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const waiters = new Set();
  let events = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    events++;
    const t = process.hrtime.bigint();
    for (const w of waiters) if (w.test(line)) { waiters.delete(w); w.resolve(t); }
  });
  return {
    child,
    get events() { return events; },
    waitFor(test, timeoutMs) {
      return new Promise((res) => {
        const w = { test, resolve: (t) => { clearTimeout(w.timer); res(t); } };
        w.timer = setTimeout(() => { waiters.delete(w); res(undefined); }, timeoutMs);
        waiters.add(w);
      });
    },
    stop() { child.kill('SIGTERM'); },
  };
}

async function waitConverged(args, deadlineMs, gaveUp = () => false) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (gaveUp()) return false;
    const r = await ovlnet(['diff', ...args]);
    if (r.code === 0) return true;
    if (Date.now() > until) return false;
    await new Promise((res) => setTimeout(res, 500));
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

// Sources for the daemon measurement. Each holds the cluster of clusterDoc()
// and changes one peer per step; change() resolves with the time the change
// counts from.

const ETCD_PREFIX = '/bench.ovlnet/network';
const ETCD_LEASE_TTL = 3600;

/** file: the cluster file is replaced (write, rename over); the clock starts once it is in place. */
function fileSource(file) {
  return {
    name: 'file',
    daemonArgs: (ns) => common(file, ns),
    diffArgs: (ns) => common(file, ns),
    async change(doc) {
      writeAtomic(file, JSON.stringify(doc));
      return process.hrtime.bigint();
    },
    async check() {},
    async stop() {},
  };
}

/**
 * etcd: a real etcd holding flannel's v3 schema, one etcd lease per node as
 * flanneld keeps them. The local node (node 0) has its lease too, with the
 * public IP of the namespace's eth0: the daemon's register() finds it by that
 * IP and renews it with the same subnet and VtepMAC, so the cluster the
 * daemon sees is exactly clusterDoc(). A change is what a restarted flanneld
 * writes: a new etcd lease (granted before the clock starts), then a put of
 * the new value; the clock starts when the put is sent, its round trip counts.
 */
async function etcdSource(doc) {
  const { Etcd3 } = await import('etcd3');
  const etcd = await startEtcd();
  const client = new Etcd3({ hosts: `http://${etcd.endpoint}` });
  const uri = `etcd://${etcd.endpoint}${ETCD_PREFIX}`;
  const key = (n) => `${ETCD_PREFIX}/subnets/${leaseName(n.subnet)}`;
  const grant = async () => (await client.leaseClient.leaseGrant({ TTL: ETCD_LEASE_TTL, ID: 0 })).ID;
  const stop = async () => {
    client.close();
    await etcd.stop();
  };
  try {
    await client.put(`${ETCD_PREFIX}/config`).value(flannelConfig(doc));
    const todo = [...doc.nodes];
    const worker = async () => {
      for (let n = todo.pop(); n; n = todo.pop()) await client.put(key(n)).value(flannelLease(n)).lease(await grant());
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  } catch (e) {
    await stop();
    throw e;
  }
  // The source the daemon runs with: the local node is found by its public IP, as flanneld's --public-ip.
  const args = (ns) => ['--source', uri, '--public-ip', LOCAL_IP, '--netns', ns, NO_FWD];
  const local = doc.nodes[0];
  return {
    name: 'etcd',
    endpoint: etcd.endpoint,
    daemonArgs: args,
    diffArgs: args,
    async change(_doc, n) {
      const id = await grant();
      const start = process.hrtime.bigint();
      await client.put(key(n)).value(flannelLease(n)).lease(id);
      return start;
    },
    /** The daemon registered the local node in place: same key, public IP and VtepMAC, no other lease. */
    async check() {
      const kvs = await client.getAll().prefix(`${ETCD_PREFIX}/subnets/`).strings();
      const mine = Object.entries(kvs).filter(([, v]) => JSON.parse(v).PublicIP === LOCAL_IP);
      const want = flannelLease(local);
      if (Object.keys(kvs).length !== doc.nodes.length || mine.length !== 1 || mine[0][0] !== key(local)
        || JSON.parse(mine[0][1]).BackendData?.VtepMAC !== local.vtepMAC) {
        throw new Error(`etcd: the daemon's registration is not the pre-written local lease ${key(local)} ${want}: ${Object.keys(kvs).length} leases, ours ${JSON.stringify(mine)}`);
      }
    },
    stop,
  };
}

/**
 * The daemon: time from one peer's VTEP MAC changing in the source to the new
 * neighbour and fdb entries being in the kernel, seen by `ip monitor neigh`
 * and `bridge monitor fdb` inside the namespace.
 */
async function daemonRun(kind, peers, changes) {
  const dir = join(tempDir(), `daemon-${kind}-${peers}`);
  mkdirSync(dir, { recursive: true });
  // The file describes the cluster in every case; with etcd it is the cross-check
  // that the kernel the daemon built from etcd is what the same cluster as a file wants.
  const file = join(dir, 'cluster.json');
  const salts = new Map();
  writeAtomic(file, JSON.stringify(clusterDoc(peers, salts)));
  let src;
  try {
    src = kind === 'etcd' ? await etcdSource(clusterDoc(peers, salts)) : fileSource(file);
  } catch (e) {
    return { source: kind, peers, notRun: `${kind}: ${e.message}` };
  }
  const ns = createNamespace();
  const stderr = [];
  const d = spawn(NODE, [OVLNET, 'daemon', ...src.daemonArgs(ns), '--interval', '60s', '--subnet-file', join(dir, 'subnet.env'), '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  d.stderr.on('data', (b) => stderr.push(b));
  let exited;
  const exitP = new Promise((res) => d.on('close', (code, sig) => { exited = { code, sig }; res(); }));
  const stopDaemon = async () => {
    if (!exited) {
      d.kill('SIGTERM');
      const t = setTimeout(() => d.kill('SIGKILL'), 10000);
      await exitP;
      clearTimeout(t);
    }
  };
  onCleanup(() => { if (!exited) d.kill('SIGKILL'); });
  const watchers = [];
  const inFile = ['--source', `file:${file}`, '--node', 'node-0', '--netns', ns, NO_FWD];
  try {
    const t0 = Date.now();
    const ok = await waitConverged(src.diffArgs(ns), 180000, () => exited !== undefined);
    if (!ok) {
      const why = exited ? `exited (${exited.code ?? exited.sig})` : 'did not converge within 180 s';
      return { source: kind, peers, notRun: `the daemon ${why}: ${Buffer.concat(stderr).toString().trim().split('\n').slice(-3).join(' | ')}` };
    }
    const convergeMs = Date.now() - t0;
    if (kind !== 'file') {
      must(await ovlnet(['diff', ...inFile]), `${kind}: the kernel differs from the same cluster as a file`);
      await src.check();
    }
    const neigh = lineWatcher('ip', ['-n', ns, 'monitor', 'neigh']);
    const fdb = lineWatcher('bridge', ['-n', ns, 'monitor', 'fdb']);
    watchers.push(neigh, fdb);
    await new Promise((res) => setTimeout(res, 300)); // let the monitors subscribe
    const lat = [];
    const events = [];
    let timeouts = 0;
    for (let i = 0; i < changes; i++) {
      const k = 1 + ((i * 7919) % peers);
      const salt = 2 + i;
      salts.set(k, salt);
      const n = nodeSpec(k, salt);
      const gw = n.subnet.split('/')[0];
      const before = neigh.events + fdb.events;
      const doc = clusterDoc(peers, salts);
      const pN = neigh.waitFor((l) => l.startsWith(`${gw} `) && l.includes(`lladdr ${n.vtepMAC}`) && !l.startsWith('Deleted'), 10000);
      const pF = fdb.waitFor((l) => l.startsWith(`${n.vtepMAC} `) && l.includes(`dst ${n.publicIP}`) && !l.startsWith('Deleted'), 10000);
      const start = await src.change(doc, n);
      const [tn, tf] = await Promise.all([pN, pF]);
      if (tn === undefined || tf === undefined) {
        timeouts++;
        continue;
      }
      lat.push(Number((tn > tf ? tn : tf) - start) / 1e6);
      // Give the daemon time to finish its cycle (verify) before counting events.
      await new Promise((res) => setTimeout(res, 150));
      events.push(neigh.events + fdb.events - before);
    }
    const rssKB = statusKB(d.pid, 'VmRSS');
    const hwmKB = statusKB(d.pid, 'VmHWM');
    let stillInSync = await waitConverged(src.diffArgs(ns), 30000);
    if (kind !== 'file') {
      writeAtomic(file, JSON.stringify(clusterDoc(peers, salts)));
      stillInSync &&= (await ovlnet(['diff', ...inFile])).code === 0;
    }
    return {
      source: kind,
      peers,
      convergeMs,
      changes,
      timeouts,
      p50Ms: lat.length ? percentile(lat, 50) : NaN,
      p99Ms: lat.length ? percentile(lat, 99) : NaN,
      maxMs: lat.length ? Math.max(...lat) : NaN,
      latenciesMs: lat.map((x) => Math.round(x * 100) / 100),
      kernelEventsPerChange: { median: events.length ? median(events) : NaN, max: events.length ? Math.max(...events) : NaN },
      rssMB: rssKB / 1024,
      peakRssMB: hwmKB / 1024,
      inSyncAfter: stillInSync,
    };
  } finally {
    for (const w of watchers) w.stop();
    await stopDaemon();
    deleteNamespace(ns);
    await src.stop();
  }
}

// ---------------------------------------------------------------------------
// Output.

const fmtMs = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const fmtX = (x) => (x === undefined || Number.isNaN(x) ? '' : `${x.toFixed(2)}x`);

function table() {
  const rows = [['peers', 'what', 'median ms', 'min..max ms', 'cpu ms', 'peak RSS MB', 'x floor']];
  const names = { floor: 'floor (ip+bridge -batch)', coldApply: 'cold apply', noopApply: 'no-op apply', diff: 'diff (no-op)', changedPeer: 'one changed peer', plan: 'plan', planYaml: 'plan (YAML file)' };
  for (const p of SIZES) {
    const s = results.sizes[p];
    if (!s) continue;
    for (const [k, label] of Object.entries(names)) {
      const x = s[k];
      rows.push([String(p), label, fmtMs(x.medianMs), `${fmtMs(x.minMs)}..${fmtMs(x.maxMs)}`, fmtMs(x.medianCpuMs), x.peakRssMB.toFixed(0), k === 'floor' ? '1.00x' : fmtX(x.ratioToFloor)]);
    }
  }
  if (results.perCommand) {
    const c = results.perCommand;
    const f = results.sizes[c.peers]?.floor.medianMs;
    rows.push([String(c.peers), `one process per command (${c.processes})`, fmtMs(c.medianMs), `${fmtMs(c.minMs)}..${fmtMs(c.maxMs)}`, '', '', f ? fmtX(c.medianMs / f) : '']);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  const out = [line(rows[0]), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)];
  if (results.startup) {
    const s = results.startup;
    out.push('', `startup: node -e 0 ${fmtMs(s.nodeBare.medianMs)} ms (cpu ${fmtMs(s.nodeBare.medianCpuMs)}), ovlnet --version ${fmtMs(s.version.medianMs)} ms (${fmtX(s.version.ratioToBareNode)}; cpu ${fmtMs(s.version.medianCpuMs)}), ovlnet --help ${fmtMs(s.help.medianMs)} ms (${fmtX(s.help.ratioToBareNode)}; cpu ${fmtMs(s.help.medianCpuMs)})`);
  }
  // Linearity: cost per peer at the largest size against 1 000 peers.
  const big = Math.max(...SIZES);
  const ref = SIZES.includes(1000) && big > 1000 ? 1000 : undefined;
  if (ref) {
    const parts = [];
    for (const k of ['floor', 'coldApply', 'noopApply', 'diff', 'plan']) {
      const a = results.sizes[ref][k].medianMs / ref;
      const b = results.sizes[big][k].medianMs / big;
      parts.push(`${k} ${(b / a).toFixed(2)}`);
    }
    out.push(`per-peer cost at ${big} / at ${ref} peers (1.00 = linear): ${parts.join(', ')}`);
  }
  if (results.daemon) {
    for (const d of results.daemon) {
      if (d.notRun) out.push(`daemon (${d.peers} peers, ${d.source}): not run: ${d.notRun}`);
      else out.push(`daemon (${d.peers} peers): ${d.source} change -> kernel p50 ${fmtMs(d.p50Ms)} ms, p99 ${fmtMs(d.p99Ms)} ms over ${d.latenciesMs.length} changes (${d.timeouts} timeouts), kernel events per change ${d.kernelEventsPerChange.median}; RSS ${d.rssMB.toFixed(0)} MB (peak ${d.peakRssMB.toFixed(0)} MB); first convergence ${d.convergeMs} ms`);
    }
  }
  return out.join('\n');
}

async function main() {
  requireTools({ etcd: DAEMON_SOURCES.includes('etcd') });
  installCleanupHandlers();
  results.machine = machine();
  log(`machine: ${results.machine.nproc} x ${results.machine.cpu}, kernel ${results.machine.kernel}, node ${results.machine.node}; load ${results.machine.loadavg}`);
  results.startup = await startup();
  const cmdsBySize = new Map();
  for (const p of SIZES) cmdsBySize.set(p, await benchSize(p));
  const pc = Number(opt['per-command-peers']);
  if (pc > 0) {
    log(`\n== one process per command, ${pc} peers`);
    const cmds = cmdsBySize.get(pc) ?? await planCommandLines(files(join(tempDir(), `pc${pc}`), pc).a, pc);
    // One run: 3 000 process starts take minutes, and the gap to the floor is two orders of magnitude.
    results.perCommand = await perCommand(pc, cmds, 1);
  }
  if (DAEMON_SOURCES.length) {
    results.daemon = [];
    for (const p of [...new Set([Number(opt['daemon-peers']), Number(opt['daemon-rss-peers'])])].filter((x) => x > 0)) {
      for (const kind of DAEMON_SOURCES) {
        log(`\n== daemon, ${kind} source, ${p} peers`);
        const changes = p === Number(opt['daemon-peers']) ? Number(opt['daemon-changes']) : 20;
        const d = await daemonRun(kind, p, changes);
        results.daemon.push(d);
        if (d.notRun) log(`  not run: ${d.notRun}`);
        else log(`  p50 ${fmtMs(d.p50Ms)} ms, p99 ${fmtMs(d.p99Ms)} ms, ${d.timeouts} timeouts, RSS ${d.rssMB.toFixed(0)} MB`);
      }
    }
  }
  results.finishedAt = new Date().toISOString();
  results.machine.loadavgAfter = readFileSync('/proc/loadavg', 'utf8').trim();
  const text = table();
  process.stdout.write('\n' + text + '\n');
  const out = opt.out ?? join(ROOT, 'bench', 'results', `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ ...results, table: text }, null, 2) + '\n');
  log(`\nraw figures: ${out}`);
}

main().then(() => cleanupAll(), (e) => {
  log(`bench failed: ${e?.stack ?? e}`);
  cleanupAll();
  process.exitCode = 1;
});
