// Masquerade rules, desired vs actual. Under --ip-masq ovlnet owns chain
// FLANNEL-POSTRTG whole (like everything on its vxlan device) and, in
// POSTROUTING, only its own jump. Rule order matters in a chain, so a chain
// holding exactly the desired rules in another order is a change too. Pure.
import { MASQ_CHAIN, MASQ_JUMP_SPEC } from '../backends/masq.js';
import { entryKey } from '../model/keys.js';
import type { Change, NatRuleEntry, NatState } from '../model/types.js';
import { chainRules } from '../host/iptables.js';

export function diffNat(desired: NatRuleEntry[], actual: NatState | undefined): { changes: Change[]; inSync: number } {
  const changes: Change[] = [];
  let inSync = 0;
  const rule = (chain: string, spec: string): NatRuleEntry => ({ kind: 'nat', chain, spec });

  const want = desired.filter((e) => e.chain === MASQ_CHAIN);
  const have = chainRules(actual, MASQ_CHAIN);
  const haveSet = new Set(have);
  const wantSet = new Set(want.map((e) => e.spec));
  for (const e of want) {
    if (haveSet.has(e.spec)) inSync++;
    else changes.push({ action: 'add', kind: 'nat', key: entryKey(e), desired: e });
  }
  for (const spec of have) {
    if (!wantSet.has(spec)) changes.push({ action: 'delete', kind: 'nat', key: entryKey(rule(MASQ_CHAIN, spec)), actual: rule(MASQ_CHAIN, spec) });
  }
  if (changes.length === 0) {
    const misplaced = want.findIndex((e, i) => have[i] !== e.spec);
    if (misplaced >= 0) {
      const e = want[misplaced];
      inSync--;
      changes.push({ action: 'change', kind: 'nat', key: entryKey(e), desired: e, actual: e, detail: `out of order: expected as rule ${misplaced + 1} of ${MASQ_CHAIN}` });
    }
  }

  if (desired.some((e) => e.chain === 'POSTROUTING' && e.spec === MASQ_JUMP_SPEC)) {
    const jump = rule('POSTROUTING', MASQ_JUMP_SPEC);
    const n = chainRules(actual, 'POSTROUTING').filter((s) => s === MASQ_JUMP_SPEC).length;
    if (n === 0) changes.push({ action: 'add', kind: 'nat', key: entryKey(jump), desired: jump });
    else inSync++;
    for (let i = 1; i < n; i++) changes.push({ action: 'delete', kind: 'nat', key: entryKey(jump), actual: jump, detail: 'duplicate' });
  }
  return { changes, inSync };
}
