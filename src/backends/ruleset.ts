// The iptables rule sets ovlnet plans: flannel's masquerade chain (nat,
// --ip-masq) and its FORWARD accept chain (filter, --iptables-forward-rules).
// Both have one shape (a chain owned whole, one commented jump into it from a
// built-in chain), so one driver plans, diffs, writes and cleans them up:
// this file says what the sets are; reconcile/netfilter.ts diffs them,
// host/iptables.ts renders them. Pure.
import type { NetfilterRuleEntry, NetfilterTable, RuleSet } from '../model/types.js';

/** `-m comment --comment "<comment>" -j <target>`, as iptables-save prints it. */
export function commentTail(set: RuleSet, target: string): string {
  return `-m comment --comment "${set.comment}" -j ${target}`;
}

/** The jump from the hook into the set's chain, as ovlnet writes it. */
export function jumpSpec(set: RuleSet): string {
  return commentTail(set, set.chain);
}

/** A rule spec that carries the set's comment, or one ovlnet wrote before (and so is ovlnet's). */
export function isOwnSpec(set: RuleSet, spec: string): boolean {
  return [set.comment, ...set.legacyComments].some((c) => spec.includes(`--comment "${c}"`));
}

/** Whether a rule jumps (or goes) to the set's chain. */
export function isJumpTo(set: RuleSet, spec: string): boolean {
  return new RegExp(`(^| )-[jg] ${set.chain}( |$)`).test(spec);
}

/** The set's rules for one family: the chain's rules in order, then the jump. */
export function ruleSetEntries(set: RuleSet, family: 4 | 6, chainSpecs: string[]): NetfilterRuleEntry[] {
  const f = family === 6 ? { family: 6 as const } : {};
  return [
    ...chainSpecs.map((spec) => ({ kind: set.table, ...f, chain: set.chain, spec })),
    { kind: set.table, ...f, chain: set.hook, spec: jumpSpec(set) },
  ];
}

export const familyOf = (e: { family?: 6 }): 4 | 6 => (e.family === 6 ? 6 : 4);
export const tableId = (family: 4 | 6, table: NetfilterTable) => `${family}/${table}` as const;
