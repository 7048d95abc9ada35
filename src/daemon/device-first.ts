// A kernel cycle repairing a deleted vxlan device of the plan writes the
// device and its addresses before anything else: the plan's diff of the
// device's thousands of entries (and their rendering) would otherwise come
// first. Pure: which changes; the reconciler writes them.
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
