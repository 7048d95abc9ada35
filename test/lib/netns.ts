// Test topologies in network namespaces. Never touches the default
// namespace: every device is created inside a namespace this file made, and
// everything is deleted again, even when the test fails.
//
//   hub namespace: bridge br0 (the underlay switch)
//   node namespaces: eth0 (veth to br0) with 192.0.2.x/24, a "CNI" bridge
//   cni0 holding the pod gateway 198.18.N.1/24.
//
// With `routers` (routed topologies): one hub per underlay segment and a
// router namespace with a leg `rN` on each; every node joins the segment
// holding its public IP and routes everything else via that segment's router.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let counter = 0;
/** A short unique prefix: netns names appear in veth peer names (15 chars max). */
export function uniqueTag(): string {
  return `o${process.pid.toString(36)}${(counter++).toString(36)}`;
}

export async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await execa(cmd, args, { input: input ?? '', reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  return String(r.stdout);
}

export async function ipn(ns: string, ...args: string[]): Promise<string> {
  return sh('ip', ['-n', ns, ...args]);
}

export interface TestNode {
  name: string;
  ns: string;
  publicIP: string;
  subnet: string;
  /** The pod gateway on cni0, e.g. 198.18.1.1. */
  podGateway: string;
  /** Dual stack: the IPv6 pod gateway on cni0, e.g. 2001:db8:100:1::1. */
  podGateway6?: string;
}

export interface Topology {
  /** The (first) underlay switch namespace. */
  hub: string;
  /** Routed topologies: the router namespace. */
  router?: string;
  nodes: TestNode[];
  tmp: string;
  /** Writes a file in the topology's temp dir and returns its path. */
  file(name: string, text: string): string;
  /** A pod behind a node's cni0: its own namespace, address .10 of the node's subnet, default route via the pod gateway. */
  addPod(node: TestNode): Promise<TestPod>;
  destroy(): Promise<void>;
}

export interface TestPod {
  ns: string;
  addr: string;
}

export interface NodeSpec {
  name: string;
  publicIP: string;
  subnet: string;
  vtepMAC?: string;
  /** Dual stack: an underlay address in 2001:db8:1::/64 (added to eth0 as /64). */
  publicIPv6?: string;
  /** Dual stack: the node's IPv6 pod subnet, e.g. 2001:db8:100:1::/64 (gateway ::1 on cni0). */
  ipv6Subnet?: string;
  /** WireGuard: the node's public key, written to the cluster file. */
  publicKey?: string;
}

/** defaultNodes with IPv6 halves: 2001:db8:1::1N underlay, 2001:db8:100:N::/64 pods. */
export function dualStackNodes(n = 3): NodeSpec[] {
  return defaultNodes(n).map((s, i) => ({ ...s, publicIPv6: `2001:db8:1::${10 + i}`, ipv6Subnet: `2001:db8:100:${i}::/64` }));
}

/** The default three nodes on 192.0.2.0/24 with pod subnets in 198.18.0.0/16. */
export function defaultNodes(n = 3): NodeSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `node-${String.fromCharCode(97 + i)}`, publicIP: `192.0.2.${10 + i}`, subnet: `198.18.${i}.0/24` }));
}

export interface TopologyOptions {
  underlayMTU?: number;
  /** The router's address on each underlay segment, e.g. ['192.0.2.1/24', '198.51.100.1/24']. */
  routers?: string[];
}

