// The order changes reach the kernel in: deletions first (routes before the
// entries they use), then device, address, neighbours, fdb, routes last so
// the kernel never has a route through a peer it would have to ARP for.
// Each kind's place is in its spec (kinds/<kind>.ts `order`).
import { KIND_LIST, specOf } from '../kinds/index.js';
import type { Action, Change, EntryKind } from '../model/types.js';

/** Deletions come before every addition: additions' phases start after the last deletion phase. */
const ADDS_FROM = Math.max(...KIND_LIST.map((s) => s.order.delete)) + 1;

export function phaseOf(c: { action: Action; kind: EntryKind }): number {
  const { order } = specOf(c.kind);
  if (c.action === 'delete') return order.delete;
  // A replaced device is deleted with the deletions and added with the additions.
  return ADDS_FROM + order.add;
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
