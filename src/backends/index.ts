import { vxlanDeviceName, vxlanDeviceNameV6 } from '../model/keys.js';
import type { DesiredState, NetworkConfig } from '../model/types.js';
import { planHostGw } from './hostgw.js';
import { planForward } from './forward.js';
import { planMasq } from './masq.js';
import type { PlanInput } from './types.js';
import { planUdp } from './udp.js';
import { planVxlan } from './vxlan.js';

function planBackend(input: PlanInput): DesiredState {
  switch (input.cluster.config.backend.type) {
    case 'vxlan':
      return planVxlan(input);
    case 'host-gw':
      return planHostGw(input);
    case 'udp':
      return planUdp(input);
  }
}

/** Computes the desired kernel state for the local node. Pure. */
export function plan(input: PlanInput): DesiredState {
  const desired = planBackend(input);
  const config = input.cluster.config;
  if (input.host?.ipMasq) {
    // flannel's rules per family: iptables for the network, ip6tables for the IPv6 one.
    const local = input.cluster.local;
    const randomFully = input.host.masqRandomFully ?? true;
    desired.entries.push(...planMasq(config.network, local.subnet, randomFully));
    if (config.ipv6 && local.v6) desired.entries.push(...planMasq(config.ipv6.network, local.v6.subnet, randomFully));
  }
  if (input.host?.forwardRules) {
    // flannel accepts forwarding for each family's cluster network (ip6tables for IPv6).
    for (const network of [config.network, config.ipv6?.network]) if (network) desired.entries.push(...planForward(network));
  }
  return desired;
}

export { resolveUnderlay } from './underlay.js';
export type { HostOptions, PlanInput, Underlay } from './types.js';

/** The vxlan devices a config uses: flannel.<VNI> for IPv4, flannel-v6.<VNI> for IPv6. */
export function vxlanDevices(config: NetworkConfig): string[] {
  if (config.backend.type !== 'vxlan') return [];
  const vni = config.backend.vni;
  const first = config.network.family === 6 ? vxlanDeviceNameV6(vni) : vxlanDeviceName(vni);
  return config.ipv6 ? [first, vxlanDeviceNameV6(vni)] : [first];
}