/** `192.0.2.1/24` contains `192.0.2.10`? (IPv4, for test topologies). */
function sameSegment(router: string, ip: string): boolean {
  const [addr, len] = router.split('/');
  const n = (s: string) => s.split('.').reduce((v, o) => v * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  return Math.floor(n(addr) / size) === Math.floor(n(ip) / size);
}

export async function createTopology(specs: NodeSpec[] = defaultNodes(), opts: TopologyOptions = {}): Promise<Topology> {
  const tag = uniqueTag();
  const routers = opts.routers ?? [];
  const hubs = routers.length ? routers.map((_, k) => `${tag}-h${k}`) : [`${tag}-hub`];
  const hub = hubs[0];
  const tmp = mkdtempSync(join(tmpdir(), 'ovlnet-test-'));
  const created: string[] = [];
  const topo: Topology = {
    hub,
    nodes: [],
    tmp,
    file(name, text) {
      const p = join(tmp, name);
      writeFileSync(p, text);
      return p;
    },
    async addPod(node) {
      const i = topo.nodes.indexOf(node);
      const ns = `${tag}-p${i}`;
      await sh('ip', ['netns', 'add', ns]);
      created.push(ns);
      await ipn(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `vp${i}`);
      await ipn(ns, 'link', 'set', `vp${i}`, 'netns', node.ns);
      await ipn(node.ns, 'link', 'set', `vp${i}`, 'master', 'cni0');
      await ipn(node.ns, 'link', 'set', `vp${i}`, 'up');
      const addr = node.podGateway.replace(/\.1$/, '.10');
      await ipn(ns, 'addr', 'add', `${addr}/${node.subnet.split('/')[1]}`, 'dev', 'eth0');
      await ipn(ns, 'link', 'set', 'eth0', 'up');
      await ipn(ns, 'link', 'set', 'lo', 'up');
      await ipn(ns, 'route', 'add', 'default', 'via', node.podGateway);
      return { ns, addr };
    },
    async destroy() {
      for (const ns of created.reverse()) await execa('ip', ['netns', 'del', ns], { reject: false });
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  try {
    for (const h of hubs) {
      await sh('ip', ['netns', 'add', h]);
      created.push(h);
      await ipn(h, 'link', 'add', 'br0', 'type', 'bridge');
      await ipn(h, 'link', 'set', 'br0', 'up');
    }
    // Plugs a veth pair into a hub's bridge: `inside` in namespace ns, `hubSide` on br0.
    const plug = async (ns: string, inside: string, h: string, hubSide: string) => {
      // Create the pair inside the namespace, then move one end to the hub.
      await ipn(ns, 'link', 'add', inside, 'type', 'veth', 'peer', 'name', hubSide);
      await ipn(ns, 'link', 'set', hubSide, 'netns', h);
      await ipn(h, 'link', 'set', hubSide, 'master', 'br0');
      await ipn(h, 'link', 'set', hubSide, 'up');
    };
    if (routers.length) {
      topo.router = `${tag}-r`;
      await sh('ip', ['netns', 'add', topo.router]);
      created.push(topo.router);
      for (const [k, addr] of routers.entries()) {
        await plug(topo.router, `r${k}`, hubs[k], `rv${k}`);
        await ipn(topo.router, 'addr', 'add', addr, 'dev', `r${k}`);
        await ipn(topo.router, 'link', 'set', `r${k}`, 'up');
      }
      await sh('ip', ['netns', 'exec', topo.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    }
    for (const [i, s] of specs.entries()) {
      const ns = `${tag}-${i}`;
      await sh('ip', ['netns', 'add', ns]);
      created.push(ns);
      // IPv6 neighbour discovery sends its solicitations from the device's
      // link-local address, which stays tentative for 1-2 s of DAD after the
      // link comes up: a ping in that time gets no answer (the host-gw dual
      // stack test failed so under load). No DAD for any address here.
      if (s.publicIPv6 || s.ipv6Subnet) await noDAD(ns);
      const k = routers.length ? routers.findIndex((r) => sameSegment(r, s.publicIP)) : 0;
      if (k < 0) throw new Error(`node ${s.name}: ${s.publicIP} is on none of the segments ${routers.join(', ')}`);
      await plug(ns, 'eth0', hubs[k], `v${i}`);
      if (opts.underlayMTU) await ipn(ns, 'link', 'set', 'eth0', 'mtu', String(opts.underlayMTU));
      await ipn(ns, 'addr', 'add', `${s.publicIP}/${routers.length ? routers[k].split('/')[1] : 24}`, 'dev', 'eth0');
      await ipn(ns, 'link', 'set', 'eth0', 'up');
      if (routers.length) await ipn(ns, 'route', 'add', 'default', 'via', routers[k].split('/')[0]);
      await ipn(ns, 'link', 'set', 'lo', 'up');
      const gw = s.subnet.replace(/\.0\/\d+$/, '.1');
      const len = s.subnet.split('/')[1];
      await ipn(ns, 'link', 'add', 'cni0', 'type', 'bridge');
      await ipn(ns, 'addr', 'add', `${gw}/${len}`, 'dev', 'cni0');
      await ipn(ns, 'link', 'set', 'cni0', 'up');
      await sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      let gw6: string | undefined;
      if (s.publicIPv6) {
        // nodad: usable at once, no DAD wait (the test addresses are unique by construction).
        await ipn(ns, 'addr', 'add', `${s.publicIPv6}/64`, 'dev', 'eth0', 'nodad');
      }
      if (s.ipv6Subnet) {
        const [net6, len6] = s.ipv6Subnet.split('/');
        if (!net6.endsWith('::')) throw new Error(`node ${s.name}: IPv6 subnet ${s.ipv6Subnet} must end in ::`);
        gw6 = `${net6}1`;
        await ipn(ns, 'addr', 'add', `${gw6}/${len6}`, 'dev', 'cni0', 'nodad');
        await sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
      }
      topo.nodes.push({ ...s, ns, podGateway: gw, ...(gw6 ? { podGateway6: gw6 } : {}) });
    }
    // The real condition, not a guess at its timing: no IPv6 address left tentative.
    for (const n of topo.nodes) if (n.podGateway6 || specs.some((s) => s.name === n.name && s.publicIPv6)) await untilNoTentative(n.ns);
  } catch (e) {
    await topo.destroy();
    throw e;
  }
  return topo;
}

/** Turns DAD off in a new namespace, before its devices exist (new devices take the default). */
async function noDAD(ns: string): Promise<void> {
  await sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
}

/** The IPv6 addresses of a namespace still in DAD (tentative), as `ip -6 addr` prints them. */
export async function tentativeAddrs(ns: string): Promise<string> {
  return (await ipn(ns, '-6', '-o', 'addr', 'show', 'tentative')).trim();
}

/** Waits (at most 10 s, every 50 ms) until no IPv6 address in ns is tentative. */
async function untilNoTentative(ns: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 200; i++) {
    const t = await tentativeAddrs(ns);
    if (!t) return;
    if (Date.now() > deadline) throw new Error(`${ns}: IPv6 addresses still tentative after 10 s:\n${t}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${ns}: IPv6 addresses still tentative after 200 checks`);
}

/** Runs fn with a fresh topology and always destroys it. */
export async function withTopology<T>(specs: NodeSpec[] | undefined, fn: (t: Topology) => Promise<T>, opts?: TopologyOptions): Promise<T> {
  const t = await createTopology(specs, opts);
  try {
    return await fn(t);
  } finally {
    await t.destroy();
  }
}

/** Pings `to` from namespace `from.ns` with the pod gateway (of `to`'s family) as source; true on a reply. */
export async function ping(from: TestNode, to: string, count = 1): Promise<boolean> {
  const v6 = to.includes(':');
  const src = v6 ? from.podGateway6 : from.podGateway;
  if (!src) throw new Error(`node ${from.name} has no IPv${v6 ? 6 : 4} pod gateway`);
  const r = await execa('ip', ['netns', 'exec', from.ns, 'ping', ...(v6 ? ['-6'] : []), '-n', '-q', '-c', String(count), '-W', '2', '-I', src, to], { reject: false });
  return r.exitCode === 0;
}

/**
 * A cluster file for the given nodes. `network` '' leaves the IPv4 network
 * (and the nodes' IPv4 fields) out: with `ipv6Network`, an IPv6-only cluster.
 */
export function clusterYAML(nodes: NodeSpec[], backend = '{ type: vxlan, vni: 1, port: 8472 }', network = '198.18.0.0/16', ipv6Network?: string): string {
  const v4 = network !== '';
  const fields = (n: NodeSpec) => [
    `name: ${n.name}`,
    ...(v4 ? [`publicIP: ${n.publicIP}`, `subnet: ${n.subnet}`] : []),
    ...(v4 && n.vtepMAC ? [`vtepMAC: "${n.vtepMAC}"`] : []),
    ...(ipv6Network && n.publicIPv6 ? [`publicIPv6: "${n.publicIPv6}"`] : []),
    ...(ipv6Network && n.ipv6Subnet ? [`ipv6Subnet: "${n.ipv6Subnet}"`] : []),
    ...(n.publicKey ? [`publicKey: "${n.publicKey}"`] : []),
  ].join(', ');
  return [
    ...(v4 ? [`network: ${network}`] : []),
    ...(ipv6Network ? [`ipv6Network: "${ipv6Network}"`] : []),
    `backend: ${backend}`,
    'nodes:',
    ...nodes.map((n) => `  - { ${fields(n)} }`),
    '',
  ].join('\n');
}
