// What ovlnet may touch on a host. Kept as its own object (as Felix's route
// table does) so the rule is stated once and tested alone:
//  - routes carrying ovlnet's route protocol number are ovlnet's;
//  - everything on ovlnet's own device (addresses, permanent neighbours,
//    fdb entries) is ovlnet's;
//  - nothing else is: foreign routes are never changed or deleted.
import { OVLNET_ROUTE_PROTO } from '../model/keys.js';
import type { HostRoute } from '../model/types.js';

export interface OwnershipPolicy {
  ownsRoute(r: HostRoute): boolean;
  ownsDevice(name: string): boolean;
}

/** `device`: ovlnet's vxlan device, or both of them in a dual-stack cluster. */
export function ownershipFor(device: string | readonly (string | undefined)[] | undefined, proto = OVLNET_ROUTE_PROTO): OwnershipPolicy {
  const devices = new Set((typeof device === 'string' ? [device] : device ?? []).filter((d): d is string => d !== undefined));
  return {
    ownsRoute: (r) => r.proto === proto,
    ownsDevice: (name) => devices.has(name),
  };
}
