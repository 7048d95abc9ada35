// Maps a network config object to RawConfig. Accepts ovlnet's camelCase
// spelling and flannel's net-conf.json spelling (Network, SubnetLen,
// Backend: {Type, VNI, Port}), so the same file serves both tools.
import type { RawBackend, RawConfig } from '../model/types.js';

function pick(obj: Record<string, unknown>, ...names: string[]): unknown {
  for (const n of names) if (obj[n] !== undefined) return obj[n];
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function rawBackend(v: unknown): RawBackend | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) return { type: v }; // reported by validation as a bad backend
  return {
    type: pick(v, 'type', 'Type'),
    vni: pick(v, 'vni', 'VNI'),
    port: pick(v, 'port', 'Port'),
    mtu: pick(v, 'mtu', 'MTU'),
    directRouting: pick(v, 'directRouting', 'DirectRouting'),
  };
}

export function rawConfigFromObject(obj: Record<string, unknown>, origin: string): RawConfig {
  return {
    origin,
    network: pick(obj, 'network', 'Network'),
    subnetLen: pick(obj, 'subnetLen', 'SubnetLen'),
    subnetMin: pick(obj, 'subnetMin', 'SubnetMin'),
    subnetMax: pick(obj, 'subnetMax', 'SubnetMax'),
    backend: rawBackend(pick(obj, 'backend', 'Backend')),
    // Dual stack keys only when given: an IPv4 config maps exactly as before.
    ...Object.fromEntries(Object.entries({
      ipv6Network: pick(obj, 'ipv6Network', 'IPv6Network'),
      enableIPv6: pick(obj, 'enableIPv6', 'EnableIPv6'),
      enableIPv4: pick(obj, 'enableIPv4', 'EnableIPv4'),
      ipv6SubnetLen: pick(obj, 'ipv6SubnetLen', 'IPv6SubnetLen'),
    }).filter(([, v]) => v !== undefined)),
  };
}

export { isObject };
