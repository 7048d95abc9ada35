// The I/O of `ovlnet doctor`: everything its checks decide on, read from the
// host, the files and the daemon, concurrently and each part bounded in time.
// Reads only: no tool here is ever asked to change anything. The decisions
// are in decide.ts and checks/.
import { readdir, readFile, stat } from 'node:fs/promises';
import { release as osRelease } from 'node:os';
import type { Snapshot } from '../engine/cycle.js';
import { HostError } from '../errors.js';
import { backendOf } from '../backends/registry.js';
import { TX_CSUM_FEATURE } from '../backends/vxlan/offload.js';
import { readFileIfExists } from '../host/files.js';
import { renderSubnetEnv, subnetEnvFor } from '../daemon/subnet-env.js';
import { run } from '../host/exec.js';
import { ipShowEach } from '../host/read.js';
import { ping, pingOverhead } from '../host/ping.js';
import { ipFromValue, lastAddress, makePrefix, networkOf, nthAddress, parsePrefix, prefixContains, type Prefix } from '../model/ip.js';
import type { Node, RouteEntry } from '../model/types.js';
import type { DaemonFacts, DaemonPeerView } from './checks/daemon.js';
import { devSysctl, type HostFacts } from './checks/host.js';
import { parseFilterSave, type FilterTable } from './checks/netfilter-eval.js';
import { samplePeers, type PeerProbe } from './checks/peers.js';
import type { PeerRouting, PolicyRule, RouteLookup } from './checks/routing.js';
import type { DoctorFacts } from './decide.js';
import { probePlan, type ProbePlan } from './probe-plan.js';

export interface GatherOptions {
  netns?: string;
  /** subnet.env to check; '' = do not check. */
  subnetFile: string;
  ipMasq: boolean;
  /** --peer: probe these too when sampling. */
  peers: string[];
  /** A running daemon's --metrics-addr, whose /peers is shown. */
  daemonAddr?: string;
  now?: number;
  kernelRelease?: string;
}

/**
 * Peers probed at once (three pings each). With 64 peers down, 4 waves of a
 * second each: measured 18 s for 8 at a time with the small probe sent after
 * a failed full-size one, 5.9 s like this (150 peers, 149 of them down; load average 15 on 2 cores).
 */
const PROBE_CONCURRENCY = 16;

async function limit<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

/** The probes of one peer: its first family, and in dual stack its IPv6 half. */
async function probePeer(netns: string | undefined, plan: ProbePlan, n: Node): Promise<PeerProbe[]> {
  const v6 = plan.second?.targetOf(n);
  const halves = [probeHalf(netns, n.name, plan.targetOf(n).text, n.publicIP.text, plan.mtu)];
  if (plan.second && v6 && n.v6) halves.push(probeHalf(netns, n.name, v6.text, n.v6.publicIP.text, plan.second.mtu).then((p) => ({ ...p, device: plan.second!.device, mtu: plan.second!.mtu })));
  return Promise.all(halves);
}

async function probeHalf(netns: string | undefined, name: string, target: string, publicIP: string, mtu: number): Promise<PeerProbe> {
  const full = { payload: mtu - pingOverhead(target), dontFragment: true };
  // The small probe tells a path-MTU problem from the rest when the full-size one fails. Sent
  // at the same time rather than after: a peer that is down then costs one wait, not two.
  const [overlay, underlay, small] = await Promise.all([ping(netns, target, full), ping(netns, publicIP), ping(netns, target)]);
  return { name, target, publicIP, overlay, underlay, ...(overlay.ok ? {} : { small }) };
}

/** Addresses looked up per peer subnet: the first and the last host, so a shadowed half shows. */
function lookupAddrs(subnet: Prefix): string[] {
  const net = networkOf(subnet);
  const first = nthAddress(net, 1n).text;
  const last = ipFromValue(net.family, lastAddress(net).value - 1n).text;
  return [...new Set([first, last])];
}

