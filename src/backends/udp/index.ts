// The udp backend: a persistent TUN device and one route for the network; the
// daemon's forwarder (dataplane.ts) moves the packets.
import type { BackendConfig } from '../../model/types.js';
import { DEFAULT_UDP_PORT, intField } from '../../validate/fields.js';
import { cleanupUdp } from './cleanup.js';
import type { Backend } from '../types.js';
import { UdpDataPlane } from './dataplane.js';
import { planUdp, UDP_DEVICE, UDP_OVERHEAD } from './plan.js';

export const udp: Backend<Extract<BackendConfig, { type: 'udp' }>> = {
  type: 'udp',
  parseConfig(raw, origin) {
    // As for vxlan, Port 0 means unset.
    const portRaw = raw?.port === undefined || raw.port === 0 ? DEFAULT_UDP_PORT : raw.port;
    return { type: 'udp', port: intField(portRaw, 'Backend.Port', origin, 1, 65535) };
  },
  // The TUN is owned as a device; it has no forwarding entries.
  devices: () => [UDP_DEVICE],
  fdbDevices: () => [],
  plansFromRoutes: () => false,
  plan: planUdp,
  // No `programmed`: every peer looks the same to the kernel.
  needsVtepMAC: false,
  leaseData: () => undefined,
  cleanup: cleanupUdp,
  encapsulation: (b) => ({ overhead: UDP_OVERHEAD, port: b.port }),
  describe: (b) => b.type,
  table: {
    columns: [],
    unroutedPeer: (p, d) => (p.via === 'udp' ? `dev ${d.device} (udp forwarder)` : ''),
  },
  dataPlane: (o) => new UdpDataPlane(o.log, o.netns),
};
