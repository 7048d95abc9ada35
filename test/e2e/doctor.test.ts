// `ovlnet doctor` on four real nodes in namespaces: healthy, then one fault
// at a time on node-d (each reverted before the next), with doctor run on
// node-d and on node-a. Doctor must name exactly the right host setting or
// peer, no healthy peer, exit 2, and write nothing (full kernel snapshots,
// the filter table and the sysctls before and after every run). Then the
// daemon's probes: an unreachable peer is counted on /metrics within a few
// probe intervals while /healthz stays 200.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ovlnet } from '../lib/cli.js';
import { DaemonProcess, eventually, httpGet } from '../lib/daemon.js';
import { sharedCluster } from '../lib/e2e.js';
import { kernelSnapshot, settledSnapshot } from '../lib/kernel.js';
import { defaultNodes, ipn, sh, type TestNode } from '../lib/netns.js';

const specs = defaultNodes(4);
const env = sharedCluster(test, specs, { converge: true });

interface Report {
  version: number;
  ok: boolean;
  checks: Array<{ name: string; status: string; peer?: string; message: string; hint?: string }>;
}

const subnetFile = (n: TestNode) => join(env.t.tmp, `subnet-${n.name}.env`);

function writeSubnetFiles(): void {
  // What `ovlnet daemon` writes for these nodes (vxlan MTU 1450).
  for (const n of env.nodes) writeFileSync(subnetFile(n), `# written by ovlnet daemon\nFLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=${n.podGateway}/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
}

/** Everything doctor could have changed in a namespace: kernel objects (dynamic neighbours aside: probes make ARP entries), the filter table, the sysctls it reads. */
async function state(ns: string): Promise<string> {
  const k = await kernelSnapshot(ns);
  const neigh = (JSON.parse(k.neigh) as Array<{ state?: string[] }>).filter((e) => e.state?.some((s) => s === 'PERMANENT' || s === 'NOARP'));
  const filter = (await sh('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'filter'])).split('\n').filter((l) => !l.startsWith('#')).join('\n');
  const sysctl = await sh('ip', ['netns', 'exec', ns, 'sysctl', 'net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', 'net.bridge.bridge-nf-call-iptables']);
  return JSON.stringify({ ...k, neigh, filter, sysctl }, null, 1);
}

/** Runs doctor -o json on a node and checks that it changed nothing there. */
async function doctor(n: TestNode, extra: string[] = []): Promise<{ code: number; report: Report; stderr: string }> {
  const before = await state(n.ns);
  const r = await ovlnet(['doctor', '--source', env.c.src, '--node', n.name, '--netns', n.ns, '--subnet-file', subnetFile(n), '-o', 'json', ...extra]);
  const after = await state(n.ns);
  assert.is(after, before, `doctor on ${n.name} changed the namespace`);
  let report: Report;
  try {
    report = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`doctor on ${n.name} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

const failed = (r: Report) => r.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}${c.peer ? ` ${c.peer}` : ''}`).sort();

function expectFindings(who: string, got: { code: number; report: Report; stderr: string }, fails: string[], peers: string[]): void {
  const dump = JSON.stringify(got.report.checks.filter((c) => c.status !== 'pass'), null, 1);
  assert.equal(failed(got.report), [...fails].sort(), `${who}: failed checks\n${dump}`);
  assert.is(got.code, fails.length ? 2 : 0, `${who}: exit code\n${dump}\n${got.stderr}`);
  assert.is(got.report.ok, fails.length === 0);
  const named = got.report.checks.filter((c) => c.status !== 'pass' && c.peer).map((c) => c.peer!);
  assert.equal([...new Set(named)].sort(), peers, `${who}: peers named\n${dump}`);
}

test('healthy: doctor passes on every node, writes nothing, and prints plain columns in a pipe', async () => {
  writeSubnetFiles();
  // The first snapshot once the namespaces are quiet (IPv6 DAD after apply).
  await Promise.all(env.nodes.map((n) => settledSnapshot(n.ns)));
  for (const n of env.nodes) {
    const r = await doctor(n);
    expectFindings(n.name, r, [], []);
    const probed = r.report.checks.find((c) => c.name === 'peers.probed');
    assert.match(probed?.message ?? '', /probed 3 of 3 peers: 3 answer through flannel\.1 \(DF packets of 1450 bytes\)/);
  }
  const [a] = env.nodes;
  const t = await ovlnet(['doctor', '--source', env.c.src, '--node', a.name, '--netns', a.ns, '--subnet-file', subnetFile(a)]);
  assert.is(t.code, 0, t.stdout + t.stderr);
  assert.match(t.stdout, /^STATUS +CHECK +PEER +FINDING +HINT\n/);
  assert.match(t.stdout, /\npass +host\.forward +- +pod traffic is forwarded both ways/);
  assert.match(t.stdout, /Doctor: \d+ passed, 0 warnings, 0 failed\.\n?$/);
});

interface Fault {
  what: string;
  inject(d: TestNode): Promise<unknown>;
  revert(d: TestNode): Promise<unknown>;
  /** Failed checks doctor reports on node-d, and the peers it names. */
  onD: [string[], string[]];
  /** ... and on node-a. */
  onA: [string[], string[]];
}

const iptables = (n: TestNode, ...args: string[]) => sh('ip', ['netns', 'exec', n.ns, 'iptables', ...args]);
const sysctl = (n: TestNode, kv: string) => sh('ip', ['netns', 'exec', n.ns, 'sysctl', '-qw', kv]);

const faults: Fault[] = [
  {
    what: 'a firewall drops UDP 8472 on node-d',
    inject: (d) => iptables(d, '-A', 'INPUT', '-p', 'udp', '--dport', '8472', '-j', 'DROP'),
    revert: (d) => iptables(d, '-D', 'INPUT', '-p', 'udp', '--dport', '8472', '-j', 'DROP'),
    // node-d: its own rule, and every probe failing because of it (no peer blamed).
    onD: [['host.input', 'peers.overlay'], []],
    onA: [['peer.overlay node-d'], ['node-d']],
  },
  {
    what: 'ip_forward=0 on node-d',
    inject: (d) => sysctl(d, 'net.ipv4.ip_forward=0'),
    revert: (d) => sysctl(d, 'net.ipv4.ip_forward=1'),
    onD: [['host.ip_forward'], []],
    onA: [[], []],
  },
  {
    what: "a blackhole route inside node-b's subnet on node-d",
    inject: (d) => ipn(d.ns, 'route', 'add', 'blackhole', '198.18.1.128/28'),
    revert: (d) => ipn(d.ns, 'route', 'del', 'blackhole', '198.18.1.128/28'),
    onD: [['routing.peer node-b'], ['node-b']],
    onA: [[], []],
  },
  {
    what: "a policy rule sending part of node-b's subnet to another table on node-d",
    inject: (d) => ipn(d.ns, 'rule', 'add', 'to', '198.18.1.64/26', 'table', '100', 'priority', '100'),
    revert: (d) => ipn(d.ns, 'rule', 'del', 'priority', '100'),
    onD: [['routing.peer node-b'], ['node-b']],
    onA: [[], []],
  },
  {
    what: "a smaller MTU on node-d's underlay",
    inject: (d) => ipn(d.ns, 'link', 'set', 'eth0', 'mtu', '1400'),
    revert: (d) => ipn(d.ns, 'link', 'set', 'eth0', 'mtu', '1500'),
    // node-d: its device no longer fits (and so differs from the plan, as does
    // its subnet.env); node-a: full-size packets to node-d are lost, small ones pass.
    onD: [['host.mtu', 'state.diff', 'state.subnet_env'], []],
    onA: [['peer.mtu node-d'], ['node-d']],
  },
  {
    // apply installs flannel's FORWARD accept rules (FLANNEL-FWD), which let pod traffic
    // through a DROP policy: the fault is the policy with those rules flushed.
    what: 'FORWARD policy DROP on node-d, its accept rules flushed',
    inject: async (d) => {
      await iptables(d, '-P', 'FORWARD', 'DROP');
      await iptables(d, '-F', 'FLANNEL-FWD');
    },
    revert: async (d) => {
      await iptables(d, '-P', 'FORWARD', 'ACCEPT');
      await env.c.apply(d);
    },
    // The flushed rules are ovlnet's: the diff sees them missing too.
    onD: [['host.forward', 'state.diff'], []],
    onA: [[], []],
  },
  {
    what: 'cni0 on node-d holding an address outside its subnet',
    inject: async (d) => {
      await ipn(d.ns, 'addr', 'flush', 'dev', 'cni0');
      await ipn(d.ns, 'addr', 'add', '198.18.9.1/24', 'dev', 'cni0');
    },
    revert: async (d) => {
      await ipn(d.ns, 'addr', 'flush', 'dev', 'cni0');
      await ipn(d.ns, 'addr', 'add', `${d.podGateway}/24`, 'dev', 'cni0');
    },
    onD: [['host.cni0'], []],
    onA: [[], []],
  },
  {
    what: "node-d's underlay link down",
    inject: (d) => ipn(d.ns, 'link', 'set', 'eth0', 'down'),
    revert: async (d) => {
      await ipn(d.ns, 'link', 'set', 'eth0', 'up');
      // The kernel dropped the connected route with the link: wait until node-a is reachable again.
      await eventually(() => sh('ip', ['netns', 'exec', d.ns, 'ping', '-c', '1', '-W', '1', env.nodes[0].publicIP]).then(() => true, () => false), (x) => x, 'node-d reaches node-a again', 10_000, 200);
    },
    onD: [['host.underlay', 'peers.overlay'], []],
    onA: [['peer.underlay node-d'], ['node-d']],
  },
];

test('each fault on node-d: doctor names exactly that setting or peer, exits 2, and names no healthy peer', async () => {
  const [a, , , d] = env.nodes;
  for (const f of faults) {
    await f.inject(d);
    try {
      const [onD, onA] = [await doctor(d), await doctor(a)];
      expectFindings(`${f.what}: node-d`, onD, ...f.onD);
      expectFindings(`${f.what}: node-a`, onA, ...f.onA);
    } finally {
      await f.revert(d);
    }
  }
  // Every fault reverted: healthy again.
  expectFindings('after the faults: node-d', await doctor(d), [], []);
});

test('FORWARD policy DROP with the accept rules apply installs (FLANNEL-FWD) passes', async () => {
  const d = env.nodes[3];
  const save = await sh('ip', ['netns', 'exec', d.ns, 'iptables-save', '-t', 'filter']);
  assert.match(save, /-A FLANNEL-FWD -s 198\.18\.0\.0\/16 .*-j ACCEPT/, 'apply installed the accept rules');
  await iptables(d, '-P', 'FORWARD', 'DROP');
  try {
    const r = await doctor(d);
    expectFindings('node-d', r, [], []);
    assert.match(r.report.checks.find((c) => c.name === 'host.forward')!.message, /both ways \(FORWARD policy DROP\)/);
  } finally {
    await iptables(d, '-P', 'FORWARD', 'ACCEPT');
  }
});

async function metricValue(url: string, name: string): Promise<number | undefined> {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec((await httpGet(`${url}/metrics`)).body);
  return m ? Number(m[1]) : undefined;
}

test('daemon probes: an unreachable peer is counted and logged within a few probe intervals, /healthz stays 200; doctor shows the daemon\'s view', async () => {
  const [a, , , d] = env.nodes;
  const daemon = new DaemonProcess(['--source', env.c.src, '--node', a.name, '--netns', a.ns, '--log-format', 'json', '--interval', '60s',
    '--subnet-file', join(env.t.tmp, 'daemon-a.env'), '--metrics-addr', '127.0.0.1:0', '--probe-interval', '1s']);
  const drop = ['-A', 'INPUT', '-p', 'udp', '--dport', '8472', '-j', 'DROP'];
  let dropped = false;
  try {
    await daemon.ready();
    const url = await daemon.metricsURL();
    await eventually(async () => (await httpGet(`${url}/peers`)).body, (b) => (JSON.parse(b).peers as Array<{ state: string }>).filter((p) => p.state === 'reachable').length === 3, 'all three peers probed reachable', 20_000, 200);
    assert.is(await metricValue(url, 'ovlnet_peers_unreachable'), 0);

    const from = daemon.lines.length;
    await iptables(d, ...drop);
    dropped = true;
    await eventually(() => metricValue(url, 'ovlnet_peers_unreachable'), (v) => v === 1, 'ovlnet_peers_unreachable 1', 20_000, 200);
    assert.is((await httpGet(`${url}/healthz`)).status, 200, '/healthz does not depend on probes');
    assert.ok(((await metricValue(url, 'ovlnet_probes_total{result="failed",family="4"}')) ?? 0) >= 2);
    const peers = JSON.parse((await httpGet(`${url}/peers`)).body) as { peers: Array<{ name: string; state: string }> };
    assert.equal(peers.peers.map((p) => `${p.name} ${p.state}`), ['node-b reachable', 'node-c reachable', 'node-d unreachable']);
    const line = await daemon.waitForMsg(/^peer unreachable through the overlay$/, 5000, from);
    assert.is(line.peer, 'node-d');
    assert.is(daemon.lines.slice(from).filter((l) => l.msg === 'peer unreachable through the overlay').length, 1, 'one line for the outage');

    const r = await doctor(a, ['--metrics-addr', url.replace('http://', '')]);
    const view = r.report.checks.find((c) => c.name === 'daemon.probes');
    assert.match(view?.message ?? '', /the daemon probes 3 peers: 1 unreachable \(node-d\)/);
    expectFindings('node-a with the daemon', r, ['peer.overlay node-d'], ['node-d']);

    await iptables(d, '-D', ...drop.slice(1));
    dropped = false;
    await eventually(() => metricValue(url, 'ovlnet_peers_unreachable'), (v) => v === 0, 'ovlnet_peers_unreachable back to 0', 20_000, 200);
    await daemon.waitForMsg(/^peer reachable again through the overlay$/, 5000, from);
    assert.is((await httpGet(`${url}/healthz`)).status, 200);
  } finally {
    if (dropped) await iptables(d, '-D', ...drop.slice(1));
    await daemon.kill();
  }
});

test.run();
