// Ordered changes into the phases a Host writes: the ip/bridge batches (see
// engine/batches.ts toPhases), then each driver kind's own phases in registry
// order (one ethtool per offload feature, one iptables-restore for every
// masquerade rule). Pure.
import { isIpBatchChange, toPhases } from './batches.js';
import { KIND_LIST } from '../kinds/index.js';
import type { ActualState, Change, Entry } from '../model/types.js';
import type { WritePhases } from './host.js';

export function writePhasesFor(ordered: Change[], desired: readonly Entry[], actual: ActualState): WritePhases {
  const phases = toPhases(ordered.filter(isIpBatchChange));
  for (const spec of KIND_LIST) {
    if (!spec.phases) continue;
    const mine = ordered.filter((c) => c.kind === spec.kind);
    if (mine.length) phases.push(...spec.phases(mine, { desired, actual }));
  }
  return phases;
}
