// flannel's subnet.env, read by the flannel CNI plugin. Pure: rendered from
// validated values only (see shared reference "/run/flannel/subnet.env").
import { makePrefix, nthAddress, networkOf, type Prefix } from '../model/ip.js';
import type { DesiredState, NetworkConfig } from '../model/types.js';
import { UsageError } from '../errors.js';

export const HOST_SUBNET_FILE = '/run/flannel/subnet.env';

/**
 * Where the daemon writes (and cleanup looks for) subnet.env unless told.
 * A node in a network namespace is not the host: its file goes beside the
 * host's, scoped by the namespace's name, so the host's own CNI plugin never
 * reads another node's subnet.
 */
export function defaultSubnetFile(netns: string | undefined): string {
  if (netns === undefined) return HOST_SUBNET_FILE;
  // ip(8) refuses such names too; checked again because the name becomes a path.
  if (!netns || netns.includes('/') || netns === '.' || netns === '..' || netns.includes('\0')) {
    throw new UsageError(`--netns ${JSON.stringify(netns)}: not a network namespace name`);
  }
  return `/run/flannel/netns/${netns}/subnet.env`;
}

export interface SubnetEnv {
  network: Prefix;
  /** This node's subnet, e.g. 10.244.1.0/24. */
  subnet: Prefix;
  mtu: number;
  /** Dual stack: the IPv6 network and this node's IPv6 subnet. */
  ipv6Network?: Prefix;
  ipv6Subnet?: Prefix;
  /** Whether ovlnet installs the masquerade rules (--ip-masq), so the CNI plugin need not. */
  ipMasq: boolean;
}

export function renderSubnetEnv(e: SubnetEnv): string {
  // FLANNEL_SUBNET is the subnet's first host address with the subnet length (.1/24, ::1/64).
  const gw = (p: Prefix) => makePrefix(nthAddress(networkOf(p), 1n), p.len);
  if (!Number.isInteger(e.mtu) || e.mtu <= 0) throw new Error(`refusing to render MTU ${e.mtu}`);
  // flannel writes each family's pair only when that family is enabled; in an
  // IPv6-only cluster network/subnet are the IPv6 ones.
  const pairs: Array<[Prefix, Prefix]> = [[e.network, e.subnet]];
  if (e.ipv6Network && e.ipv6Subnet) pairs.push([e.ipv6Network, e.ipv6Subnet]);
  return [
    // The flannel CNI plugin ignores lines it does not know; `ovlnet cleanup`
    // uses this one to tell ovlnet's file from flannel's.
    '# written by ovlnet daemon',
    ...pairs.flatMap(([n, sub]) => n.family === 4
      ? [`FLANNEL_NETWORK=${n.text}`, `FLANNEL_SUBNET=${gw(sub).text}`]
      : [`FLANNEL_IPV6_NETWORK=${n.text}`, `FLANNEL_IPV6_SUBNET=${gw(sub).text}`]),
    `FLANNEL_MTU=${e.mtu}`,
    `FLANNEL_IPMASQ=${e.ipMasq ? 'true' : 'false'}`,
    '',
  ].join('\n');
}

/** The values for this node: the MTU pods must use is the backend device's (vxlan or udp TUN), or the underlay's for host-gw. */
export function subnetEnvFor(config: NetworkConfig, desired: DesiredState, ipMasq = false): SubnetEnv {
  // Dual stack: pods get one MTU for both families, so the smaller device's
  // (flannel writes the IPv4 device's, 20 bytes too large for IPv6 traffic).
  // The backend's devices are the entries with an MTU (vxlan link, udp TUN, WireGuard device).
  const mtus = desired.entries.flatMap((e) => ('mtu' in e ? [e.mtu] : []));
  const mtu = mtus.length ? Math.min(...mtus) : desired.underlay.mtu;
  const env: SubnetEnv = { network: config.network, subnet: desired.local.subnet, mtu, ipMasq };
  if (config.ipv6 && desired.local.v6) {
    env.ipv6Network = config.ipv6.network;
    env.ipv6Subnet = desired.local.v6.subnet;
  }
  return env;
}
