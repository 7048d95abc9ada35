// flannel's --ip-masq rules (pkg/trafficmngr/iptables masqRules), in the
// order flannel appends them, rendered in the canonical form `iptables-save`
// prints so the plan compares with the host as plain strings. Pure.
//
// The chain name is flannel's, so ovlnet can take over from flannel; the
// comment is ovlnet's own: it is how `ovlnet cleanup` tells ovlnet's rules
// from flannel's ("flanneld masq") when the source is gone.
import type { Prefix } from '../model/ip.js';
import type { NatRuleEntry } from '../model/types.js';

export const MASQ_CHAIN = 'FLANNEL-POSTRTG';
export const MASQ_COMMENT = 'ovlnet masq';
/** kube-proxy marks packets it will masquerade itself; NATting them twice breaks some kernels. */
export const KUBE_PROXY_MARK = '0x4000/0x4000';
const MULTICAST_V4 = '224.0.0.0/4';

const tail = (target: string) => `-m comment --comment "${MASQ_COMMENT}" -j ${target}`;

/** The jump from POSTROUTING into the chain, as ovlnet writes it. */
export const MASQ_JUMP_SPEC = tail(MASQ_CHAIN);

/** The rules of FLANNEL-POSTRTG for this node, then the jump from POSTROUTING. */
export function planMasq(network: Prefix, subnet: Prefix): NatRuleEntry[] {
  const n = network.text;
  const s = subnet.text;
  const rule = (spec: string): NatRuleEntry => ({ kind: 'nat', chain: MASQ_CHAIN, spec });
  return [
    rule(`-m mark --mark ${KUBE_PROXY_MARK} ${tail('RETURN')}`),
    // Pod <-> cluster traffic keeps its addresses.
    rule(`-s ${s} -d ${n} ${tail('RETURN')}`),
    rule(`-s ${n} -d ${s} ${tail('RETURN')}`),
    // External traffic arriving for this node's pods is not rewritten.
    rule(`! -s ${n} -d ${s} ${tail('RETURN')}`),
    // Pods reaching outside the cluster network leave with the node's address.
    rule(`-s ${n} ! -d ${MULTICAST_V4} ${tail('MASQUERADE')} --random-fully`),
    // The host reaching remote pods is seen with its address too.
    rule(`! -s ${n} -d ${n} ${tail('MASQUERADE')} --random-fully`),
    { kind: 'nat', chain: 'POSTROUTING', spec: MASQ_JUMP_SPEC },
  ];
}
