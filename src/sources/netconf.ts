// Maps a network config object to RawConfig. Accepts ovlnet's camelCase
// spelling and flannel's net-conf.json spelling (Network, SubnetLen,
// Backend: {Type, VNI, Port}), so the same file serves both tools.
//
// Keys are matched as Go's encoding/json matches them to flannel's struct
// fields: case-insensitively (`Directrouting`, `mTu`), the last matching key
// winning, and a null value leaving the field unset.
import type { RawBackend, RawConfig } from '../model/types.js';

function pick(obj: Record<string, unknown>, name: string): unknown {
  const want = name.toLowerCase();
  let found: unknown;
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && k.toLowerCase() === want) found = v;
  }
  return found;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function rawBackend(v: unknown): RawBackend | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return { type: v }; // reported by validation as a bad backend
  const b: RawBackend = {
    type: pick(v, 'Type'),
    vni: pick(v, 'VNI'),
    port: pick(v, 'Port'),
    mtu: pick(v, 'MTU'),
    directRouting: pick(v, 'DirectRouting'),
  };
  // Only when given: a config without them maps exactly as before.
  const gbp = pick(v, 'GBP');
  const learning = pick(v, 'Learning');
  if (gbp !== undefined) b.gbp = gbp;
  if (learning !== undefined) b.learning = learning;
  // The keys only another backend reads (wireguard's ListenPort, PSK...), as given: that backend picks its own.
  const mapped = new Set(['type', 'vni', 'port', 'mtu', 'directrouting', 'gbp', 'learning']);
  const rest = Object.entries(v).filter(([k]) => !mapped.has(k.toLowerCase()));
  if (rest.length) b.fields = Object.fromEntries(rest);
  return b;
}

export interface NetConfOptions {
  /**
   * The object is flannel's net-conf (etcd, Kubernetes): a missing Backend is
   * udp to flanneld (its code's default), which deserves a warning. Cluster
   * files are ovlnet's own format, where vxlan is simply the default.
   */
  flannel?: boolean;
}

export function rawConfigFromObject(obj: Record<string, unknown>, origin: string, opts: NetConfOptions = { flannel: true }): RawConfig {
  const backend = rawBackend(pick(obj, 'Backend'));
  return {
    origin,
    network: pick(obj, 'Network'),
    subnetLen: pick(obj, 'SubnetLen'),
    subnetMin: pick(obj, 'SubnetMin'),
    subnetMax: pick(obj, 'SubnetMax'),
    backend,
    // Dual stack keys only when given: an IPv4 config maps exactly as before.
    ...Object.fromEntries(Object.entries({
      ipv6Network: pick(obj, 'IPv6Network'),
      enableIPv6: pick(obj, 'EnableIPv6'),
      enableIPv4: pick(obj, 'EnableIPv4'),
      ipv6SubnetLen: pick(obj, 'IPv6SubnetLen'),
      ipv6SubnetMin: pick(obj, 'IPv6SubnetMin'),
      ipv6SubnetMax: pick(obj, 'IPv6SubnetMax'),
    }).filter(([, v]) => v !== undefined)),
    ...(opts.flannel && backend === undefined ? {
      warnings: [`${origin}: no Backend: ovlnet uses vxlan, but flanneld would use its udp backend (its code's default) and could not reach this node; set "Backend": {"Type": "vxlan"}`],
    } : {}),
  };
}

export { isObject };
