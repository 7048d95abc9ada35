// Validation of the network configuration as a whole. A bad config refuses
// the run: nothing is planned, the kernel is not touched.
import { ConfigError } from '../errors.js';
import { BACKEND_TYPES, backendNamed, backendOf, DEFAULT_BACKEND } from '../backends/registry.js';
import { isAligned, networkOf, parsePrefix, prefixContainsIP, prefixesOverlap, type Prefix } from '../model/ip.js';
import type { BackendConfig, NetworkConfig, RawBackend, RawConfig } from '../model/types.js';

import { boolField, intField } from './fields.js';
export { DEFAULT_UDP_PORT, DEFAULT_VXLAN_PORT, MAX_MTU, MIN_MTU } from './fields.js';

/** Address ranges no pod network may use (loopback, link-local, multicast, reserved, "this network"). */
const FORBIDDEN_V4 = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4'].map((s) => parsePrefix(s)!);

export function validateBackend(raw: RawBackend | undefined, origin: string): BackendConfig {
  // flannel lower-cases the type (backend manager), so "VXLAN" works there too.
  const given = raw?.type ?? DEFAULT_BACKEND;
  const type = typeof given === 'string' ? given.toLowerCase() : given;
  const backend = typeof type === 'string' ? backendNamed(type) : undefined;
  if (backend) return backend.parseConfig(raw, origin);
  const known = `use ${BACKEND_TYPES.slice(0, -1).join(', ')} or ${BACKEND_TYPES[BACKEND_TYPES.length - 1]}`;
  if (typeof type === 'string' && ['ipip', 'alloc', 'ipsec', 'tencent-vpc', 'ali-vpc', 'aws-vpc', 'gce'].includes(type)) {
    throw new ConfigError(`${origin}: backend "${type}" is a flannel backend ovlnet does not support; ${known}`);
  }
  throw new ConfigError(`${origin}: unknown backend type ${JSON.stringify(type).slice(0, 40)}; ${known}`);
}

export interface HostNetworks {
  /** The host's addresses with their prefix lengths (e.g. 192.0.2.10/24). */
  addrs: Prefix[];
}

/** Reserved IPv6 ranges: ::/8 (unspecified, loopback, v4-mapped), link-local, multicast. */
const FORBIDDEN_V6 = ['::/8', 'fe80::/10', 'ff00::/8'].map((s) => parsePrefix(s)!);

/** The checks every pod network gets, in either family. `field` names it in messages. */
function checkNetwork(network: Prefix, field: string, origin: string, host: HostNetworks | undefined): void {
  const v4 = network.family === 4;
  if (network.len === 0) throw new ConfigError(`${origin}: ${field} ${network.text} is a default route; refusing it`);
  if (!isAligned(network)) throw new ConfigError(`${origin}: ${field} ${network.text} has host bits set`);
  // At least four subnets of the smallest size (/30, /126).
  if (network.len > (v4 ? 28 : 124)) throw new ConfigError(`${origin}: ${field} ${network.text} is smaller than /${v4 ? 28 : 124}`);
  for (const bad of v4 ? FORBIDDEN_V4 : FORBIDDEN_V6) {
    if (prefixesOverlap(bad, network)) throw new ConfigError(`${origin}: ${field} ${network.text} overlaps reserved range ${bad.text}`);
  }
  for (const a of host?.addrs ?? []) {
    // Addresses inside the pod network are ours (VTEP, CNI bridge gateway).
    if (a.family !== network.family || prefixContainsIP(network, a.addr)) continue;
    const p = networkOf(a);
    if (prefixesOverlap(p, network)) {
      throw new ConfigError(`${origin}: ${field} ${network.text} overlaps this host's network ${p.text}`,
        `the pod network must not contain the underlay; check ${field} in the cluster config`);
    }
  }
}

function v4SubnetLen(raw: RawConfig, network: Prefix): number {
  // flannel: /22 or shorter gets /24 subnets, longer gets two more bits.
  const defaultLen = network.len <= 22 ? 24 : network.len + 2;
  // flannel: SubnetLen 0 means unset; a set one must leave room for at least
  // four subnets (network prefix + 2) and be at most /30.
  return raw.subnetLen === undefined || raw.subnetLen === 0 ? defaultLen
    : intField(raw.subnetLen, 'SubnetLen', raw.origin, network.len + 2, 30);
}

function v6SubnetLen(raw: RawConfig, network: Prefix): number {
  // flannel: /62 or shorter gets /64 subnets, longer gets two more bits.
  const defaultLen = network.len <= 62 ? 64 : network.len + 2;
  return raw.ipv6SubnetLen === undefined || raw.ipv6SubnetLen === 0 ? defaultLen
    : intField(raw.ipv6SubnetLen, 'IPv6SubnetLen', raw.origin, network.len + 2, 126);
}

export function validateConfig(raw: RawConfig, host?: HostNetworks): NetworkConfig {
  const origin = raw.origin;
  // flannel: EnableIPv4 defaults to true, EnableIPv6 to false: IPv6Network
  // alone enables nothing (ovlnet's own cluster-file key `ipv6Network` sets
  // EnableIPv6 in the file source). With IPv6 on and no Network, the cluster
  // is IPv6-only.
  const enable6 = boolField(raw.enableIPv6, 'EnableIPv6', origin) ?? false;
  const enable4 = boolField(raw.enableIPv4, 'EnableIPv4', origin) ?? (raw.network !== undefined || !enable6);
  if (!enable4 && !enable6) throw new ConfigError(`${origin}: EnableIPv4 and EnableIPv6 are both false: no pod network`);
  let v4: { network: Prefix; subnetLen: number } | undefined;
  if (enable4) {
    if (raw.network === undefined) throw new ConfigError(`${origin}: Network is missing`);
    const network = parsePrefix(raw.network);
    if (!network) throw new ConfigError(`${origin}: Network ${JSON.stringify(raw.network).slice(0, 60)} is not a CIDR`);
    if (network.family !== 4) {
      throw new ConfigError(`${origin}: Network ${network.text}: only IPv4 pod networks are supported in Network; put an IPv6 one in IPv6Network`);
    }
    checkNetwork(network, 'Network', origin, host);
    v4 = { network, subnetLen: v4SubnetLen(raw, network) };
  }
  let v6: { network: Prefix; subnetLen: number } | undefined;
  if (enable6) {
    if (raw.ipv6Network === undefined) throw new ConfigError(`${origin}: EnableIPv6 is set but IPv6Network is missing`);
    const n6 = parsePrefix(raw.ipv6Network);
    if (!n6) throw new ConfigError(`${origin}: IPv6Network ${JSON.stringify(raw.ipv6Network).slice(0, 60)} is not a CIDR`);
    if (n6.family !== 6) throw new ConfigError(`${origin}: IPv6Network ${n6.text} is not an IPv6 prefix`);
    checkNetwork(n6, 'IPv6Network', origin, host);
    v6 = { network: n6, subnetLen: v6SubnetLen(raw, n6) };
  }
  const backend = validateBackend(raw.backend, origin);
  if (v6) backendOf(backend).checkIPv6?.(backend, origin);
  const first = (v4 ?? v6)!;
  return v4 && v6 ? { ...v4, ipv6: v6, backend } : { ...first, backend };
}
