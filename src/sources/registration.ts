// How a node registers itself, for every source that publishes it (etcd
// leases, Kubernetes annotations): which public addresses it announces, which
// VTEP MACs, and which subnet a previous run had. Pure: the callers read the
// host and subnet.env and pass what they read in.
import { backendOf } from '../backends/registry.js';
import type { BackendData } from '../backends/types.js';
import { choosePublicIP } from '../backends/underlay.js';
import { NodeError, UsageError } from '../errors.js';
import { nonUnicastReason, parsePrefix, networkOf, parseIP, prefixContainsIP, type IP, type Prefix } from '../model/ip.js';
import { nonUnicastMACReason, parseMAC, randomVtepMAC, type MAC } from '../model/mac.js';
import type { HostLink, HostRoute, NetworkConfig } from '../model/types.js';
import type { Registration, RegisterOptions } from './types.js';

/** The part of a host read the public-address choice looks at. */
export interface HostView {
  links: Map<string, HostLink>;
  routes: HostRoute[];
}

/** Whether choosing the public address needs a host read (no --public-ip given). */
export function needsHostRead(opts: RegisterOptions, config: NetworkConfig): boolean {
  return opts.publicIP === undefined || (config.ipv6 !== undefined && opts.publicIPv6 === undefined);
}

/**
 * The IPv4 address this node publishes, as flannel picks it: --public-ip,
 * else the first usable address of --iface, else of the default route's
 * device, else the host's only candidate. Never an address inside the pod
 * network (a CNI bridge's gateway is not a public IP).
 */
export function choosePublicIPv4(opts: RegisterOptions, config: NetworkConfig, host: HostView | undefined): IP {
  if (opts.publicIP !== undefined) {
    const ip = parseIP(opts.publicIP);
    if (!ip || ip.family !== 4) throw new UsageError(`--public-ip ${opts.publicIP}: not an IPv4 address`);
    return ip;
  }
  if (!host) throw new NodeError('cannot tell this host\'s public IP: the host was not read', 'pass --public-ip IP');
  if (opts.iface && !host.links.has(opts.iface)) throw new NodeError(`--iface ${opts.iface}: no such device on this host`);
  const { ip, candidates: all } = choosePublicIP(host.links, host.routes, opts.iface, config.network.family === 4 ? config.network : undefined);
  if (ip) return ip;
  if (opts.iface) throw new NodeError(`--iface ${opts.iface} has no IPv4 address to publish`, 'pass --public-ip');
  if (all.length === 1) return all[0];
  throw new NodeError(`cannot tell this host's public IP (${all.length ? `candidates ${all.map((a) => a.text).join(', ')}` : 'no IPv4 address'}, no default route)`,
    'pass --public-ip IP or --iface DEV');
}

/**
 * The IPv6 address a dual-stack node publishes: --public-ipv6, else the first
 * global unicast address of --iface, else of the IPv6 default route's device,
 * else of the device that carries the IPv4 public address.
 */
export function choosePublicIPv6(opts: RegisterOptions, ipv6Network: Prefix, host: HostView | undefined, publicIP: IP): IP {
  if (opts.publicIPv6 !== undefined) {
    const ip = parseIP(opts.publicIPv6);
    if (!ip || ip.family !== 6) throw new UsageError(`--public-ipv6 ${opts.publicIPv6}: not an IPv6 address`);
    return ip;
  }
  if (!host) throw new NodeError('cannot tell this host\'s public IPv6 address: the host was not read', 'pass --public-ipv6 IP');
  const usable = (dev: string | undefined) => (dev ? host.links.get(dev)?.addrs ?? [] : [])
    .map((a) => a.addr)
    .filter((a) => a.family === 6 && !nonUnicastReason(a) && !prefixContainsIP(ipv6Network, a));
  const dflt = host.routes.find((r) => r.dst.family === 6 && r.dst.len === 0 && r.dev && !r.type)?.dev;
  const v4dev = [...host.links.values()].find((l) => l.addrs.some((a) => a.addr.text === publicIP.text))?.name;
  for (const dev of opts.iface ? [opts.iface] : [dflt, v4dev]) {
    const ip = usable(dev)[0];
    if (ip) return ip;
  }
  throw new NodeError(`cannot tell this host's public IPv6 address for the dual-stack network (${opts.iface ? `--iface ${opts.iface} has none` : 'no IPv6 default route, none beside the IPv4 one'})`,
    'pass --public-ipv6 IP or --iface DEV');
}

/**
 * The VTEP MAC to publish: the one this node published before (peers have it
 * in their fdb, so keeping it avoids churn on every node), else the one on
 * this host's device, else a new random one.
 */
export function chooseVtepMAC(published: unknown, onDevice: string | undefined): MAC {
  const usable = (v: unknown) => {
    const m = parseMAC(v);
    return m && !nonUnicastMACReason(m) ? m : undefined;
  };
  return usable(published) ?? usable(onDevice) ?? randomVtepMAC();
}

/** The backend's part of a lease or annotation (flannel's BackendData), from the backend (backends/registry.ts). */
export function backendData(config: NetworkConfig, mac: MAC | undefined): BackendData | undefined {
  return mac ? backendOf(config).leaseData(config.backend, mac.text) : undefined;
}

/** The public key among what the backend publishes from this host (WireGuard's), when it has one. */
export function registeredPublicKey(config: NetworkConfig, local: { data?: BackendData } | undefined): string | undefined {
  return backendOf(config).publicKey?.(local?.data);
}

/** The "registered this node" log line: what this node publishes, as operators compare it with the host (`wg show` for the key). */
export function registrationLogFields(source: string, r: Registration): Record<string, string | undefined> {
  return { source, subnet: r.subnet, public_ip: r.publicIP, vtep_mac: r.vtepMAC, ...(r.publicKey ? { public_key: r.publicKey } : {}) };
}

/** Whether the backend publishes a VTEP MAC (peers need it for their fdb). */
export function backendNeedsMAC(config: NetworkConfig): boolean {
  return backendOf(config).needsVtepMAC;
}

/** The subnets a previous run wrote to subnet.env (FLANNEL_SUBNET=10.244.1.1/24, FLANNEL_IPV6_SUBNET=…). */
export function parseSubnetFile(text: string): { subnet?: Prefix; subnet6?: Prefix } {
  const read = (key: string, family: 4 | 6) => {
    const m = new RegExp(`^${key}=(\\S+)\\s*$`, 'm').exec(text);
    const p = m ? parsePrefix(m[1]) : undefined;
    return p && p.family === family ? networkOf(p) : undefined;
  };
  return { subnet: read('FLANNEL_SUBNET', 4), subnet6: read('FLANNEL_IPV6_SUBNET', 6) };
}
