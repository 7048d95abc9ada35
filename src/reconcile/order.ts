// The order changes reach the kernel in: deletions first (routes before the
// entries they use), then device, address, neighbours, fdb, routes last so
// the kernel never has a route through a peer it would have to ARP for.
import type { Change, EntryKind } from '../model/types.js';

// iptables rules (nat, filter) are independent of the device; offload needs the device.
const DELETE_ORDER: EntryKind[] = ['nat', 'filter', 'route', 'fdb', 'neigh', 'addr', 'link', 'tun'];
const ADD_ORDER: EntryKind[] = ['link', 'tun', 'addr', 'offload', 'neigh', 'fdb', 'route', 'nat', 'filter'];

export function phaseOf(c: Change): number {
  if (c.action === 'delete') return DELETE_ORDER.indexOf(c.kind);
  // A replaced device is deleted with the deletions and added with the additions.
  return DELETE_ORDER.length + ADD_ORDER.indexOf(c.kind);
}

/** Stable sort into phases; within a phase the planner's order is kept. */
export function orderChanges(changes: Change[]): Change[] {
  // A bucket per phase, filled in input order: the same result as a stable
  // sort by phase, in one pass and without a comparator call per pair.
  const buckets: Change[][] = [];
  for (const c of changes) {
    const p = phaseOf(c);
    (buckets[p + 1] ??= []).push(c);
  }
  const out: Change[] = [];
  for (const b of buckets) if (b) for (const c of b) out.push(c);
  return out;
}
