// The JSON of changes, shared by diff, apply and cleanup, so the three speak
// one vocabulary: counts keyed by the change actions themselves (add, change,
// delete), and every change naming the peer it belongs to. Pure.
import type { Change, DesiredState, Entry } from '../model/types.js';
import { entryJSONForChange } from './json.js';

/**
 * Version of the diff, apply and cleanup JSON documents (docs/output.md).
 * 2: counts add/change/delete, peer on every change. 3: problems and
 * conflicts carry fields (code, node, field, value, conflictsWith, hint).
 */
export const CHANGES_JSON_VERSION = 3;

export interface ChangeCounts {
  add: number;
  /** Changed in place or replaced. */
  change: number;
  delete: number;
}

export function changeCounts(changes: readonly Change[]): ChangeCounts {
  const n: ChangeCounts = { add: 0, change: 0, delete: 0 };
  for (const c of changes) {
    if (c.action === 'add') n.add++;
    else if (c.action === 'delete') n.delete++;
    else n.change++;
  }
  return n;
}

/** Which peer an entry serves, by the addresses only that peer has: its subnets, public IPs and VTEP MACs. */
export type PeerIndex = (e: Entry | undefined) => string | null;

export function peerIndex(desired: Pick<DesiredState, 'peers'> | undefined): PeerIndex {
  // Built on the first question: a no-op diff or apply asks none. One map per
  // kind of address, keyed by its text as it is: a key string built per
  // question was most of the cost of naming 15 000 change lines.
  let by: { net: Map<string, string>; ip: Map<string, string>; mac: Map<string, string> } | undefined;
  const build = () => {
    const m = { net: new Map<string, string>(), ip: new Map<string, string>(), mac: new Map<string, string>() };
    for (const p of desired?.peers ?? []) {
      for (const fam of [p.node, p.node.v6]) {
        if (!fam) continue;
        m.net.set(fam.subnet.text, p.node.name);
        m.ip.set(fam.publicIP.text, p.node.name);
        m.ip.set(fam.subnet.addr.text, p.node.name);
        if (fam.vtepMAC) m.mac.set(fam.vtepMAC.text, p.node.name);
      }
    }
    return m;
  };
  return (e) => {
    if (!e) return null;
    by ??= build();
    switch (e.kind) {
      case 'route': return by.net.get(e.dst.text) ?? null;
      case 'fdb': return by.ip.get(e.dst.text) ?? by.mac.get(e.mac.text) ?? null;
      case 'neigh': return by.ip.get(e.ip.text) ?? by.mac.get(e.mac.text) ?? null;
      default: return null;
    }
  };
}

/** A change as JSON, with `peer`: the peer's name, or null for the node's own state (device, address, rules) and entries of peers no longer in the source. */
export function changeJSON(c: Change, peerOf: PeerIndex): object {
  return { ...entryJSONForChange(c), peer: peerOf(c.desired) ?? peerOf(c.actual) };
}
