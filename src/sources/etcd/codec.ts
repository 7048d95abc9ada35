// flannel's etcd lease format, both ways. Pure.
//
//   <prefix>/subnets/10.244.1.0-24                     IPv4
//   <prefix>/subnets/10.244.1.0-24&fd00:10:244:1::-64  dual stack
//   <prefix>/subnets/0.0.0.0-0&fd00:10:244:1::-64      IPv6-only
//
// Value: {"PublicIP","PublicIPv6","BackendType","BackendData":{VNI,VtepMAC},
// "BackendV6Data":{VNI,VtepMAC}} (the v6 fields only with an IPv6 part);
// wireguard's BackendData is {PublicKey,Port} (Port since flannel 0.26.6).
import { isAligned, parsePrefix, type IP, type Prefix } from '../../model/ip.js';
import type { MAC } from '../../model/mac.js';
import type { NetworkConfig, RawNode } from '../../model/types.js';
import { SourceError } from '../../errors.js';
import type { RawConfig } from '../../model/types.js';
import { isObject, rawConfigFromObject } from '../netconf.js';
import { DEFAULT_PREFIX } from './uri.js';
import { backendData } from '../registration.js';
import type { BackendData } from '../../backends/types.js';

/** A lease value larger than this is not something flannel wrote. */
export const MAX_VALUE_BYTES = 64 * 1024;

export interface LeaseKey {
  /** The IPv4 subnet; absent in an IPv6-only key. */
  subnet?: Prefix;
  /** The IPv6 part of a dual-stack or IPv6-only key. */
  subnet6?: Prefix;
}

function keyPart(s: string): Prefix | undefined {
  const i = s.lastIndexOf('-');
  if (i <= 0) return undefined;
  const p = parsePrefix(`${s.slice(0, i)}/${s.slice(i + 1)}`);
  return p && isAligned(p) ? p : undefined;
}

/**
 * Every key form flannel writes (and the bare IPv6 form older tools wrote);
 * undefined for anything else.
 */
export function parseLeaseKey(name: string): LeaseKey | undefined {
  const parts = name.split('&');
  if (parts.length > 2) return undefined;
  const [a, b] = parts;
  if (b === undefined) {
    const p = keyPart(a);
    // The zero subnet only ever stands for an absent IPv4 half.
    if (!p || p.len === 0) return undefined;
    return p.family === 4 ? { subnet: p } : p ? { subnet6: p } : undefined;
  }
  // flannel writes an absent IPv4 part as the zero subnet.
  const noV4 = a === '' || a === '0.0.0.0-0';
  const v4 = noV4 ? undefined : keyPart(a);
  const v6 = keyPart(b);
  if ((!noV4 && (v4?.family !== 4 || v4.len === 0)) || v6?.family !== 6 || v6.len === 0) return undefined;
  return { subnet: v4, subnet6: v6 };
}

/** The key flannel writes for these subnets. */
export function leaseKeyName(subnet: Prefix | undefined, subnet6?: Prefix): string {
  const part = (p: Prefix) => `${p.addr.text}-${p.len}`;
  if (!subnet6) return part(subnet!);
  return `${subnet ? part(subnet) : '0.0.0.0-0'}&${part(subnet6)}`;
}

/**
 * The node name of a lease: its key in flannel's canonical spelling, rebuilt
 * from the parsed subnets, so every valid key gives a valid name (addresses,
 * digits and `-`, `&`, `:`, `.` only) however it was spelled.
 */
export function leaseNodeName(key: LeaseKey): string {
  return leaseKeyName(key.subnet, key.subnet6);
}

export interface LeaseValue {
  PublicIP: string;
  PublicIPv6: string | null;
  BackendType: string;
  BackendData?: BackendData;
  BackendV6Data?: BackendData;
}

/** What this node publishes: its public addresses and the backend's data per family. */
export interface OwnLeaseData {
  publicIP: IP;
  mac?: MAC;
  /** Dual stack: the IPv6 half. */
  publicIPv6?: IP;
  mac6?: MAC;
  /** The BackendData the backend made from the host (wireguard's public key), when it did: it wins. */
  local?: LocalBackendData;
}

/** What a backend's localLeaseData returned. */
export interface LocalBackendData {
  data?: BackendData;
  data6?: BackendData;
}

export function leaseValue(config: NetworkConfig, d: OwnLeaseData): LeaseValue {
  const v: LeaseValue = { PublicIP: d.publicIP.text, PublicIPv6: d.publicIPv6?.text ?? null, BackendType: config.backend.type };
  const data = d.local?.data ?? backendData(config, d.mac);
  if (data) v.BackendData = data;
  if (d.publicIPv6) {
    const data6 = d.local?.data6 ?? backendData(config, d.mac6);
    if (data6) v.BackendV6Data = data6;
  }
  return v;
}

