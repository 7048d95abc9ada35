// Desired vs actual, as keyed maps: the minimal set of changes that makes the
// kernel match the plan, within what the ownership policy allows. A loop over
// the kinds registry (src/kinds/); devices and nat rules keep their hooks.
import { addOf, changeOf, deleteOf, KIND_LIST, specOf } from '../kinds/index.js';
import { formatDifferences, type DiffContext } from '../kinds/types.js';
import type { ActualState, Change, DesiredState, Entry, Problem } from '../model/types.js';
import { devicesLosingLastIPv4, flushedBy } from './kernel-effects.js';
import { nodeAddresses, type OwnershipPolicy } from './ownership.js';

export { actualLink } from '../kinds/link.js';

export interface DiffResult {
  changes: Change[];
  /** Desired routes whose destination is held by a foreign route with other forwarding. */
  conflicts: Problem[];
  /** Keys of desired routes satisfied by an identical foreign route (e.g. flannel's own). */
  adopted: string[];
  /** Number of desired entries already in place. */
  inSync: number;
}

export function diff(desired: DesiredState, actual: ActualState, policy: OwnershipPolicy): DiffResult {
  const ctx: DiffContext = {
    actual, policy, changes: [], fresh: new Set(), owned: new Map(), foreignRoutes: new Map(), inherited: new Map(),
    nodeIPs: nodeAddresses(desired), flushes: { macChanged: new Set(), lastIPv4Removed: new Set() }, conflicts: [], adopted: [], inSync: 0,
  };

  // 1. The devices (two in a dual-stack vxlan cluster). Recreating one wipes
  //    everything on it, so the entries on it are then all to be added again;
  //    a new device MAC makes the kernel flush the device's neighbours.
  for (const d of desired.entries) specOf(d.kind).device?.(d, ctx);
  const onFreshDevice = (dev: string | undefined) => dev !== undefined && ctx.fresh.has(dev);
  ctx.flushes = { macChanged: ctx.flushes.macChanged, lastIPv4Removed: devicesLosingLastIPv4(desired, actual, policy, ctx.fresh) };

  // 2. What ovlnet owns on the host now, keyed.
  for (const spec of KIND_LIST) spec.collectOwned?.(ctx, onFreshDevice);

  // 3. Desired entries against what is owned. Kinds diffed as a whole are
  //    grouped by their hook (nat and filter rules share one).
  const whole = new Map<(desired: Entry[], ctx: DiffContext) => void, Entry[]>();
  for (const d of desired.entries) {
    const spec = specOf(d.kind);
    if (spec.device) continue;
    if (spec.diffAll) {
      const list = whole.get(spec.diffAll);
      if (list) list.push(d);
      else whole.set(spec.diffAll, [d]);
      continue;
    }
    const key = spec.key(d);
    const a = ctx.owned.get(key);
    if (a) {
      ctx.owned.delete(key);
      const ds = spec.compare(d, a);
      const detail = ds.length ? formatDifferences(ds) : flushedBy(d, ctx.flushes);
      if (detail) ctx.changes.push(changeOf(d, a, key, detail));
      else ctx.inSync++;
      continue;
    }
    if (spec.unowned?.(d, key, ctx)) continue;
    ctx.changes.push(addOf(d, key));
  }

  // 4. Owned but not desired: stale, delete.
  for (const [key, a] of ctx.owned) if (!specOf(a.kind).keepStale) ctx.changes.push(deleteOf(a, key));
  for (const spec of KIND_LIST) spec.finish?.(ctx);

  // 5. Kinds diffed as a whole (iptables rule sets, only those planned).
  for (const [diffAll, entries] of whole) diffAll(entries, ctx);
  return { changes: ctx.changes, conflicts: ctx.conflicts, adopted: ctx.adopted, inSync: ctx.inSync };
}
