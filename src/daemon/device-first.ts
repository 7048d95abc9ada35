// A kernel cycle repairing a deleted vxlan device of the plan writes the
// device and its addresses before anything else: the plan's diff of the
// device's thousands of entries (and their rendering) would otherwise come
// first. Pure: which changes; the reconciler writes them.
//
// One of two "devices first" writes; they act in disjoint cycles, and
// test/unit/daemon/reconciler.test.ts pins each (the wireguard backend's
// daemon test the case of neither):
// - this one: a cycle caused by kernel events alone, with the kept
//   incremental plan (vxlan; host-gw plans no device), whose model lost a
//   device of the plan. No source read, no planning: the plan as it stands
//   names the device and its addresses, written before the plan's diff of
//   every entry against the model (15 000 at 5 000 peers: most of the time
//   to the device back). After it the diff has no device change left, and
//   the split below writes once.
// - engine/phases.ts devicesFirst (applySnapshot's option, every event
//   cycle): the device changes of the snapshot's diff, written before the
//   peers' entries are rendered. It covers the cycles this one can not
//   serve without planning: no kept plan (udp and wireguard plan in full
//   every cycle), a source event in the same cycle (its delta may fall back
//   to a full plan, which may want another device than the kept plan's),
//   a device replaced by a config change. Moved before the diff it would
//   need the kept plan; this one moved after the diff would wait for it.
// - WireGuard's device: neither; its early driver already runs before the
//   ip batches in the same write (devicesFirst declines to split then).
import type { WritePhases } from '../engine/host.js';
import type { IncrementalPlan } from '../engine/incremental.js';
import { writePhasesFor } from '../engine/phases.js';
import { orderChanges } from '../reconcile/order.js';
import { addOf } from '../kinds/index.js';
import type { ActualState, Change } from '../model/types.js';

/** The additions of each lost device of the plan the model has gone (`link:NAME` in `lost`), with its addresses; empty when none. */
export function deviceFirstChanges(model: ActualState, plan: IncrementalPlan, lost: ReadonlySet<string>): Change[] {
  const changes: Change[] = [];
  for (const k of lost) {
    if (!k.startsWith('link:') || model.links.has(k.slice(5))) continue;
    for (const e of plan.deviceEntries(k.slice(5))) changes.push(addOf(e));
  }
  return changes.some((c) => c.kind === 'link') ? changes : [];
}

/** The plan's changes without the additions written first (the model does not have them, so the diff names them again). */
export function withoutWritten(changes: readonly Change[], written: readonly Change[]): Change[] {
  if (!written.length) return changes as Change[];
  const done = new Set(written.map((c) => c.key));
  return changes.filter((c) => !(c.action === 'add' && done.has(c.key)));
}

/** The phases writing `changes` (the device and its addresses) on the host `model` describes. */
export function deviceFirstPhases(changes: Change[], model: ActualState): WritePhases {
  return writePhasesFor(orderChanges(changes), [], model);
}
