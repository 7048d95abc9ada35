// Stable identities of kernel objects. Two entries with the same key are the
// same object in the kernel's eyes; the diff compares their other fields.
import type { Entry } from './types.js';

/** Route protocol number that marks a route as ovlnet's (see docs/safety.md "Ownership rules"). */
export const OVLNET_ROUTE_PROTO = 244;
export const OVLNET_ROUTE_PROTO_NAME = 'ovlnet';
/** RTPROT_BOOT: what flanneld's routes carry (it names no protocol). */
export const FLANNEL_ROUTE_PROTO = 3;

export function entryKey(e: Entry): string {
  switch (e.kind) {
    case 'link':
    case 'tun':
      // One key per device name, whatever its type: the kernel has one.
      return `link:${e.name}`;
    case 'addr':
      return `addr:${e.dev}/${e.addr.text}`;
    case 'neigh':
      return `neigh:${e.dev}/${e.ip.text}`;
    case 'fdb':
      return `fdb:${e.dev}/${e.mac.text}/${e.dst.text}`;
    case 'route':
      return `route:${e.dst.text}`;
    case 'offload':
      return `offload:${e.dev}/${e.feature}`;
    case 'sysctl':
      return `sysctl:${e.dev}/${e.name}`;
    case 'nat':
    case 'filter':
      // The jump's spec is the same in iptables and ip6tables: the family is part of the key.
      return `${e.kind}${e.family === 6 ? '6' : ''}:${e.chain}/${e.spec}`;
  }
}

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
