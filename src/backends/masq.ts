// flannel's --ip-masq rules (pkg/trafficmngr/iptables masqRules and
// masqIP6Rules), in the order flannel appends them, with flannel's comment,
// rendered in the canonical form `iptables-save` prints so the plan compares
// with the host as plain strings: a node flannel set up is in sync as it is,
// and flannel (or ovlnet) finds the other's rules its own. Pure.
//
// Older ovlnet versions wrote the comment "ovlnet masq" and inserted the jump
// first: such rules are ovlnet's (legacy), replaced by flannel's form.
import type { Prefix } from '../model/ip.js';
import type { NatRuleEntry, RuleSet } from '../model/types.js';
import { commentTail, jumpSpec, ruleSetEntries } from './ruleset.js';

export const MASQ_SET: RuleSet = {
  table: 'nat', chain: 'FLANNEL-POSTRTG', hook: 'POSTROUTING', comment: 'flanneld masq', legacyComments: ['ovlnet masq'],
};
export const MASQ_CHAIN = MASQ_SET.chain;
export const MASQ_COMMENT = MASQ_SET.comment;
/** kube-proxy marks packets it will masquerade itself; NATting them twice breaks some kernels. */
export const KUBE_PROXY_MARK = '0x4000/0x4000';
const MULTICAST = { 4: '224.0.0.0/4', 6: 'ff00::/8' } as const;

const tail = (target: string) => commentTail(MASQ_SET, target);

/** The jump from POSTROUTING into the chain (appended, as flannel does). */
export const MASQ_JUMP_SPEC = jumpSpec(MASQ_SET);

/**
 * The rules of FLANNEL-POSTRTG for one family's network and this node's
 * subnet in it, then the jump from POSTROUTING. `randomFully`: whether
 * iptables takes --random-fully and --ip-masq-fully-random-disable is unset.
 */
export function planMasq(network: Prefix, subnet: Prefix, randomFully = true): NatRuleEntry[] {
  const n = network.text;
  const s = subnet.text;
  const masquerade = `${tail('MASQUERADE')}${randomFully ? ' --random-fully' : ''}`;
  return ruleSetEntries(MASQ_SET, network.family, [
    `-m mark --mark ${KUBE_PROXY_MARK} ${tail('RETURN')}`,
    // Pod <-> cluster traffic keeps its addresses.
    `-s ${s} -d ${n} ${tail('RETURN')}`,
    `-s ${n} -d ${s} ${tail('RETURN')}`,
    // External traffic arriving for this node's pods is not rewritten.
    `! -s ${n} -d ${s} ${tail('RETURN')}`,
    // Pods reaching outside the cluster network leave with the node's address.
    `-s ${n} ! -d ${MULTICAST[network.family]} ${masquerade}`,
    // The host reaching remote pods is seen with its address too.
    `! -s ${n} -d ${n} ${masquerade}`,
  ]) as NatRuleEntry[];
}
