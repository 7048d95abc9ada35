// MAC addresses as typed values, and the deterministic VTEP MAC for nodes
// whose source publishes none.
import { createHash, randomBytes } from 'node:crypto';

export interface MAC {
  /** Canonical lower-case `aa:bb:cc:dd:ee:ff`. */
  readonly text: string;
}

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export function parseMAC(s: unknown): MAC | undefined {
  if (typeof s !== 'string' || !MAC_RE.test(s)) return undefined;
  return { text: s.toLowerCase() };
}

/** Why a MAC cannot be a VTEP address (multicast/broadcast or all zero), if it cannot. */
export function nonUnicastMACReason(mac: MAC): string | undefined {
  if (mac.text === '00:00:00:00:00:00') return 'all zero';
  if (mac.text === 'ff:ff:ff:ff:ff:ff') return 'broadcast';
  // The group bit is the lowest bit of the first octet, that is of its
  // second hex digit (read from its character code: no substring, no parseInt).
  const c = mac.text.charCodeAt(1);
  const digit = c <= 57 ? c - 48 : (c | 32) - 87;
  if (digit & 1) return 'multicast';
  return undefined;
}

/**
 * A stable, locally administered unicast MAC derived from the node name, so
 * every node computes the same VTEP MAC for every peer without publishing it.
 */
export function macFromName(name: string): MAC {
  return vtepMACFromBytes(createHash('sha256').update(`ovlnet-vtep:${name}`).digest());
}

/** A random VTEP MAC, for a node that publishes its own (etcd lease, Kubernetes annotation). */
export function randomVtepMAC(): MAC {
  return vtepMACFromBytes(randomBytes(6));
}

/** The first six bytes as a locally administered unicast MAC. */
function vtepMACFromBytes(bytes: Uint8Array): MAC {
  const b = [...bytes.subarray(0, 6)];
  b[0] = (b[0] | 0x02) & 0xfe;
  return { text: b.map((x) => x.toString(16).padStart(2, '0')).join(':') };
}