function expectedRoute(snap: Snapshot, subnet: Prefix): PeerRouting['expect'] {
  const routes = snap.desired.entries.filter((e): e is RouteEntry => e.kind === 'route' && prefixContains(e.dst, subnet));
  const best = routes.sort((a, b) => b.dst.len - a.dst.len)[0];
  return best ? { dev: best.dev, ...(best.via ? { via: best.via.text } : {}) } : { dev: '(none planned)' };
}

interface IpFacts {
  links: Map<string, { up: boolean; carrier: boolean; mtu: number }>;
  rules: PolicyRule[];
  lookups: Map<string, RouteLookup>;
}

/** One `ip -force -batch`: the links (for carrier), the policy rules and `route get` for every address. */
async function readLinksAndLookups(netns: string | undefined, addrs: string[]): Promise<IpFacts> {
  const [linkAnswer, ruleAnswer, ...routeAnswers] = await ipShowEach(netns, ['link show', 'rule show', ...addrs.map((a) => `route get ${a}`)]);
  if (!linkAnswer.json) throw new HostError(`reading the links failed: ${linkAnswer.error}`);
  const links = new Map<string, { up: boolean; carrier: boolean; mtu: number }>();
  for (const l of linkAnswer.json as Array<Record<string, any>>) {
    const flags: string[] = Array.isArray(l.flags) ? l.flags : [];
    if (typeof l.ifname === 'string') links.set(l.ifname, { up: flags.includes('UP'), carrier: flags.includes('LOWER_UP'), mtu: Number(l.mtu) });
  }
  const rules = policyRules(ruleAnswer.json, 32);
  const lookups = new Map<string, RouteLookup>();
  routeAnswers.forEach((ans, i) => {
    const addr = addrs[i];
    const a = (ans.json?.[0] ?? undefined) as Record<string, any> | undefined;
    lookups.set(addr, ans.error || !a
      ? { addr, error: ans.error ?? 'no answer' }
      : { addr, answer: { dev: a.dev, gateway: a.gateway, table: a.table === undefined ? undefined : String(a.table), type: a.type === undefined ? undefined : String(a.type) } });
  });
  return { links, rules, lookups };
}

/** `ip -j rule show` answers as PolicyRules; `fullLen` is the family's length for a bare `dst`. */
function policyRules(json: unknown[] | undefined, fullLen: 32 | 128): PolicyRule[] {
  const rules: PolicyRule[] = [];
  for (const r of (json ?? []) as Array<Record<string, any>>) {
    const dst = typeof r.dst === 'string' && r.dst !== 'all' ? parsePrefix(`${r.dst}/${r.dstlen ?? fullLen}`) : undefined;
    rules.push({ priority: Number(r.priority), ...(dst ? { dst } : {}), table: String(r.table ?? r.action ?? '?') });
  }
  return rules;
}

/**
 * The IPv6 policy rules: `-6` is an option of the ip command, not of a batch
 * line, so they take a process of their own (run beside the batch). Without
 * IPv6 in the kernel there are none.
 */
async function readRules6(netns: string | undefined): Promise<PolicyRule[]> {
  const r = await run('ip', ['-j', '-6', 'rule', 'show'], { netns });
  if (r.exitCode !== 0) return [];
  try {
    return policyRules(JSON.parse(r.stdout || '[]') as unknown[], 128);
  } catch {
    return [];
  }
}

/**
 * sysctl values by the name sysctl prints (`net.ipv4.conf.flannel/1.rp_filter`:
 * a device name's dots become slashes). Asked in slash form
 * (`net/ipv4/conf/flannel.1/rp_filter`), the one form a device name with dots
 * can be given in. A key that does not exist is left out (sysctl says so on
 * stderr and goes on with the others).
 */
