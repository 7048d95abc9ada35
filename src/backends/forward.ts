// flannel's FORWARD accept rules (pkg/trafficmngr/iptables forwardRules,
// --iptables-forward-rules, on by default): filter chain FLANNEL-FWD accepts
// everything from and to the cluster network, entered from FORWARD. Without
// them a host whose FORWARD policy is DROP (Docker sets it) drops every
// forwarded pod packet, while routes, neighbours and fdb are all in place.
// Same rules, comment and order as flannel's, so a node flannel set up is in
// sync as it is, and either can take over from the other. Pure.
import type { Prefix } from '../model/ip.js';
import type { FilterRuleEntry, RuleSet } from '../model/types.js';
import { commentTail, ruleSetEntries } from './ruleset.js';

export const FORWARD_SET: RuleSet = {
  table: 'filter', chain: 'FLANNEL-FWD', hook: 'FORWARD', comment: 'flanneld forward', legacyComments: [],
};

/** FLANNEL-FWD's rules for one family's cluster network, then the jump from FORWARD. */
export function planForward(network: Prefix): FilterRuleEntry[] {
  const n = network.text;
  return ruleSetEntries(FORWARD_SET, network.family, [
    `-s ${n} ${commentTail(FORWARD_SET, 'ACCEPT')}`,
    `-d ${n} ${commentTail(FORWARD_SET, 'ACCEPT')}`,
  ]) as FilterRuleEntry[];
}
