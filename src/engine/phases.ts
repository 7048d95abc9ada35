// Ordered changes into the phases a Host writes: the ip/bridge batches (see
// engine/batches.ts toPhases), then each driver kind's own phases in registry
// order (one ethtool per offload feature, one iptables-restore for every
// masquerade rule). Pure.
import { isIpBatchChange, toPhases } from './batches.js';
import { KIND_LIST, specOf } from '../kinds/index.js';
import type { ActualState, Change, Entry } from '../model/types.js';
import type { WritePhases } from './host.js';

export function writePhasesFor(ordered: Change[], desired: readonly Entry[] | (() => readonly Entry[]), actual: ActualState): WritePhases {
  const phases = toPhases(ordered.filter(isIpBatchChange));
  // Kinds that share a driver (nat and filter: one restore per family) are written together.
  const drivers = new Map<NonNullable<(typeof KIND_LIST)[number]['phases']>, Change[]>();
  for (const spec of KIND_LIST) if (spec.phases && !drivers.has(spec.phases)) drivers.set(spec.phases, []);
  for (const c of ordered) {
    const p = specOf(c.kind).phases;
    if (p) drivers.get(p)!.push(c);
  }
  for (const [write, mine] of drivers) if (mine.length) phases.push(...write(mine, { desired: typeof desired === 'function' ? desired() : desired, actual }));
  return phases;
}
