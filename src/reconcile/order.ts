// The order changes reach the kernel in: deletions first (routes before the
// entries they use), then device, address, neighbours, fdb, routes last so
// the kernel never has a route through a peer it would have to ARP for.
import type { Change, EntryKind } from '../model/types.js';

// Masquerade rules are independent of the device; offload needs the device.
const DELETE_ORDER: EntryKind[] = ['nat', 'route', 'fdb', 'neigh', 'addr', 'link', 'tun'];
const ADD_ORDER: EntryKind[] = ['link', 'tun', 'addr', 'offload', 'neigh', 'fdb', 'route', 'nat'];

export function phaseOf(c: Change): number {
  if (c.action === 'delete') return DELETE_ORDER.indexOf(c.kind);
  // A replaced device is deleted with the deletions and added with the additions.
  return DELETE_ORDER.length + ADD_ORDER.indexOf(c.kind);
}

/** Stable sort into phases; within a phase the planner's order is kept. */
export function orderChanges(changes: Change[]): Change[] {
  return changes
    .map((c, i) => ({ c, i, p: phaseOf(c) }))
    .sort((a, b) => a.p - b.p || a.i - b.i)
    .map((x) => x.c);
}
