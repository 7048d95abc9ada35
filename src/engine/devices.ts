// The devices a config makes ovlnet's: whose fdb a host read includes, and
// what the ownership policy lets ovlnet change.
import { backendOf } from '../backends/registry.js';
import type { Prefix } from '../model/ip.js';
import type { ClusterState, NetworkConfig } from '../model/types.js';
import { ownershipFor, type OwnershipPolicy } from '../reconcile/ownership.js';
import { validateConfig } from '../validate/index.js';

/**
 * The vxlan devices whose fdb a snapshot needs, from the source's config as
 * given (validated again, with the host's addresses, by snapshotFrom): known
 * before the host is read, so the fdb is read alongside the rest.
 */
export function fdbDevicesFor(state: ClusterState): string[] {
  try {
    const config = validateConfig(state.config);
    return backendOf(config).fdbDevices(config);
  } catch {
    return []; // snapshotFrom reports the config error
  }
}


/** The cluster's pod networks (both families): where routes flanneld left are inherited. */
export function podNetworks(config: NetworkConfig): Prefix[] {
  return config.ipv6 ? [config.network, config.ipv6.network] : [config.network];
}

/** What ovlnet may change: its routes (and those flanneld left), and everything on the devices its backend owns. */
export function policyFor(config: NetworkConfig): OwnershipPolicy {
  return ownershipFor(backendOf(config).devices(config), undefined, podNetworks(config));
}
