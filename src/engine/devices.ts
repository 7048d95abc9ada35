// Which vxlan devices' fdb a host read includes: known from the config
// before the host is read, so the fdb is read alongside the rest.
import { vxlanDevices } from '../backends/index.js';
import type { ClusterState } from '../model/types.js';
import { validateConfig } from '../validate/index.js';

/**
 * The vxlan devices whose fdb a snapshot needs, from the source's config as
 * given (validated again, with the host's addresses, by snapshotFrom): known
 * before the host is read, so the fdb is read alongside the rest.
 */
export function fdbDevicesFor(state: ClusterState): string[] {
  try {
    return vxlanDevices(validateConfig(state.config));
  } catch {
    return []; // snapshotFrom reports the config error
  }
}

