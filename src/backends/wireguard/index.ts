// The wireguard backend (flannel's pkg/backend/wireguard): encrypted pod
// traffic through flannel-wg (and flannel-wg-v6), one WireGuard peer per
// node, keyed by the public key each node publishes in its BackendData.
import type { Node, WireguardConfig } from '../../model/types.js';
import type { Backend } from '../types.js';
import { cleanupWireguard } from './cleanup.js';
import { parseWireguardConfig } from './config.js';
import { wireguardChecks } from './doctor.js';
import { wireguardLeaseData } from './lease.js';
import { wireguardNodeFields } from './node-fields.js';
import { planWireguard, WG_OVERHEAD, wireguardAttrs, wireguardDevices } from './plan.js';

/** A node's published key (BackendData, else BackendV6Data on an IPv6-only peer). */
const publicKeyOf = (n: Node): string => wireguardAttrs(n.backendData).publicKey ?? wireguardAttrs(n.v6?.backendData).publicKey ?? '-';

export const wireguard: Backend<WireguardConfig> = {
  type: 'wireguard',
  parseConfig: parseWireguardConfig,
  devices: wireguardDevices,
  fdbDevices: () => [],
  plansFromRoutes: () => false,
  plan: planWireguard,
  // No `programmed`: a peer is reached through the network's one route whether or not its peer entry is there.
  needsVtepMAC: false,
  // Without the key file nothing is known: the registration asks localLeaseData.
  leaseData: () => undefined,
  async localLeaseData(config, o) {
    const { data, data6 } = await wireguardLeaseData(config, o);
    return { data, data6 };
  },
  publicKey: (data) => wireguardAttrs(data).publicKey,
  nodeFields: wireguardNodeFields,
  cleanup: cleanupWireguard,
  doctor: wireguardChecks,
  encapsulation: (b) => ({ overhead: WG_OVERHEAD, port: b.listenPort }),
  describe: (b) => `wireguard (port ${b.listenPort}${b.mode === 'separate' ? `, IPv6 port ${b.listenPortV6}` : `, Mode ${b.mode}`}${b.keepalive ? `, keepalive ${b.keepalive}s` : ''}${b.psk ? ', PSK' : ''})`,
  table: {
    nodeNote: (local) => {
      const key = wireguardAttrs(local.backendData).publicKey;
      return key ? `  public key ${key}` : '';
    },
    columns: [{ head: 'Public key', cell: (p) => publicKeyOf(p.node) }],
    nodeColumns: [{ head: 'Public key', cell: publicKeyOf }],
    unroutedPeer: (p, d) => `dev ${d.device} (wireguard)`,
    devices: (d) => d.entries.flatMap((e) => (e.kind === 'wg-device' ? [`${e.name} (port ${e.listenPort}, MTU ${e.mtu})`] : [])).join(', ') || undefined,
  },
};
