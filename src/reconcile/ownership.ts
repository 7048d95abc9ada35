// What ovlnet may touch on a host. Kept as its own object (as Felix's route
// table does) so the rule is stated once and tested alone:
//  - routes carrying ovlnet's route protocol number are ovlnet's;
//  - everything on ovlnet's own device (addresses, permanent neighbours,
//    fdb entries) is ovlnet's;
//  - routes flanneld left on a node ovlnet took over are inherited: protocol
//    boot (what flanneld's routes carry), inside the pod network, and through
//    one of the devices (flannel.<VNI>, flannel-v6.<VNI>, flannel0) or via a
//    node's public IP (host-gw, DirectRouting). They are flannel's, hence
//    ovlnet's to replace when wrong and to remove when stale;
//  - nothing else is: other foreign routes are never changed or deleted.
import { prefixContains, type Prefix } from '../model/ip.js';
import { FLANNEL_ROUTE_PROTO, OVLNET_ROUTE_PROTO } from '../model/keys.js';
import type { DesiredState, HostRoute } from '../model/types.js';

export interface OwnershipPolicy {
  ownsRoute(r: HostRoute): boolean;
  ownsDevice(name: string): boolean;
  /** A route flanneld left (see above); `nodeIPs`: the public IPs of the cluster's nodes. */
  inheritsRoute(r: HostRoute, nodeIPs: ReadonlySet<string>): boolean;
}

/**
 * `device`: ovlnet's vxlan device, or both of them in a dual-stack cluster.
 * `podNetworks`: the cluster's pod networks; without them no route is inherited.
 */
export function ownershipFor(device: string | readonly (string | undefined)[] | undefined, proto = OVLNET_ROUTE_PROTO, podNetworks: readonly Prefix[] = []): OwnershipPolicy {
  const devices = new Set((typeof device === 'string' ? [device] : device ?? []).filter((d): d is string => d !== undefined));
  return {
    ownsRoute: (r) => r.proto === proto,
    ownsDevice: (name) => devices.has(name),
    inheritsRoute: (r, nodeIPs) => r.proto === FLANNEL_ROUTE_PROTO && !r.type && r.dev !== undefined &&
      podNetworks.some((n) => prefixContains(n, r.dst)) &&
      (devices.has(r.dev) || (r.via !== undefined && nodeIPs.has(r.via.text))),
  };
}

/** The public IPs (both families) of the nodes a plan knows: this node and its peers. */
export function nodeAddresses(desired: DesiredState): Set<string> {
  const out = new Set<string>();
  for (const n of [desired.local, ...desired.peers.map((p) => p.node)]) {
    out.add(n.publicIP.text);
    if (n.v6) out.add(n.v6.publicIP.text);
  }
  return out;
}
