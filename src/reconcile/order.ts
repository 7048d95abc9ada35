// The order changes reach the kernel in: deletions first (routes before the
// entries they use), then device, address, neighbours, fdb, routes last so
// the kernel never has a route through a peer it would have to ARP for.
//
// One exception, add before delete: a stale address goes after the new one
// is in place. Removing a device's last IPv4 address makes the kernel flush
// every IPv4 route and neighbour on the device (see kernel-effects.ts), so
// renumbering the local subnet the other way round cut off every peer.
import type { Change, EntryKind } from '../model/types.js';

type Step = `${'delete' | 'add'}:${EntryKind}`;

// iptables rules (nat, filter) are independent of the device; offload needs the device.
const PHASES: Step[] = [
  'delete:nat', 'delete:filter', 'delete:route', 'delete:fdb', 'delete:neigh', 'delete:link', 'delete:tun',
  'add:link', 'add:tun', 'add:addr', 'delete:addr', 'add:offload', 'add:sysctl', 'add:neigh', 'add:fdb', 'add:route', 'add:nat', 'add:filter',
];
const PHASE_OF = new Map<string, number>(PHASES.map((s, i) => [s, i]));

export function phaseOf(c: Change): number {
  // A replaced or changed entry goes with the additions (a replaced device's delete half goes first there).
  return PHASE_OF.get(`${c.action === 'delete' ? 'delete' : 'add'}:${c.kind}`) ?? -1;
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
