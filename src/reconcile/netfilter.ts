// iptables rule sets (backends/ruleset.ts), desired vs actual. ovlnet owns
// each set's chain whole (like everything on its vxlan device) and, in the
// hook (POSTROUTING, FORWARD), only its own jump into it: the desired jump,
// and the older forms of it earlier ovlnet versions wrote. Rule order matters
// in a chain, so a chain holding exactly the desired rules in another order
// is a change too; the jump counts wherever it is in the hook (flannel
// appends it, and checks it the same way). Pure.
import { ruleSetFor } from '../backends/netfilter.js';
import { familyOf, isJumpTo, isOwnSpec, tableId } from '../backends/ruleset.js';
import { entryKey } from '../model/keys.js';
import type { Change, NetfilterRuleEntry, NetfilterState, Problem, RuleSet, TableState } from '../model/types.js';
import { chainRules } from '../host/iptables.js';

export interface SetDiff {
  changes: Change[];
  inSync: number;
}

/** One set in one family: `desired` holds its chain's rules, then the jump. */
export function diffRuleSet(set: RuleSet, desired: NetfilterRuleEntry[], actual: TableState | undefined): SetDiff {
  const changes: Change[] = [];
  let inSync = 0;
  const family = desired.length ? familyOf(desired[0]) : 4;
  const rule = (chain: string, spec: string): NetfilterRuleEntry => ({ kind: set.table, ...(family === 6 ? { family } : {}), chain, spec });
  const add = (e: NetfilterRuleEntry, detail?: string) => changes.push({ action: 'add', kind: set.table, key: entryKey(e), desired: e, ...(detail ? { detail } : {}) });
  const del = (e: NetfilterRuleEntry, detail?: string) => changes.push({ action: 'delete', kind: set.table, key: entryKey(e), actual: e, ...(detail ? { detail } : {}) });

  const want = desired.filter((e) => e.chain === set.chain);
  const have = chainRules(actual, set.chain);
  const haveSet = new Set(have);
  const wantSet = new Set(want.map((e) => e.spec));
  for (const e of want) {
    if (haveSet.has(e.spec)) inSync++;
    else add(e);
  }
  for (const spec of have) if (!wantSet.has(spec)) del(rule(set.chain, spec));
  if (changes.length === 0) {
    const misplaced = want.findIndex((e, i) => have[i] !== e.spec);
    if (misplaced >= 0) {
      const e = want[misplaced];
      inSync--;
      changes.push({ action: 'change', kind: set.table, key: entryKey(e), desired: e, actual: e, detail: `out of order: expected as rule ${misplaced + 1} of ${set.chain}` });
    }
  }

  const jump = desired.find((e) => e.chain === set.hook);
  if (jump) {
    const hook = chainRules(actual, set.hook);
    const n = hook.filter((s) => s === jump.spec).length;
    if (n === 0) add(jump);
    else inSync++;
    for (let i = 1; i < n; i++) del(jump, 'duplicate');
    // An older ovlnet's jump beside the current one would send packets through the chain twice.
    for (const s of hook) if (s !== jump.spec && isJumpTo(set, s) && isOwnSpec(set, s)) del(rule(set.hook, s), 'replaced');
  }
  return { changes, inSync };
}

/** Every planned set in every family; a set not planned is left alone. */
export function diffNetfilter(desired: NetfilterRuleEntry[], actual: NetfilterState | undefined): SetDiff {
  const out: SetDiff = { changes: [], inSync: 0 };
  const groups = new Map<string, NetfilterRuleEntry[]>();
  for (const e of desired) {
    const id = tableId(familyOf(e), e.kind);
    groups.set(id, [...(groups.get(id) ?? []), e]);
  }
  for (const [id, entries] of groups) {
    const d = diffRuleSet(ruleSetFor(entries[0].kind), entries, actual?.[id as keyof NetfilterState]);
    out.changes.push(...d.changes);
    out.inSync += d.inSync;
  }
  return out;
}

/**
 * With the FORWARD rules turned off, a DROP policy on FORWARD means pod
 * traffic between nodes is dropped unless some other rule accepts it: said as
 * a warning, so "in sync" does not hide it.
 */
export function forwardPolicyProblems(tables: NetfilterState | undefined, families: ReadonlyArray<4 | 6>): Problem[] {
  const out: Problem[] = [];
  for (const family of families) {
    const policy = tables?.[tableId(family, 'filter')]?.policies?.FORWARD;
    if (policy !== 'DROP') continue;
    out.push({
      subject: '--iptables-forward-rules=false',
      message: `the ${family === 6 ? 'ip6tables' : 'iptables'} FORWARD policy is DROP: pod traffic between nodes is dropped unless another rule accepts it (flannel's FORWARD rules are turned off)`,
    });
  }
  return out;
}
