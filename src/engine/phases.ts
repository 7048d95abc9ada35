// Ordered changes into the phases a Host writes: the ip/bridge batches (see
// host/commands.ts toPhases), then one ethtool per offload feature, then one
// iptables-restore for every masquerade rule. Pure.
import { isIpBatchChange, toPhases } from '../host/commands.js';
import { setFeatureArgs } from '../host/ethtool.js';
import { renderMasqRestore } from '../host/iptables.js';
import type { Change, NatRuleEntry, NatState } from '../model/types.js';
import type { WritePhases } from './host.js';

export function writePhasesFor(ordered: Change[], desiredNat: NatRuleEntry[], actualNat: NatState | undefined): WritePhases {
  const phases = toPhases(ordered.filter(isIpBatchChange));
  for (const c of ordered) {
    if (c.kind === 'offload' && c.desired?.kind === 'offload') phases.push([{ tool: 'ethtool', lines: [{ line: setFeatureArgs(c.desired).join(' '), change: c }] }]);
  }
  const nat = ordered.filter((c) => c.kind === 'nat');
  if (nat.length) {
    const input = renderMasqRestore(desiredNat, actualNat);
    phases.push([{ tool: 'iptables-restore', input, lines: nat.map((change) => ({ line: 'iptables-restore --noflush', change })) }]);
  }
  return phases;
}
