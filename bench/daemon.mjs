// The daemon: time from one peer's VTEP MAC changing in the source (the
// cluster file replaced, or a put to etcd) to the new neighbour and fdb
// entries being in the kernel, seen by `ip monitor neigh` and `bridge monitor
// fdb` inside the namespace; RSS after the changes.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  clusterDoc, createNamespace, deleteNamespace, flannelLease, LOCAL_IP, median, nodeSpec, onCleanup,
  listOf, percentile, seedEtcd, tempDir, unknownSource, writeAtomic,
} from './lib.mjs';
import { NODE, NO_FWD, OVLNET, common, fmtMs, log, must, ovlnet } from './ovlnet.mjs';

export function lineWatcher(cmd, args) {
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

export async function waitConverged(args, deadlineMs, gaveUp = () => false) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (gaveUp()) return false;
    const r = await ovlnet(['diff', ...args]);
    if (r.code === 0) return true;
    if (Date.now() > until) return false;
    await new Promise((res) => setTimeout(res, 500));
  }
}

export function statusKB(pid, field) {
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
export function fileSource(file) {
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
export async function etcdSource(doc) {
  const { endpoint, uri, client, key, grant, stop } = await seedEtcd(doc, ETCD_PREFIX, ETCD_LEASE_TTL);
  // The source the daemon runs with: the local node is found by its public IP, as flanneld's --public-ip.
  const args = (ns) => ['--source', uri, '--public-ip', LOCAL_IP, '--netns', ns, NO_FWD];
  const local = doc.nodes[0];
  return {
    name: 'etcd',
    endpoint: endpoint,
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

const SOURCES = ['file', 'etcd'];
const sourcesOf = (opt) => (opt['no-daemon'] ? [] : listOf(opt['daemon-sources']));

export default {
  name: 'daemon',
  options: {
    'no-daemon': { type: 'boolean', default: false, help: 'leave the daemon out' },
    'daemon-sources': { type: 'string', default: 'file,etcd', help: 'sources for the daemon (file, etcd)' },
    'daemon-peers': { type: 'string', default: '5000', quick: '1000', help: 'peers for the latency measurement' },
    'daemon-changes': { type: 'string', default: '100', quick: '10', help: 'single-peer changes at --daemon-peers' },
    'daemon-rss-peers': { type: 'string', default: '10000', quick: '0', help: 'peers for a second run (20 changes) for RSS; 0: none' },
  },
  needsEtcd: (opt) => sourcesOf(opt).includes('etcd'),
  validate(opt) {
    return unknownSource('daemon-sources', sourcesOf(opt), SOURCES);
  },
  enabled: (opt) => sourcesOf(opt).length > 0,
  async run({ opt }) {
    const out = [];
    const peersList = [...new Set([Number(opt['daemon-peers']), Number(opt['daemon-rss-peers'])])].filter((x) => x > 0);
    for (const p of peersList) {
      for (const kind of sourcesOf(opt)) {
        log(`\n== daemon, ${kind} source, ${p} peers`);
        const changes = p === Number(opt['daemon-peers']) ? Number(opt['daemon-changes']) : 20;
        let d;
        try {
          d = await daemonRun(kind, p, changes);
        } catch (e) {
          // One source's failure does not lose the other's figures.
          d = { source: kind, peers: p, notRun: String(e?.message ?? e).split('\n')[0] };
        }
        out.push(d);
        if (d.notRun) log(`  not run: ${d.notRun}`);
        else log(`  p50 ${fmtMs(d.p50Ms)} ms, p99 ${fmtMs(d.p99Ms)} ms, ${d.timeouts} timeouts, RSS ${d.rssMB.toFixed(0)} MB`);
      }
    }
    return out;
  },
  report(runs) {
    return runs.map((d) => (d.notRun
      ? `daemon (${d.peers} peers, ${d.source}): not run: ${d.notRun}`
      : `daemon (${d.peers} peers): ${d.source} change -> kernel p50 ${fmtMs(d.p50Ms)} ms, p99 ${fmtMs(d.p99Ms)} ms over ${d.latenciesMs.length} changes (${d.timeouts} timeouts), kernel events per change ${d.kernelEventsPerChange.median}; RSS ${d.rssMB.toFixed(0)} MB (peak ${d.peakRssMB.toFixed(0)} MB); first convergence ${d.convergeMs} ms`));
  },
};
