// Names and numbers that mark kernel objects as ovlnet's, and the device name
// grammar. (An object's key is its kind's: src/kinds/.)

/** Route protocol number that marks a route as ovlnet's (see docs/safety.md "Ownership rules"). */
export const OVLNET_ROUTE_PROTO = 244;
export const OVLNET_ROUTE_PROTO_NAME = 'ovlnet';
/** RTPROT_BOOT: what flanneld's routes carry (it names no protocol). */
export const FLANNEL_ROUTE_PROTO = 3;

/** Device names ovlnet renders: the kernel's IFNAMSIZ grammar, nothing that could read as a keyword. */
const DEV_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const RESERVED = new Set(['dev', 'via', 'type', 'lladdr', 'dst', 'self', 'master', 'onlink', 'proto', 'default', 'all', 'any']);

export function isValidDeviceName(s: unknown): s is string {
  return typeof s === 'string' && DEV_RE.test(s) && !RESERVED.has(s);
}

export function vxlanDeviceName(vni: number): string {
  return `flannel.${vni}`;
}

/** flannel's IPv6 vxlan device (dual stack and IPv6-only clusters). */
export function vxlanDeviceNameV6(vni: number): string {
  return `flannel-v6.${vni}`;
}
