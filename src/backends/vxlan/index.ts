// The vxlan backend: flannel.<VNI> (and flannel-v6.<VNI>), a neighbour, an fdb
// entry and an onlink route per peer; DirectRouting peers get a plain route.
import { ConfigError } from '../../errors.js';
import { isValidDeviceName, vxlanDeviceName, vxlanDeviceNameV6 } from '../../model/keys.js';
import { networkOf } from '../../model/ip.js';
import type { BackendConfig } from '../../model/types.js';
import { boolField, DEFAULT_VXLAN_PORT, intField, MAX_MTU, MIN_MTU } from '../../validate/fields.js';
import { cleanupVxlan } from './cleanup.js';
import type { Backend } from '../types.js';
import { planVxlan, VXLAN_OVERHEAD } from './plan.js';

type VxlanConfig = Extract<BackendConfig, { type: 'vxlan' }>;

/** The vxlan devices a config uses: flannel.<VNI> for IPv4, flannel-v6.<VNI> for IPv6. */
function devices(config: { network: { family: number }; ipv6?: unknown; backend: BackendConfig }): string[] {
  if (config.backend.type !== 'vxlan') return [];
  const vni = config.backend.vni;
  const first = config.network.family === 6 ? vxlanDeviceNameV6(vni) : vxlanDeviceName(vni);
  return config.ipv6 ? [first, vxlanDeviceNameV6(vni)] : [first];
}

export const vxlan: Backend<VxlanConfig> = {
  type: 'vxlan',
  parseConfig(raw, origin) {
    // VNI 0 is a valid vxlan id; flanneld uses it as given (device flannel.0).
    const vni = raw?.vni === undefined ? 1 : intField(raw.vni, 'Backend.VNI', origin, 0, 16777215);
    // The device is flannel.<VNI> and the kernel allows 15 characters, so an
    // 8-digit VNI can never get a device (flannel fails on it too): refuse the
    // config here rather than fail later while rendering commands.
    if (!isValidDeviceName(vxlanDeviceName(vni))) {
      throw new ConfigError(`${origin}: Backend.VNI ${vni}: device name ${vxlanDeviceName(vni)} is longer than the kernel's 15 characters; use a VNI below 10000000`);
    }
    // flannel: Port 0 means the kernel's default, which flannel sets to 8472.
    const portRaw = raw?.port === undefined || raw.port === 0 ? DEFAULT_VXLAN_PORT : raw.port;
    const port = intField(portRaw, 'Backend.Port', origin, 1, 65535);
    const mtu = raw?.mtu === undefined || raw.mtu === 0 ? undefined : intField(raw.mtu, 'Backend.MTU', origin, MIN_MTU, MAX_MTU);
    const dr = raw?.directRouting ?? false;
    if (typeof dr !== 'boolean') throw new ConfigError(`${origin}: Backend.DirectRouting must be true or false`);
    // Only when on, so a config without them validates exactly as before.
    const gbp = boolField(raw?.gbp, 'Backend.GBP', origin);
    const learning = boolField(raw?.learning, 'Backend.Learning', origin);
    return { type: 'vxlan', vni, port, mtu, directRouting: dr, ...(gbp ? { gbp } : {}), ...(learning ? { learning } : {}) };
  },
  checkIPv6(b, origin) {
    if (!isValidDeviceName(vxlanDeviceNameV6(b.vni))) {
      throw new ConfigError(`${origin}: Backend.VNI ${b.vni}: IPv6 device name ${vxlanDeviceNameV6(b.vni)} is longer than the kernel's 15 characters; use a VNI below 10000 with IPv6`);
    }
  },
  devices,
  fdbDevices: devices,
  plansFromRoutes: (config) => config.backend.type === 'vxlan' && config.backend.directRouting === true,
  plan: planVxlan,
  tracesPeers: true,
  programmed(ix, n) {
    const r = ix.routes.get(n.subnet.text);
    if (!r) return false;
    // A DirectRouting peer: a plain route to its public IP.
    if (r.via === n.publicIP.text) return true;
    const gw = networkOf(n.subnet).addr.text;
    return r.via === gw && r.dev !== undefined && ix.neigh.get(`${r.dev}/${gw}`) === n.vtepMAC.text &&
      ix.fdb.has(`fdb:${r.dev}/${n.vtepMAC.text}/${n.publicIP.text}`);
  },
  needsVtepMAC: true,
  leaseData: (config, vtepMAC) => ({ VNI: config.vni ?? 1, VtepMAC: vtepMAC }),
  hostLeaseData(links) {
    const one = (re: RegExp) => {
      const macs = [...links.values()].filter((l) => l.kind === 'vxlan' && re.test(l.name) && l.mac).map((l) => l.mac!.text);
      return macs.length === 1 ? macs[0] : undefined;
    };
    return { vtepMAC: one(/^flannel\.[0-9]+$/), vtepMACv6: one(/^flannel-v6\.[0-9]+$/) };
  },
  cleanup: cleanupVxlan,
  encapsulation: (b) => ({ overhead: VXLAN_OVERHEAD, port: b.port }),
  describe: (b) => `vxlan (VNI ${b.vni}, port ${b.port}${b.directRouting ? ', DirectRouting' : ''})`,
  table: {
    nodeNote: (local) => `  VTEP MAC ${local.vtepMAC.text}`,
    columns: [{ head: 'VTEP MAC', cell: (p) => (p.via === 'vxlan' ? p.node.vtepMAC.text : '(direct)') }],
    nodeColumns: [{ head: 'VTEP MAC', cell: (n) => n.vtepMAC.text }],
  },
};
