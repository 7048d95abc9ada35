// Every iptables rule set ovlnet may plan, by table (one set per table).
import type { NetfilterTable, RuleSet } from '../model/types.js';
import { FORWARD_SET } from './forward.js';
import { MASQ_SET } from './masq.js';

export const RULE_SETS: readonly RuleSet[] = [MASQ_SET, FORWARD_SET];

export function ruleSetFor(table: NetfilterTable): RuleSet {
  return table === 'nat' ? MASQ_SET : FORWARD_SET;
}
