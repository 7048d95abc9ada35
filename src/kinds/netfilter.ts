// What the two iptables kinds (nat: --ip-masq, filter: the FORWARD rules)
// share: one rule-set driver (backends/ruleset.ts) diffs both together
// (reconcile/netfilter.ts: chains owned whole, order matters) and writes
// both with one iptables-restore (ip6tables-restore) per family.
import { familyOf, ruleKey } from '../backends/ruleset.js';

export { ruleKey };
import { renderRestore } from '../host/iptables.js';
import type { Change, Entry, NetfilterRuleEntry } from '../model/types.js';
import { diffNetfilter } from '../reconcile/netfilter.js';
import type { DiffContext } from './types.js';
import type { WritePhases } from '../engine/host.js';

const isRule = (e: Entry): e is NetfilterRuleEntry => e.kind === 'nat' || e.kind === 'filter';

export function describeRule(e: NetfilterRuleEntry): string {
  return `${e.family === 6 ? 'ip6 ' : ''}${e.kind} ${e.chain} ${e.spec}`;
}

/** Every planned set in every family, at once; a set not planned is left alone. */
export function diffRules(desired: Entry[], ctx: DiffContext): void {
  const n = diffNetfilter(desired.filter(isRule), ctx.actual.netfilter);
  ctx.changes.push(...n.changes);
  ctx.inSync += n.inSync;
}

/** One restore per family, for every rule change of that family (one transaction: it fails for every rule). */
export function rulePhases(changes: Change[], { desired }: { desired: readonly Entry[] }): WritePhases {
  const ruleOf = (c: Change) => (c.action === 'delete' ? c.actual : c.desired) as NetfilterRuleEntry;
  const families = [...new Set(changes.map((c) => familyOf(ruleOf(c))))];
  return families.map((family) => {
    const mine = changes.filter((c) => familyOf(ruleOf(c)) === family);
    const input = renderRestore(desired.filter(isRule).filter((e) => familyOf(e) === family), mine);
    const tool = family === 6 ? 'ip6tables-restore' as const : 'iptables-restore' as const;
    return [{ tool, input, lines: mine.map((change) => ({ line: `${tool} --noflush`, change })) }];
  });
}
