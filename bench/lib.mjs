// Helpers for `npm run bench`: namespaces, cluster files, timed child
// processes. Every namespace is made here and deleted here; the default
// namespace is never read or written (each command gets -n / --netns).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TIME = '/usr/bin/time';

// ---------------------------------------------------------------------------
// Addresses. The pod network is 198.18.0.0/16 cut into /30s (16 384 of them);
// the underlay is 198.19.0.0/16 on a dummy eth0. Both inside 198.18.0.0/15
// (RFC 2544 benchmarking), and they do not overlap, as validation requires.

export const POD_NETWORK = '198.18.0.0/16';
export const SUBNET_LEN = 30;
export const UNDERLAY_CIDR = 16;

function v4(n) {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
const UNDERLAY_BASE = (198 << 24 | 19 << 16) >>> 0;
const POD_BASE = (198 << 24 | 18 << 16) >>> 0;

/**
 * Node i: public IP 198.19.0.(i+1)..., subnet the (i+1)-th /30 (flannel's
 * SubnetMin skips the network's first subnet: a lease there is not renewed
 * but replaced, as flanneld does). Node 0 is the local node.
 */
export function nodeSpec(i, macSalt = 0) {
  const mac = `0e:${[(macSalt >> 8) & 255, macSalt & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
  return {
    name: `node-${i}`,
    publicIP: v4(UNDERLAY_BASE + i + 1),
    subnet: `${v4(POD_BASE + (i + 1) * 4)}/${SUBNET_LEN}`,
    vtepMAC: mac,
  };
}

export const LOCAL_IP = nodeSpec(0).publicIP;

/**
 * A cluster file with `peers` peers plus the local node, as JSON (the form
 * flannel's etcd leases use; see docs/performance.md for YAML).
 * `changes` maps a node index to a MAC salt, to make "one peer changed" files.
 */
export function clusterDoc(peers, changes = new Map()) {
  const nodes = [];
  for (let i = 0; i <= peers; i++) nodes.push(nodeSpec(i, changes.get(i) ?? 0));
  return { network: POD_NETWORK, subnetLen: SUBNET_LEN, backend: { type: 'vxlan', vni: 1, port: 8472 }, nodes };
}

export function clusterYAML(doc) {
  const lines = [`network: ${doc.network}`, `subnetLen: ${doc.subnetLen}`, 'backend: { type: vxlan, vni: 1, port: 8472 }', 'nodes:'];
  for (const n of doc.nodes) lines.push(`  - { name: ${n.name}, publicIP: ${n.publicIP}, subnet: ${n.subnet}, vtepMAC: "${n.vtepMAC}" }`);
  return lines.join('\n') + '\n';
}

/** Replaces a file the way config managers do (write, then rename over). */
export function writeAtomic(path, text) {
  const tmp = `${path}.tmp${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

// ---------------------------------------------------------------------------
// Namespaces: tracked, so that an exception, Ctrl-C or SIGTERM still deletes them.

const live = new Set();
let nsCounter = 0;
let tmpRoot;

function sh(cmd, args, input) {
  const r = spawnSync(cmd, args, { input: input ?? '', encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** A fresh namespace with lo up and eth0 (a veth; the dummy module may be absent) holding the local public IP. */
export function createNamespace() {
  const ns = `ovlb${process.pid.toString(36)}-${(nsCounter++).toString(36)}`;
  sh('ip', ['netns', 'add', ns]);
  live.add(ns);
  sh('ip', ['-n', ns, '-batch', '-'], [
    'link set lo up',
    'link add eth0 type veth peer name eth0-peer',
    'link set eth0-peer up',
    `addr add ${LOCAL_IP}/${UNDERLAY_CIDR} dev eth0`,
    'link set eth0 up',
  ].join('\n') + '\n');
  return ns;
}

export function deleteNamespace(ns) {
  if (!live.has(ns)) return;
  live.delete(ns);
  spawnSync('ip', ['netns', 'del', ns]);
}

export function tempDir() {
  tmpRoot ??= mkdtempSync(join(tmpdir(), 'ovlnet-bench-'));
  return tmpRoot;
}

const cleanups = [];
export function onCleanup(fn) {
  cleanups.push(fn);
}

export function cleanupAll() {
  for (const fn of cleanups.splice(0)) {
    try { fn(); } catch { /* keep cleaning */ }
  }
  for (const ns of [...live]) deleteNamespace(ns);
  if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = undefined;
}

let installed = false;
export function installCleanupHandlers() {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      cleanupAll();
      process.exit(130);
    });
  }
}

// ---------------------------------------------------------------------------
// Timed runs. Wall time is taken here around the whole child (start to exit);
// peak RSS comes from GNU time (%M, KiB), which waits for the child and so
// reports its maximum resident set including the ip/bridge it waited for;
// CPU time (%U + %S, 10 ms resolution) includes those children too, and is
// what to look at on a loaded machine, where wall time mostly measures the
// neighbours.

/**
 * Runs cmd under /usr/bin/time; resolves with { ms, rssKB, code, stdout, stderr }.
 * stdout is kept (its last MiB, or all of it with keepAll) so the caller can check what the command said.
 */
export function timed(cmd, args, { input, env, keepAll = false } = {}) {
  const rssFile = join(tempDir(), `rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: env ?? process.env,
    });
    const out = [];
    let outLen = 0;
    const err = [];
    child.stdout.on('data', (b) => {
      // Keep the tail only: apply prints a line per change.
      out.push(b);
      outLen += b.length;
      while (!keepAll && outLen > 1 << 20 && out.length > 1) outLen -= out.shift().length;
    });
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      let rssKB = NaN;
      let cpuMs = NaN;
      try {
        // The last line: GNU time puts "Command exited with non-zero status" before it.
        const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
        const [m, u, sys] = lines[lines.length - 1].split(' ').map(Number);
        rssKB = m;
        cpuMs = (u + sys) * 1000;
        rmSync(rssFile, { force: true });
      } catch { /* reported as NaN */ }
      resolve({ ms, rssKB, cpuMs, code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    if (input !== undefined) {
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
  });
}

// ---------------------------------------------------------------------------
// A throw-away etcd (one member, 127.0.0.1, random ports, data dir under the
// bench's temp dir), as the tests start one. `setpriv --pdeathsig KILL` makes
// it die with the bench even when the bench itself is killed; cleanupAll kills
// it too.

export const ETCD = '/usr/bin/etcd';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function etcdHealthy(url) {
  return new Promise((resolve) => {
    const req = httpGet(`${url}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(/"health":\s*"true"/.test(body)));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

let etcdCounter = 0;

/** Starts etcd and waits until it is healthy; resolves with { endpoint, pid, stop() }. */
export async function startEtcd() {
  const dir = join(tempDir(), `etcd-${etcdCounter++}`);
  const client = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const proc = spawn('setpriv', ['--pdeathsig', 'KILL', ETCD,
    '--name', 'bench', '--data-dir', dir,
    '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `bench=${peer}`, '--initial-cluster-state', 'new',
    '--initial-cluster-token', `ovlnet-bench-${process.pid}-${etcdCounter}`,
    '--logger', 'zap', '--log-level', 'error',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log = (log + d).slice(-4000); });
  let exited = false;
  const gone = new Promise((res) => proc.on('close', () => { exited = true; res(); }));
  const kill = () => { if (!exited) proc.kill('SIGKILL'); };
  onCleanup(kill);
  const stop = async () => {
    kill();
    await gone;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30000;
  while (!(await etcdHealthy(client))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`etcd ${exited ? 'exited' : 'not healthy after 30 s'}: ${log.trim().split('\n').slice(-3).join(' | ')}`);
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return { endpoint: client.slice('http://'.length), pid: proc.pid, stop };
}

/** flannel's lease value (what flanneld writes under <prefix>/subnets/). */
export function flannelLease(n, vni = 1) {
  return JSON.stringify({ PublicIP: n.publicIP, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: vni, VtepMAC: n.vtepMAC } });
}

/** flannel's network config for clusterDoc's network (<prefix>/config). */
export function flannelConfig(doc) {
  return JSON.stringify({ Network: doc.network, SubnetLen: doc.subnetLen, Backend: { Type: 'vxlan', VNI: doc.backend.vni, Port: doc.backend.port } });
}

/** flannel's lease key name for a subnet: 198.18.0.4/30 -> 198.18.0.4-30. */
export const leaseName = (subnet) => subnet.replace('/', '-');

export function requireTools({ etcd = false } = {}) {
  const missing = [];
  if (!existsSync(TIME)) missing.push(`${TIME} (Debian package "time")`);
  if (etcd && !existsSync(ETCD)) missing.push(`${ETCD} (Debian package "etcd-server"; or leave etcd out of --daemon-sources)`);
  for (const t of ['ip', 'bridge']) if (spawnSync(t, ['-V']).status !== 0) missing.push(`${t} (package "iproute2")`);
  if (missing.length) throw new Error(`missing: ${missing.join(', ')}`);
  if (process.getuid?.() !== 0) throw new Error('the bench creates network namespaces: run it as root');
}

// ---------------------------------------------------------------------------
// Statistics.

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  // Nearest-rank: p99 of 100 samples is the 99th smallest.
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1];
}

/**
 * A throw-away etcd holding flannel's v3 schema for `doc`: the config and
 * one lease per node, each with an etcd lease of its own, as flanneld keeps
 * them. Always stopped by the caller's stop().
 */
export async function seedEtcd(doc, prefix, ttlSeconds) {
  const { Etcd3 } = await import('etcd3');
  const etcd = await startEtcd();
  const client = new Etcd3({ hosts: `http://${etcd.endpoint}` });
  const key = (n) => `${prefix}/subnets/${leaseName(n.subnet)}`;
  const grant = async () => (await client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 })).ID;
  const stop = async () => {
    client.close();
    await etcd.stop();
  };
  try {
    await client.put(`${prefix}/config`).value(flannelConfig(doc));
    const todo = [...doc.nodes];
    const worker = async () => {
      for (let n = todo.pop(); n; n = todo.pop()) await client.put(key(n)).value(flannelLease(n)).lease(await grant());
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint: etcd.endpoint, uri: `etcd://${etcd.endpoint}${prefix}`, client, key, grant, stop };
}

/** Stops a daemon the bench started: SIGTERM, then SIGKILL after 10 s; resolves once it exited (`exitP`). */
export async function stopDaemon(d, exitP) {
  d.kill('SIGTERM');
  const t = setTimeout(() => d.kill('SIGKILL'), 10_000);
  await exitP;
  clearTimeout(t);
}

/**
 * Follows a daemon spawned with `--log-format json` and stderr piped: each
 * parsed log line goes to `onLine`; `ready` resolves with the time (Date.now())
 * the "ready: first cycle converged" line came and that line, or undefined when
 * the daemon exits first or is not ready within `timeoutMs`. `tail()`: its
 * last stderr lines, for an error message.
 */
export function followDaemon(d, exitP, { onLine = () => {}, timeoutMs = 300_000 } = {}) {
  const stderr = [];
  let pending = '';
  let settle;
  const ready = new Promise((res) => { settle = res; });
  d.stderr.on('data', (b) => {
    stderr.push(b);
    pending += b.toString();
    const parts = pending.split('\n');
    pending = parts.pop();
    for (const l of parts) {
      let o;
      try { o = JSON.parse(l); } catch { continue; }
      onLine(o);
      if (typeof o.msg === 'string' && o.msg.startsWith('ready: first cycle converged')) settle({ at: Date.now(), line: o });
    }
  });
  exitP.then(() => settle(undefined));
  const deadline = setTimeout(() => settle(undefined), timeoutMs);
  return {
    ready: ready.then((r) => { clearTimeout(deadline); return r; }),
    tail: () => Buffer.concat(stderr).toString().trim().split('\n').slice(-3).join(' | '),
  };
}

/** A comma-separated option's values, trimmed, each once, in order. */
export function listOf(text) {
  return [...new Set(String(text ?? '').split(',').map((x) => x.trim()).filter(Boolean))];
}

/** validate()'s answer for a --X-sources option: the first value not in `known`, named; else undefined. */
export function unknownSource(option, sources, known) {
  const bad = sources.find((x) => !known.includes(x));
  return bad === undefined ? undefined : `--${option}: unknown source "${bad}" (${known.join(', ')})`;
}