async function readSysctls(netns: string | undefined, names: string[]): Promise<Record<string, string | undefined>> {
  const slashForm = (printed: string) => printed.split('.').map((part) => part.replace(/\//g, '.')).join('/');
  const r = await run('sysctl', names.map(slashForm), { netns });
  const out: Record<string, string | undefined> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+) = (.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** The filter table of one family, or why it could not be read (not installed, no permission). */
async function readFilter(netns: string | undefined, tool: 'iptables-save' | 'ip6tables-save'): Promise<{ table?: FilterTable; error?: string }> {
  try {
    const r = await run(tool, ['-t', 'filter'], { netns });
    if (r.exitCode !== 0) return { error: r.stderr.trim().split('\n')[0] || `${tool} exited ${r.exitCode}` };
    return { table: parseFilterSave(r.stdout) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** flanneld processes, and whether each shares the network namespace doctor looks at. */
async function findFlanneld(netns: string | undefined): Promise<Array<{ pid: number; sameNetns: boolean }>> {
  const ours = await stat(netns ? `/run/netns/${netns}` : '/proc/self/ns/net').catch(() => undefined);
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^[0-9]+$/.test(p));
  const found: Array<{ pid: number; sameNetns: boolean }> = [];
  await limit(pids, 32, async (pid) => {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'flanneld') return;
    const theirs = await stat(`/proc/${pid}/ns/net`).catch(() => undefined);
    // Unknown (not readable): counted as sharing it, the case worth a look.
    const same = !ours || !theirs || (ours.ino === theirs.ino && ours.dev === theirs.dev);
    found.push({ pid: Number(pid), sameNetns: same });
  });
  return found;
}

async function readDaemonPeers(addr: string, probedHere: string[]): Promise<DaemonFacts> {
  const url = `http://${addr}/peers`;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    if (!r.ok) return { url, error: `HTTP ${r.status}`, probedHere };
    const body = await r.json() as { peers?: DaemonPeerView[] };
    return { url, peers: Array.isArray(body.peers) ? body.peers : [], probedHere };
  } catch (e) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause.
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return { url, error: err.cause?.code ?? err.cause?.message ?? err.message, probedHere };
  }
}

/** Everything doctor's checks need, from a snapshot (source and host already read) and a bounded set of reads and probes. */
export async function gatherFacts(snap: Snapshot, o: GatherOptions): Promise<DoctorFacts> {
  const { desired, actual, cluster } = snap;
  const now = o.now ?? Date.now();
  const kernelRelease = o.kernelRelease ?? osRelease();
  const plan = probePlan(snap);
  const peerNodes = desired.peers.map((p) => p.node);
  const sample = samplePeers(peerNodes, o.peers);
  const overlayDev = desired.device && desired.backend !== 'host-gw' ? desired.device : undefined;
  const cni0 = actual.links.get('cni0');

  // Dual stack: the IPv6 subnet is looked up too, and the IPv6 policy rules read.
  const lookupsByPeer = peerNodes.flatMap((n) => [n.subnet, ...(n.v6 ? [n.v6.subnet] : [])].map((subnet) => ({ n, subnet, addrs: lookupAddrs(subnet) })));
  const sysctlKeys = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', 'net.bridge.bridge-nf-call-iptables',
    ...(cluster.config.ipv6 || cluster.config.network.family === 6 ? ['net.ipv6.conf.all.forwarding'] : []),
    ...[overlayDev, cni0 ? 'cni0' : undefined].flatMap((d) => (d && actual.links.has(d) ? [devSysctl(d, 'rp_filter')] : []))];

  const networks = [cluster.config.network, ...(cluster.config.ipv6 ? [cluster.config.ipv6.network] : [])];
  const wantV6 = networks.some((n) => n.family === 6) || desired.local.publicIP.family === 6;
  const [ip, rules6, sysctl, filter, filter6, probes, subnetText, flanneld, daemon] = await Promise.all([
    readLinksAndLookups(o.netns, lookupsByPeer.flatMap((p) => p.addrs)),
    lookupsByPeer.some((p) => p.subnet.family === 6) ? readRules6(o.netns) : Promise.resolve([]),
    readSysctls(o.netns, sysctlKeys),
    readFilter(o.netns, 'iptables-save'),
    wantV6 ? readFilter(o.netns, 'ip6tables-save') : Promise.resolve(undefined),
    limit(sample.chosen, PROBE_CONCURRENCY, (n) => probePeer(o.netns, plan, n)).then((r) => r.flat()),
    o.subnetFile ? readFileIfExists(o.subnetFile) : Promise.resolve(undefined),
    findFlanneld(o.netns),
    o.daemonAddr ? readDaemonPeers(o.daemonAddr, sample.chosen.map((n) => n.name)) : Promise.resolve(undefined),
  ]);

  const conflicts = new Set(snap.result.conflicts);
  const { describeChange } = await import('../render/describe.js');
  const underlayLink = ip.links.get(desired.underlay.dev);
  const overlayLink = overlayDev ? actual.links.get(overlayDev) : undefined;
  const gateway = makePrefix(nthAddress(networkOf(desired.local.subnet), 1n), desired.local.subnet.len);
  return {
    state: {
      drift: snap.result.changes.map(describeChange),
      conflicts: snap.result.conflicts.map((c) => c.message),
      ...(o.subnetFile ? { subnetFile: o.subnetFile } : {}),
      subnetText,
      expectedSubnetEnv: renderSubnetEnv(subnetEnvFor(cluster.config, desired, o.ipMasq)),
    },
    source: {
      ...(desired.backend === 'vxlan' && overlayDev ? { vtep: { device: overlayDev, published: desired.local.vtepMAC.text, actual: overlayLink?.mac?.text } } : {}),
      expiresAt: desired.local.expiresAt,
      now,
      leftOut: snap.problems.filter((p) => !conflicts.has(p)).map((p) => {
        // Problems about one node name it first: `node node-b (nodes[1]).publicIP`.
        const name = /^node (\S+)/.exec(p.subject)?.[1];
        return { subject: p.subject, reason: p.message, ...(name ? { name } : {}) };
      }),
      flanneld,
    },
    host: {
      networks,
      localSubnet: desired.local.subnet,
      sysctl,
      filter: filter.table, filterError: filter.error,
      ...(filter6 ? { filter6: filter6.table, filter6Error: filter6.error } : {}),
      backend: { type: desired.backend, port: plan.port, device: overlayDev, overhead: plan.overhead },
      localPublicIP: desired.local.publicIP,
      ...(desired.local.v6 ? { localPublicIP6: desired.local.v6.publicIP } : {}),
      peers: peerNodes.map((n) => ({ name: n.name, publicIP: n.publicIP })),
      underlay: { dev: desired.underlay.dev, exists: Boolean(underlayLink), up: underlayLink?.up ?? false, carrier: underlayLink?.carrier ?? false, mtu: underlayLink?.mtu ?? desired.underlay.mtu },
      ...(overlayDev && overlayLink ? { overlay: { dev: overlayDev, mtu: overlayLink.mtu, up: overlayLink.up, carrier: ip.links.get(overlayDev)?.carrier } } : {}),
      kernelRelease,
      // The snapshot read it when the plan pins it (--disable-tx-offload auto on an affected
      // kernel); doctor starts no ethtool of its own.
      txChecksum: actual.offload?.find((e) => e.dev === overlayDev && e.feature === TX_CSUM_FEATURE)?.enabled,
      ...(cni0 ? { cni0: cni0.addrs } : {}),
      gateway,
    },
    routing: {
      peers: lookupsByPeer.map(({ n, subnet, addrs }) => ({
        name: n.name, subnet, expect: expectedRoute(snap, subnet),
        lookups: addrs.map((a) => ip.lookups.get(a) ?? { addr: a, error: 'no answer' }),
      })),
      mainRoutes: actual.routes,
      rules: [...ip.rules, ...rules6],
    },
    peers: { device: plan.device, mtu: plan.mtu, port: plan.port, total: peerNodes.length, probed: probes, sampled: sample.sampled, unknownRequested: sample.unknown },
    ...(daemon ? { daemon } : {}),
    backend: backendOf(cluster.config).doctor?.(desired, actual) ?? [],
  };
}
