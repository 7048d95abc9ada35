// Which lease is this node's: at registration (several may carry its public
// IP) and afterwards (is the key still ours, corrupted, or another node's?).
// Pure.
import { parseIP, prefixContains, type IP, type Prefix } from '../../model/ip.js';
import { isObject } from '../netconf.js';
import type { RawNode } from '../../model/types.js';
import { fitsRange, type SubnetRange } from './allocate.js';

export interface CandidateLease {
  name: string;
  subnet?: Prefix;
  subnet6?: Prefix;
  obj?: Record<string, unknown>;
}

/** The VTEP MAC a lease publishes for a family, unchecked. */
export function publishedMAC(obj: Record<string, unknown> | undefined, family: 4 | 6): unknown {
  const data = obj?.[family === 4 ? 'BackendData' : 'BackendV6Data'];
  return isObject(data) ? data.VtepMAC : undefined;
}

/** Whether a lease carries this public IP (a corrupted value carries none). */
/** carriesIP for a lease already mapped to a node (its publicIP is the value's PublicIP). */
export function nodeCarriesIP(node: RawNode | undefined, ip: IP): boolean {
  return parseIP(node?.publicIP)?.text === ip.text;
}

export function carriesIP(obj: Record<string, unknown> | undefined, ip: IP): boolean {
  return parseIP(obj?.PublicIP)?.text === ip.text;
}

/** Whether a lease's subnets may be kept: each family the config has, inside its range; no other. */
export function leaseFits(l: CandidateLease, range: SubnetRange, range6: SubnetRange | undefined): boolean {
  if (!l.subnet || !fitsRange(l.subnet, range)) return false;
  if (!range6) return l.subnet6 === undefined;
  return l.subnet6 !== undefined && fitsRange(l.subnet6, range6);
}

/**
 * This node's lease among those carrying its public IP, when one fits the
 * config: the one holding the subnet this host had (subnet.env), else the
 * one publishing the MAC on this host's device, else the first in key order.
 * A stray copy of our IP elsewhere is then a conflict, not our lease.
 */
export function pickOwnLease<T extends CandidateLease>(mine: T[], range: SubnetRange, range6: SubnetRange | undefined, previous: Prefix | undefined, deviceMAC: string | undefined): T | undefined {
  const fit = mine.filter((l) => leaseFits(l, range, range6));
  return fit.find((l) => previous && l.subnet && prefixContains(previous, l.subnet) && prefixContains(l.subnet, previous))
    ?? fit.find((l) => deviceMAC && String(publishedMAC(l.obj, 4)).toLowerCase() === deviceMAC.toLowerCase())
    ?? fit[0];
}

export type OwnVerdict =
  /** The key holds what this node wrote. */
  | 'ours'
  /** The key is gone (expired, deleted, etcd reset): put it back. */
  | 'missing'
  /** The key is this node's but its value changed (corrupted, edited): write it again, same subnet. */
  | 'rewrite'
  /** Another node holds the subnet now (its own value and etcd lease): register anew. */
  | 'taken';

export interface HeldLease {
  value: string;
  /** etcd lease ID; "0" for a reservation. */
  leaseID: string;
  publicIP: IP;
}

export function ownLeaseVerdict(own: HeldLease, kv: { value: string; lease: string } | undefined): OwnVerdict {
  if (!kv) return 'missing';
  if (kv.value === own.value) return 'ours';
  // Our etcd lease is still attached: whoever changed the value did not take the key.
  if (own.leaseID !== '0' && kv.lease === own.leaseID) return 'rewrite';
  let obj: unknown;
  try {
    obj = JSON.parse(kv.value);
  } catch { /* corrupted */ }
  // Nobody can claim a subnet with a value that names no node.
  if (!isObject(obj) || parseIP(obj.PublicIP) === undefined) return 'rewrite';
  return carriesIP(obj, own.publicIP) ? 'rewrite' : 'taken';
}
