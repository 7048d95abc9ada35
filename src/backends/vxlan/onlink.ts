// Is a peer's public IP on-link? flannel asks the kernel (`ip route get`:
// one route, no gateway). ovlnet answers the same question from the main
// table it already read, with the kernel's longest-prefix match, so a plan
// costs no process per peer. Pure.
//
// Same answer as flannel for connected prefixes, static on-link routes
// (`ip route add 10.1.0.0/16 dev eth1`), a more specific route through a
// gateway, and peers on another interface. Not seen: policy routing rules
// and tables other than main (flannel's lookup follows them).
import { OVLNET_ROUTE_PROTO } from '../../model/keys.js';
import { prefixContainsIP, type IP } from '../../model/ip.js';
import type { HostRoute } from '../../model/types.js';

/** The device the peer is directly reachable on, or undefined when it is behind a gateway or unreachable. */
export function onLinkDevice(routes: readonly HostRoute[], ip: IP, skipDevs: readonly string[] = []): string | undefined {
  let best: HostRoute | undefined;
  for (const r of routes) {
    // ovlnet's own routes lead to pods, never to a peer's public IP.
    if (r.proto === OVLNET_ROUTE_PROTO || (r.dev !== undefined && skipDevs.includes(r.dev))) continue;
    if (!prefixContainsIP(r.dst, ip)) continue;
    if (!best || r.dst.len > best.dst.len) best = r;
  }
  // A gateway, a blackhole/unreachable type, or a multipath route (no single dev): not on-link.
  if (!best || best.via || best.type || !best.dev) return undefined;
  return best.dev;
}
