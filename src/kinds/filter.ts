// A FORWARD accept rule (--iptables-forward-rules): flannel's FLANNEL-FWD chain
// and its jump from FORWARD. Diffed and written with the nat rules (netfilter.ts).
import type { FilterRuleEntry } from '../model/types.js';
import { describeRule, diffRules, ruleKey, rulePhases } from './netfilter.js';
import type { KindSpec } from './types.js';

export const filter: KindSpec<FilterRuleEntry> = {
  kind: 'filter',
  key: ruleKey,
  compare: () => [],
  order: { delete: 1, add: 16 },
  writer: 'iptables-restore',
  describe: describeRule,
  diffAll: diffRules,
  phases: rulePhases,
  // No model: the tables of the last full read are kept for event cycles; a
  // rule written makes the model unknown, so the jump is never written twice.
};
