// Which device carries the overlay: the one holding the local public IP, or
// --iface. Pure: works on a host snapshot.
import { NodeError } from '../errors.js';
import { networkOf, type IP } from '../model/ip.js';
import type { HostLink } from '../model/types.js';
import type { Underlay } from './types.js';

export const OFFLINE_UNDERLAY = { dev: 'eth0', mtu: 1500 };

export function resolveUnderlay(links: Map<string, HostLink>, publicIP: IP, iface: string | undefined, allowOffline: boolean): Underlay {
  const connectedOf = (l: HostLink) => l.addrs.filter((a) => a.family === publicIP.family).map(networkOf);
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
