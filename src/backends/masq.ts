// flannel's --ip-masq rules (pkg/trafficmngr/iptables masqRules), in the
// order flannel appends them, rendered in the canonical form `iptables-save`
// prints so the plan compares with the host as plain strings. Pure.
//
// The chain name is flannel's, so ovlnet can take over from flannel; the
// comment is ovlnet's own: it is how `ovlnet cleanup` tells ovlnet's rules
// from flannel's ("flanneld masq") when the source is gone.
import type { Prefix } from '../model/ip.js';
import type { NatRuleEntry, RuleSet } from '../model/types.js';
import { commentTail, jumpSpec, ruleSetEntries } from './ruleset.js';

export const MASQ_SET: RuleSet = {
  table: 'nat', chain: 'FLANNEL-POSTRTG', hook: 'POSTROUTING', comment: 'ovlnet masq', legacyComments: [], jumpAt: 'first',
};
export const MASQ_CHAIN = MASQ_SET.chain;
export const MASQ_COMMENT = MASQ_SET.comment;
/** kube-proxy marks packets it will masquerade itself; NATting them twice breaks some kernels. */
export const KUBE_PROXY_MARK = '0x4000/0x4000';
const MULTICAST_V4 = '224.0.0.0/4';

const tail = (target: string) => commentTail(MASQ_SET, target);

/** The jump from POSTROUTING into the chain, as ovlnet writes it. */
export const MASQ_JUMP_SPEC = jumpSpec(MASQ_SET);

/** The rules of FLANNEL-POSTRTG for this node, then the jump from POSTROUTING. */
export function planMasq(network: Prefix, subnet: Prefix): NatRuleEntry[] {
  const n = network.text;
  const s = subnet.text;
  return ruleSetEntries(MASQ_SET, 4, [
    `-m mark --mark ${KUBE_PROXY_MARK} ${tail('RETURN')}`,
    // Pod <-> cluster traffic keeps its addresses.
    `-s ${s} -d ${n} ${tail('RETURN')}`,
    `-s ${n} -d ${s} ${tail('RETURN')}`,
    // External traffic arriving for this node's pods is not rewritten.
    `! -s ${n} -d ${s} ${tail('RETURN')}`,
    // Pods reaching outside the cluster network leave with the node's address.
    `-s ${n} ! -d ${MULTICAST_V4} ${tail('MASQUERADE')} --random-fully`,
    // The host reaching remote pods is seen with its address too.
    `! -s ${n} -d ${n} ${tail('MASQUERADE')} --random-fully`,
  ]) as NatRuleEntry[];
}