/** A key under subnets/ and its value, parsed. */
export interface ParsedLease {
  value: string;
  /** The key is not a lease key (reported and skipped). */
  badKey: boolean;
  subnet?: Prefix;
  subnet6?: Prefix;
  /** Parsed JSON value, when it is an object. */
  obj?: Record<string, unknown>;
  tooLarge: boolean;
  /** The node without its expiry (that is per load); absent when the value is not a JSON object. */
  node?: RawNode;
}

/**
 * What the etcd source keeps of a parsed lease between loads: the node, and
 * whether to warn; not the JSON tree, the subnets or the value (the cache
 * entry holds it). At 10 000 leases the whole ParsedLease kept beside the
 * raw values was 6 MB of live heap.
 */
export interface CachedLease {
  badKey: boolean;
  tooLarge: boolean;
  node?: RawNode;
}

export function cachedLease(p: ParsedLease): CachedLease {
  return { badKey: p.badKey, tooLarge: p.tooLarge, node: p.node };
}

/**
 * The name of a lease from its etcd key (`<prefix>/subnets/<name>`), given
 * the byte length of `<prefix>/subnets/`: decoded alone, so the cache holds
 * a string of the name, not a slice that keeps the whole key alive.
 */
export function leaseName(key: Buffer, dirBytes: number): string {
  return key.toString('utf8', dirBytes);
}

let lastHead = { prefix: '', head: 'etcd lease /subnets/' };

/**
 * `etcd lease <prefix>/subnets/`, one string per prefix: every lease's
 * origin is then this and its name (a concatenation of two) instead of a
 * tree of four, 10 000 of which were ~1 MB of live heap.
 */
function originHead(prefix: string): string {
  if (lastHead.prefix !== prefix) lastHead = { prefix, head: `etcd lease ${prefix}/subnets/` };
  return lastHead.head;
}

/** Parses one key under `<prefix>/subnets/` and its value. */
export function parseLease(prefix: string, name: string, value: string): ParsedLease {
  const key = parseLeaseKey(name);
  if (!key) return { value, badKey: true, tooLarge: false };
  const tooLarge = Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES;
  let obj: Record<string, unknown> | undefined;
  if (!tooLarge) {
    try {
      const o = JSON.parse(value) as unknown;
      if (isObject(o)) obj = o;
    } catch { /* reported by the caller, with the key */ }
  }
  let node: RawNode | undefined;
  if (obj) {
    const data = obj.BackendData;
    const data6 = obj.BackendV6Data;
    // The key itself when flannel spelled it canonically (it always does):
    // one string per lease instead of a concatenation kept beside it.
    const nodeName = leaseNodeName(key);
    node = {
      origin: originHead(prefix) + name,
      name: nodeName === name ? name : nodeName,
      publicIP: obj.PublicIP,
      subnet: key.subnet?.text,
      vtepMAC: isObject(data) ? data.VtepMAC : undefined,
      backendType: obj.BackendType,
    };
    // The backend reads its own fields (wireguard: PublicKey, Port); only when present, so vxlan nodes map as before.
    if (data !== undefined && data !== null) node.backendData = data;
    // Validation reads the IPv6 fields as the node's first family in an IPv6-only network.
    if (key.subnet6) {
      node.publicIPv6 = obj.PublicIPv6 ?? undefined;
      node.ipv6Subnet = key.subnet6.text;
      node.vtepMACv6 = isObject(data6) ? data6.VtepMAC : undefined;
      if (data6 !== undefined && data6 !== null) node.backendDataV6 = data6;
    }
  }
  return { value, badKey: false, subnet: key.subnet, subnet6: key.subnet6, obj, tooLarge, node };
}

/** The network config at `<prefix>/config` (`where`: the endpoints, for messages). */
export function parseConfigText(prefix: string, where: string, text: string | undefined): RawConfig {
  const origin = `etcd ${prefix}/config`;
  if (text === undefined) {
    throw new SourceError(`${where}: no network config at ${prefix}/config`,
      `check the prefix (flannel's default is ${DEFAULT_PREFIX}; write another as etcd://HOST:PORT/PREFIX), or write the config: etcdctl put ${prefix}/config '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'`);
  }
  let obj: unknown;
  try {
    if (Buffer.byteLength(text, 'utf8') > MAX_VALUE_BYTES) throw new Error(`larger than ${MAX_VALUE_BYTES} bytes`);
    obj = JSON.parse(text);
  } catch (e) {
    throw new SourceError(`${origin}: invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(obj)) throw new SourceError(`${origin}: expected a JSON object`);
  // A missing Backend stays undefined: validation treats it as vxlan (flannel's
  // docs; its code would fall back to udp, which ovlnet does not support).
  return rawConfigFromObject(obj, origin);
}
