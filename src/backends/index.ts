// The planning entry point: the cluster's backend plans (registry.ts), then
// what every backend shares (flannel's --ip-masq rules) is added. Pure.
import type { DesiredState, NetworkConfig } from '../model/types.js';
import { planMasq } from './masq.js';
import { backendOf } from './registry.js';
import type { PlanInput } from './types.js';

/** Computes the desired kernel state for the local node. Pure. */
export function plan(input: PlanInput): DesiredState {
  const desired = backendOf(input.cluster.config).plan(input);
  const config = input.cluster.config;
  if (input.host?.ipMasq) {
    // iptables rules are IPv4; flannel's ip6tables twin is not implemented.
    if (config.network.family === 4) desired.entries.push(...planMasq(config.network, input.cluster.local.subnet));
    if (config.network.family === 6 || config.ipv6) {
      desired.problems.push({ subject: '--ip-masq', message: 'IPv6 masquerading is not supported: only IPv4 traffic is masqueraded' });
    }
  }
  return desired;
}

export { resolveUnderlay } from './underlay.js';
export type { HostOptions, PlanInput, Underlay } from './types.js';

/** The devices whose fdb a host read includes under this config (the vxlan devices). */
export function vxlanDevices(config: NetworkConfig): string[] {
  return backendOf(config).fdbDevices(config);
}
