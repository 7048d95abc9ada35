// --iface as flanneld takes it: a device name or an address of one, given
// once or several times; the first that is on this host is the underlay.
import { NodeError } from '../errors.js';
import type { HostLink } from '../model/types.js';

const looksLikeIP = (s: string) => /^[0-9.]+$/.test(s) || s.includes(':');

/** True when the values need a look at the host: several, or an address. */
export function ifaceNeedsHost(values: readonly string[]): boolean {
  return values.length > 1 || values.some(looksLikeIP);
}

/** The device the first matching value names. Pure. */
export function pickIface(values: readonly string[], links: ReadonlyMap<string, HostLink>): string {
  for (const v of values) {
    if (!looksLikeIP(v)) {
      if (links.has(v)) return v;
      continue;
    }
    for (const l of links.values()) if (l.addrs.some((a) => a.addr.text === v)) return l.name;
  }
  throw new NodeError(`--iface ${values.join(', ')}: ${values.length > 1 ? 'none of these is' : 'not'} a device or an address of this host`,
    'name the underlay device or one of its addresses');
}
