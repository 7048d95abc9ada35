// Real etcd servers for the tests: one member or a small cluster on
// 127.0.0.1 with random free ports and temporary data dirs. Every start has a
// matching stop that kills the processes and removes the dirs, also when the
// test fails; `setpriv --pdeathsig KILL` makes etcd die with the test process
// even when the runner has to kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface EtcdMember {
  name: string;
  clientURL: string;
  /** `127.0.0.1:PORT`, as written in an etcd:// source URI. */
  endpoint: string;
  peerURL: string;
  dataDir: string;
  proc?: ChildProcess;
}

export interface EtcdCluster {
  members: EtcdMember[];
  tls?: TLSFiles;
  /** Endpoints of all members, `127.0.0.1:PORT`. */
  endpoints: string[];
  /** An etcd:// URI for all members, with an optional prefix. */
  uri(prefix?: string): string;
  /** Runs etcdctl against the cluster; throws on failure. */
  ctl(args: string[], input?: string): Promise<string>;
  /** Kills one member with SIGKILL (a crash) and waits for it to be gone. */
  kill(index: number): Promise<void>;
  /**
   * Starts a killed member of a one-member cluster again on the same ports:
   * with `wipe`, from an empty data dir (a new store, revision 1); with
   * `snapshot`, from that `etcdctl snapshot save` file (the store as it was then).
   */
  restart(index: number, from?: { wipe?: boolean; snapshot?: string }): Promise<void>;
  stop(): Promise<void>;
  tmp: string;
}

let live: EtcdCluster[] = [];
// A crash between start and stop still must not leave etcd running.
process.on('exit', () => {
  for (const c of live) for (const m of c.members) m.proc?.kill('SIGKILL');
});

/**
 * A port on 127.0.0.1 nobody listens on, for a server started later (etcd).
 * Chosen below the kernel's ephemeral range (ip_local_port_range): a port
 * from that range (what listen(0) hands out) can be taken between this
 * check and etcd's bind by the local end of any outgoing connection, the
 * tests' own clients included ("bind: address already in use" in CI). A
 * port is handed out once per test process.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  const floor = Math.max(10_000, low - 10_000);
  for (let tries = 0; tries < 200; tries++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    if (handedOut.has(port)) continue;
    if (await listenable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 between ${floor} and ${low}`);
}

const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (32768 by default). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 11_000) return low;
  } catch { /* not Linux: the default */ }
  return 32_768;
}

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function healthy(m: EtcdMember, tls: TLSFiles | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const opts = { timeout: 1000, ...(tls ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) } : {}) };
    const req = (tls ? httpsGet : httpGet)(`${m.clientURL}/health`, opts, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(/"health":\s*"true"/.test(body)));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
  });
}

async function waitExit(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((r) => p.once('exit', () => r()));
}

