// Masquerade rules, desired vs actual. Under --ip-masq ovlnet owns chain
// FLANNEL-POSTRTG whole (like everything on its vxlan device) and, in
// POSTROUTING, only its own jump. Rule order matters in a chain, so a chain
// holding exactly the desired rules in another order is a change too. Pure.
import { MASQ_CHAIN, MASQ_JUMP_SPEC } from '../backends/masq.js';
import type { Change, NatRuleEntry, NatState } from '../model/types.js';
import { chainRules, renderMasqRestore } from '../host/iptables.js';
import type { KindSpec } from './types.js';

const entryKey = (e: NatRuleEntry) => `nat:${e.chain}/${e.spec}`;

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

/** One rule of the nat table; written, for all rules at once, by one iptables-restore. */
export const nat: KindSpec<NatRuleEntry> = {
  kind: 'nat',
  key: entryKey,
  // The key holds all its fields; order is diffNat's business.
  compare: () => [],
  // Independent of the devices: first of the deletions, last of the additions.
  order: { delete: 0, add: 7 },
  writer: 'iptables-restore',
  describe: (e) => `nat ${e.chain} ${e.spec}`,
  diffAll(desired, ctx) {
    // Only when planned (--ip-masq): without it ovlnet leaves the nat table alone.
    const n = diffNat(desired, ctx.actual.nat);
    ctx.changes.push(...n.changes);
    ctx.inSync += n.inSync;
  },
  phases(changes, { desired, actual }) {
    const input = renderMasqRestore(desired.filter((e): e is NatRuleEntry => e.kind === 'nat'), actual.nat);
    return [[{ tool: 'iptables-restore', input, lines: changes.map((change) => ({ line: 'iptables-restore --noflush', change })) }]];
  },
  model: 'reread',
};
