// The planning entry point: the cluster's backend plans (registry.ts), then
// what every backend shares (flannel's --ip-masq rules) is added. Pure.
import type { DesiredState, NetworkConfig } from '../model/types.js';
import { planForward } from './forward.js';
import { planMasq } from './masq.js';
import { backendOf } from './registry.js';
import type { PlanInput } from './types.js';

/** Computes the desired kernel state for the local node. Pure. */
export function plan(input: PlanInput): DesiredState {
  const desired = backendOf(input.cluster.config).plan(input);
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

/** The devices whose fdb a host read includes under this config (the vxlan devices). */
export function vxlanDevices(config: NetworkConfig): string[] {
  return backendOf(config).fdbDevices(config);
}