export interface TLSFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in dir. */
export async function makeTLS(dir: string): Promise<TLSFiles> {
  const f = (n: string) => join(dir, n);
  const ossl = async (...args: string[]) => {
    const r = await execa('openssl', args, { reject: false });
    if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ossl('req', '-x509', ...key, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-subj', '/CN=ovlnet-test-ca', '-days', '1');
  for (const [name, ext] of [['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth'], ['client', 'extendedKeyUsage=clientAuth']]) {
    await ossl('req', ...key, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`);
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    await ossl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
      '-out', f(`${name}.crt`), '-days', '1', '-extfile', f(`${name}.ext`));
  }
  return { ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') };
}

/**
 * Starts an n-member cluster and waits until every member reports healthy.
 * With tls, clients must speak TLS and present a certificate from the test CA.
 */
export async function startEtcd(n = 1, opts: { tls?: boolean } = {}): Promise<EtcdCluster> {
  const tmp = mkdtempSync(join(tmpdir(), 'ovlnet-etcd-'));
  let tls: TLSFiles | undefined;
  try {
    if (opts.tls) tls = await makeTLS(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const scheme = tls ? 'https' : 'http';
  const members: EtcdMember[] = [];
  for (let i = 0; i < n; i++) {
    const c = await freePort();
    const p = await freePort();
    members.push({
      name: `m${i}`,
      clientURL: `${scheme}://127.0.0.1:${c}`,
      endpoint: `127.0.0.1:${c}`,
      peerURL: `http://127.0.0.1:${p}`,
      dataDir: join(tmp, `m${i}`),
    });
  }
  const initial = members.map((m) => `${m.name}=${m.peerURL}`).join(',');
  const logs = new Map<EtcdMember, string>();
  const spawnMember = (m: EtcdMember) => {
    const args = [
      '--pdeathsig', 'KILL', 'etcd',
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientURL,
      '--advertise-client-urls', m.clientURL,
      '--listen-peer-urls', m.peerURL,
      '--initial-advertise-peer-urls', m.peerURL,
      '--initial-cluster', initial,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `ovlnet-test-${process.pid}-${members[0].endpoint}`,
      '--logger', 'zap', '--log-level', 'error',
      ...(tls ? ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--client-cert-auth', '--trusted-ca-file', tls.ca] : []),
      // Test cluster on loopback: elect quickly after a member is killed.
      '--heartbeat-interval', '50', '--election-timeout', '500',
    ];
    const proc = spawn('setpriv', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    logs.set(m, '');
    proc.stderr!.on('data', (d) => {
      const s = (logs.get(m) ?? '') + String(d);
      logs.set(m, s.slice(-4000));
    });
    m.proc = proc;
  };
  const waitHealthy = async (m: EtcdMember) => {
    const deadline = Date.now() + 30_000;
    while (!(await healthy(m, tls))) {
      if (m.proc?.exitCode !== null && m.proc?.exitCode !== undefined) {
        throw new Error(`etcd ${m.name} exited (${m.proc.exitCode}): ${logs.get(m)}`);
      }
      if (Date.now() > deadline) throw new Error(`etcd ${m.name} not healthy after 30 s: ${logs.get(m)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const cluster: EtcdCluster = {
    members,
    tls,
    endpoints: members.map((m) => m.endpoint),
    tmp,
    uri: (prefix = '') => `${tls ? 'etcds' : 'etcd'}://${members.map((m) => m.endpoint).join(',')}${prefix}`,
    async ctl(args, input) {
      const r = await execa('etcdctl', [`--endpoints=${members.filter((m) => m.proc).map((m) => m.clientURL).join(',')}`, '--dial-timeout=3s', '--command-timeout=10s',
        ...(tls ? [`--cacert=${tls.ca}`, `--cert=${tls.clientCert}`, `--key=${tls.clientKey}`] : []), ...args], {
        input: input ?? '', reject: false, env: { ETCDCTL_API: '3' },
      });
      if (r.exitCode !== 0) throw new Error(`etcdctl ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
      return String(r.stdout);
    },
    async kill(index) {
      const m = members[index];
      const p = m.proc;
      if (!p) return;
      p.kill('SIGKILL');
      await waitExit(p);
      m.proc = undefined;
    },
    async restart(index, from = {}) {
      const m = members[index];
      if (m.proc) throw new Error(`etcd ${m.name} is running: kill it first`);
      if (from.wipe || from.snapshot) rmSync(m.dataDir, { recursive: true, force: true });
      if (from.snapshot) {
        const r = await execa('etcdctl', ['snapshot', 'restore', from.snapshot, '--data-dir', m.dataDir, '--name', m.name,
          '--initial-cluster', initial, '--initial-advertise-peer-urls', m.peerURL,
          '--initial-cluster-token', `ovlnet-test-${process.pid}-${members[0].endpoint}`], { reject: false, env: { ETCDCTL_API: '3' } });
        if (r.exitCode !== 0) throw new Error(`etcdctl snapshot restore failed: ${r.stderr}`);
      }
      spawnMember(m);
      await waitHealthy(m);
    },
    async stop() {
      for (const m of members) {
        if (!m.proc) continue;
        m.proc.kill('SIGKILL');
        await waitExit(m.proc);
        m.proc = undefined;
      }
      live = live.filter((c) => c !== cluster);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  live.push(cluster);
  try {
    for (const m of members) spawnMember(m);
    for (const m of members) await waitHealthy(m);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

/** Runs fn with a fresh etcd (n members) and always stops it. */
export async function withEtcd<T>(fn: (c: EtcdCluster) => Promise<T>, n = 1, opts: { tls?: boolean } = {}): Promise<T> {
  const c = await startEtcd(n, opts);
  try {
    return await fn(c);
  } finally {
    await c.stop();
  }
}

/** Runs fn with a fresh 3-member cluster and always stops it. */
export function withEtcdCluster<T>(fn: (c: EtcdCluster) => Promise<T>, n = 3): Promise<T> {
  return withEtcd(fn, n);
}

/** flannel's lease value for a node, as flanneld writes it. */
export function flannelLease(publicIP: string, vtepMAC: string, vni = 1): string {
  return JSON.stringify({ PublicIP: publicIP, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: vni, VtepMAC: vtepMAC } });
}

/** Grants an etcd lease with etcdctl and returns its hex ID. */
export async function grantLease(c: EtcdCluster, ttlSeconds: number): Promise<string> {
  const out = await c.ctl(['lease', 'grant', String(ttlSeconds)]);
  const m = /lease ([0-9a-f]+) granted/.exec(out);
  if (!m) throw new Error(`unexpected etcdctl output: ${out}`);
  return m[1];
}

/**
 * Calls etcd has answered so far, by gRPC service and method (every status
 * code), from its own /metrics: what tests count to prove how often ovlnet
 * lists (`etcdserverpb.KV`/`Range`) or looks up lease expiries.
 */
export async function etcdCalls(c: EtcdCluster, service: string, method: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    httpGet(`${c.members[0].clientURL}/metrics`, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  if (!text.includes('grpc_server_handled_total{')) throw new Error('etcd /metrics has no grpc_server_handled_total');
  return text.split('\n')
    .filter((l) => l.startsWith('grpc_server_handled_total{') && l.includes(`grpc_method="${method}"`) && l.includes(`grpc_service="${service}"`))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}
