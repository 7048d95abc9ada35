// flannel's subnet.env, read by the flannel CNI plugin. Pure: rendered from
// validated values only (see shared reference "/run/flannel/subnet.env").
import { makePrefix, nthAddress, networkOf, type Prefix } from '../model/ip.js';
import type { DesiredState, NetworkConfig } from '../model/types.js';

export interface SubnetEnv {
  network: Prefix;
  /** This node's subnet, e.g. 10.244.1.0/24. */
  subnet: Prefix;
  mtu: number;
  /** Whether ovlnet installs the masquerade rules (--ip-masq), so the CNI plugin need not. */
  ipMasq: boolean;
}

export function renderSubnetEnv(e: SubnetEnv): string {
  // FLANNEL_SUBNET is the subnet's first host address with the subnet length (.1/24).
  const gw = makePrefix(nthAddress(networkOf(e.subnet), 1n), e.subnet.len);
  if (!Number.isInteger(e.mtu) || e.mtu <= 0) throw new Error(`refusing to render MTU ${e.mtu}`);
  return [
    // The flannel CNI plugin ignores lines it does not know; `ovlnet cleanup`
    // uses this one to tell ovlnet's file from flannel's.
    '# written by ovlnet daemon',
    `FLANNEL_NETWORK=${e.network.text}`,
    `FLANNEL_SUBNET=${gw.text}`,
    `FLANNEL_MTU=${e.mtu}`,
    `FLANNEL_IPMASQ=${e.ipMasq ? 'true' : 'false'}`,
    '',
  ].join('\n');
}

/** The values for this node: the MTU pods must use is the vxlan device's (or the underlay's for host-gw). */
export function subnetEnvFor(config: NetworkConfig, desired: DesiredState, ipMasq = false): SubnetEnv {
  const link = desired.entries.find((e) => e.kind === 'link');
  const mtu = link && link.kind === 'link' ? link.mtu : desired.underlay.mtu;
  return { network: config.network, subnet: desired.local.subnet, mtu, ipMasq };
}
