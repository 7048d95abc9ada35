// Which device carries the overlay: the one holding the local public IP, or
// --iface. Pure: works on a host snapshot.
import { NodeError, UsageError } from '../errors.js';
import { isValidDeviceName } from '../model/keys.js';
import { networkOf, nonUnicastReason, prefixContainsIP, type IP, type Prefix } from '../model/ip.js';
import type { HostLink, HostRoute } from '../model/types.js';
import type { Underlay } from './types.js';

export const OFFLINE_UNDERLAY = { dev: 'eth0', mtu: 1500 };

export function resolveUnderlay(links: Map<string, HostLink>, publicIP: IP, iface: string | undefined, allowOffline: boolean): Underlay {
  const u = findUnderlay(links, publicIP, iface, allowOffline);
  // The name ends up on batch lines: refuse here, clearly, what the command
  // renderer would refuse later as an internal error.
  if (!isValidDeviceName(u.dev)) {
    if (iface) throw new UsageError(`--iface ${JSON.stringify(iface).slice(0, 40)}: not a usable device name`);
    throw new NodeError(`underlay device ${JSON.stringify(u.dev)} has a name ovlnet does not use on command lines`, 'name the underlay device with --iface');
  }
  return u;
}

function findUnderlay(links: Map<string, HostLink>, publicIP: IP, iface: string | undefined, allowOffline: boolean): Underlay {
  // Both families: dual-stack peers are on-link by their IPv4 or IPv6 address.
  const connectedOf = (l: HostLink) => l.addrs.map(networkOf);
  if (iface) {
    const l = links.get(iface);
    if (l) return { dev: l.name, mtu: l.mtu, connected: connectedOf(l), found: true };
    if (!allowOffline) throw new NodeError(`--iface ${iface}: no such device on this host`);
    return { dev: iface, mtu: OFFLINE_UNDERLAY.mtu, connected: [], found: false };
  }
  for (const l of links.values()) {
    if (l.addrs.some((a) => a.addr.text === publicIP.text)) {
      return { dev: l.name, mtu: l.mtu, connected: connectedOf(l), found: true };
    }
  }
  if (!allowOffline) {
    throw new NodeError(`public IP ${publicIP.text} of the local node is not an address of this host`,
      'check --node/--public-ip and --netns, or name the underlay device with --iface');
  }
  return { ...OFFLINE_UNDERLAY, connected: [], found: false };
}

export interface PublicIPChoice {
  /** The address flannel would publish: the first usable one of --iface, else of the default route's device. */
  ip?: IP;
  /** Every usable address on the host (not lo), for a fallback or an error message. */
  candidates: IP[];
}

/**
 * This host's public IPv4 address when the operator gave none, as flannel
 * picks it. Usable: unicast, and outside the pod network when it is known
 * (a CNI bridge's gateway is never a public IP). Shared by the sources that
 * register the node (etcd, Kubernetes).
 */
export function choosePublicIP(links: Map<string, HostLink>, routes: HostRoute[], iface?: string, podNetwork?: Prefix): PublicIPChoice {
  const usable = (dev: string | undefined) => (dev ? links.get(dev)?.addrs ?? [] : [])
    .map((a) => a.addr)
    .filter((a) => a.family === 4 && !nonUnicastReason(a) && !(podNetwork && prefixContainsIP(podNetwork, a)));
  const candidates = [...links.keys()].filter((d) => d !== 'lo').flatMap(usable);
  if (iface) return { ip: usable(iface)[0], candidates };
  const dflt = routes.find((r) => r.dst.family === 4 && r.dst.len === 0 && r.dev && !r.type);
  return { ip: usable(dflt?.dev)[0], candidates };
}

/**
 * The address the local node's overlay is sent from when its published public
 * IP is a Kubernetes public-ip-overwrite (an address of a NAT, not of this
 * host): `known` (what the registration found, --public-ip) when given,
 * else the address flannel would bind to (--iface's, else the default route
 * device's). Undefined when the published IP is the node's own, or none is found.
 */
export function overwriteLocalAddress(links: Map<string, HostLink>, routes: HostRoute[] | undefined, publicIP: IP, iface?: string, known?: IP): IP | undefined {
  if (known) return known.text === publicIP.text ? undefined : known;
  const own = [...links.values()].some((l) => l.addrs.some((a) => a.addr.text === publicIP.text));
  if (own) return undefined;
  return choosePublicIP(links, routes ?? [], iface).ip;
}
