// A masquerade rule (--ip-masq): flannel's FLANNEL-POSTRTG chain and its jump
// from POSTROUTING. Diffed and written with the filter rules (netfilter.ts).
import type { NatRuleEntry } from '../model/types.js';
import { describeRule, diffRules, ruleKey, rulePhases } from './netfilter.js';
import type { KindSpec } from './types.js';

export const nat: KindSpec<NatRuleEntry> = {
  kind: 'nat',
  key: ruleKey,
  // The key holds all its fields; order is the rule-set diff's business.
  compare: () => [],
  // Independent of the devices: first of the deletions, last of the additions.
  order: { delete: 0, add: 15 },
  writer: 'iptables-restore',
  describe: describeRule,
  diffAll: diffRules,
  phases: rulePhases,
  // No model: the tables of the last full read are kept for event cycles; a
  // rule written makes the model unknown, so the jump is never written twice.
};
