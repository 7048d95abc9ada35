// `etcd://HOST:PORT[,HOST:PORT...][/PREFIX]` source: flannel's etcd v3 schema.
//
//   <prefix>/config                 network config (JSON, flannel's spelling)
//   <prefix>/subnets/10.244.1.0-24  one lease per node: PublicIP, BackendType,
//                                   BackendData {VNI, VtepMAC}; an etcd lease
//                                   (TTL) unless it is a reservation
//
// This is the only module that imports `etcd3` (and through it gRPC); it is
// loaded only when an etcd source is used. Leases name no node: a lease's
// name is its key, and the local node is found by public IP.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  Etcd3, EtcdAuthenticationFailedError, EtcdPermissionDeniedError, GRPCDeadlineExceededError,
  isRecoverableError, type IKeyValue, type IOptions, type Watcher,
} from 'etcd3';
import { choosePublicIP } from '../backends/underlay.js';
import { ConfigError, NodeError, SourceError, UsageError } from '../errors.js';
import {
  ipFromValue, isAligned, makePrefix, mask, networkOf, parseIP, parsePrefix,
  prefixContains, prefixContainsIP, type IP, type Prefix,
} from '../model/ip.js';
import { nonUnicastMACReason, parseMAC, randomVtepMAC, type MAC } from '../model/mac.js';
import type { ClusterState, NetworkConfig, RawConfig, RawNode } from '../model/types.js';
import { validateConfig } from '../validate/config.js';
import { isObject, rawConfigFromObject } from './netconf.js';
import type { LoadOptions, Registration, RegisterOptions, Source, SourceOptions, WatchHandlers } from './types.js';

export const DEFAULT_PREFIX = '/coreos.com/network';
export const DEFAULT_PORT = 2379;
export const DEFAULT_LEASE_TTL_SECONDS = 24 * 3600;
/** flannel renews its lease one hour before it expires. */
const RENEW_MARGIN_SECONDS = 3600;
/** One etcd call; a blackholed endpoint must not hang a one-shot command. */
const CALL_TIMEOUT_MS = 2000;
/** All attempts of one operation (retries across endpoints, a leader election). */
const OP_BUDGET_MS = 5000;
/** How often the registration checks that its own key is still there. */
const OWN_KEY_CHECK_MS = 60_000;
/** A lease value larger than this is not something flannel wrote. */
const MAX_VALUE_BYTES = 64 * 1024;
const MAX_ACQUIRE_ATTEMPTS = 20;
/** Expiry times of etcd leases are re-read after this long (they only move when renewed). */
const TTL_CACHE_MS = 5 * 60_000;

// ---- Pure helpers (unit tested) -------------------------------------------

export interface EtcdURI {
  tls: boolean;
  /** `host:port`, IPv6 hosts in brackets. */
  endpoints: string[];
  prefix: string;
}

export function parseEtcdURI(uri: string): EtcdURI {
  const m = /^(etcds?):\/\/([^/]*)(\/.*)?$/.exec(uri);
  if (!m) throw new UsageError(`source ${uri}: expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX]`);
  const tls = m[1] === 'etcds';
  if (!m[2]) throw new UsageError(`source ${uri}: no endpoint; expected etcd://HOST:PORT[/PREFIX]`);
  const endpoints = m[2].split(',').map((hp) => {
    const e = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/.exec(hp);
    const port = e?.[2] === undefined ? DEFAULT_PORT : Number(e[2]);
    if (!e || port < 1 || port > 65535) throw new UsageError(`source ${uri}: bad endpoint "${hp.slice(0, 80)}"; expected HOST:PORT`);
    return `${e[1]}:${port}`;
  });
  let prefix = (m[3] ?? '').replace(/\/+$/, '');
  if (prefix === '') prefix = DEFAULT_PREFIX;
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(prefix) || prefix.includes('//')) {
    throw new UsageError(`source ${uri}: bad prefix "${prefix.slice(0, 80)}"`);
  }
  return { tls, endpoints, prefix };
}

/**
 * flannel's lease key: `10.244.1.0-24`, dual stack `10.244.1.0-24&fd00::-64`
 * (IPv6-only: `0.0.0.0-0&fd00::-64`, or the IPv6 part alone). Returns the
 * IPv4 subnet, whether there was an IPv6 part, and that part (`subnet6`).
 */
export function parseLeaseKey(name: string): { subnet?: Prefix; v6?: boolean; subnet6?: Prefix } | undefined {
  const parts = name.split('&');
  if (parts.length > 2) return undefined;
  const toPrefix = (s: string) => {
    const i = s.lastIndexOf('-');
    if (i <= 0) return undefined;
    const p = parsePrefix(`${s.slice(0, i)}/${s.slice(i + 1)}`);
    return p && isAligned(p) ? p : undefined;
  };
  const [a, b] = parts;
  if (b === undefined) {
    const p = toPrefix(a);
    return p?.family === 4 ? { subnet: p } : p ? { v6: true, subnet6: p } : undefined;
  }
  // flannel writes an absent IPv4 part as the zero subnet.
  const v4 = a === '' || a === '0.0.0.0-0' ? undefined : toPrefix(a);
  const v6 = toPrefix(b);
  if ((v4 === undefined && a !== '' && a !== '0.0.0.0-0') || (v4 && v4.family !== 4) || v6?.family !== 6) return undefined;
  return { subnet: v4, v6: true, subnet6: v6 };
}

export function leaseKeyName(subnet: Prefix): string {
  return `${subnet.addr.text}-${subnet.len}`;
}

export interface SubnetRange {
  min: IP;
  max: IP;
}

function rawIPField(v: unknown, field: string, origin: string): IP | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const ip = parseIP(v);
  if (!ip || ip.family !== 4) throw new ConfigError(`${origin}: ${field} ${JSON.stringify(v).slice(0, 40)} is not an IPv4 address`);
  return ip.value === 0n ? undefined : ip;
}

/** SubnetMin/SubnetMax as flannel computes them: the second and the last subnet by default. */
export function subnetRange(config: NetworkConfig, raw: RawConfig): SubnetRange {
  const net = config.network;
  const size = 1n << BigInt(32 - config.subnetLen);
  const netEnd = net.addr.value + (1n << BigInt(32 - net.len));
  const min = rawIPField(raw.subnetMin, 'SubnetMin', raw.origin) ?? ipFromValue(4, net.addr.value + size);
  const max = rawIPField(raw.subnetMax, 'SubnetMax', raw.origin) ?? ipFromValue(4, netEnd - size);
  for (const [field, ip] of [['SubnetMin', min], ['SubnetMax', max]] as const) {
    if (!prefixContainsIP(net, ip)) throw new ConfigError(`${raw.origin}: ${field} ${ip.text} is not in the Network ${net.text}`);
    if ((ip.value & mask(4, config.subnetLen)) !== ip.value) {
      throw new ConfigError(`${raw.origin}: ${field} ${ip.text} is not on a /${config.subnetLen} boundary`);
    }
  }
  if (min.value > max.value) throw new ConfigError(`${raw.origin}: SubnetMin ${min.text} is above SubnetMax ${max.text}`);
  return { min, max };
}

/** Whether a lease's subnet is still valid under the config (flannel: inside Network, SubnetLen long). */
export function fitsConfig(subnet: Prefix, config: NetworkConfig): boolean {
  return subnet.family === 4 && subnet.len === config.subnetLen && prefixContains(config.network, subnet);
}

/**
 * Picks a random free subnet of the config's length in [min, max], avoiding
 * every taken prefix (leases, reservations, keys of any length).
 */
export function pickFreeSubnet(config: NetworkConfig, range: SubnetRange, taken: Prefix[], rand: (n: number) => number = randomInt): Prefix | undefined {
  const size = 1n << BigInt(32 - config.subnetLen);
  const count = (range.max.value - range.min.value) / size + 1n;
  const intervals = taken.filter((p) => p.family === 4).map((p) => {
    const start = p.addr.value & mask(4, p.len);
    return [start, start + (1n << BigInt(32 - p.len)) - 1n] as const;
  });
  const at = (i: bigint) => makePrefix(ipFromValue(4, range.min.value + i * size), config.subnetLen);
  const free = (i: bigint) => {
    const s = range.min.value + i * size;
    const e = s + size - 1n;
    return !intervals.some(([a, b]) => a <= e && s <= b);
  };
  if (count <= 1n << 18n) {
    const all: bigint[] = [];
    for (let i = 0n; i < count; i++) if (free(i)) all.push(i);
    return all.length ? at(all[rand(all.length)]) : undefined;
  }
  // Huge ranges (a /8 cut in /30s): sample instead of listing millions.
  for (let tries = 0; tries < 10_000; tries++) {
    const i = BigInt(rand(2 ** 47)) % count;
    if (free(i)) return at(i);
  }
  return undefined;
}

/** The subnet a previous run wrote to subnet.env (FLANNEL_SUBNET=10.244.1.1/24). */
export function parseSubnetFile(text: string): Prefix | undefined {
  const m = /^FLANNEL_SUBNET=(\S+)\s*$/m.exec(text);
  const p = m ? parsePrefix(m[1]) : undefined;
  return p && p.family === 4 ? networkOf(p) : undefined;
}

/** A random locally administered unicast MAC, as flannel makes for its VTEP. */
export { randomVtepMAC };

export interface LeaseValue {
  PublicIP: string;
  PublicIPv6: null;
  BackendType: string;
  BackendData?: { VNI: number; VtepMAC: string };
}

export function leaseValue(publicIP: IP, config: NetworkConfig, mac: MAC | undefined): LeaseValue {
  const b = config.backend;
  const v: LeaseValue = { PublicIP: publicIP.text, PublicIPv6: null, BackendType: b.type };
  if (b.type === 'vxlan' && mac) v.BackendData = { VNI: b.vni, VtepMAC: mac.text };
  return v;
}

// ---- The source ----------------------------------------------------------------

/** A key under subnets/ and its value, parsed once per value (EtcdSource.parseLease). */
interface ParsedLease {
  value: string;
  /** The key is not a lease key (reported and skipped). */
  badKey: boolean;
  subnet?: Prefix;
  /** The IPv6 part of a dual-stack or IPv6-only lease key. */
  subnet6?: Prefix;
  /** Parsed JSON value, when it is an object. */
  obj?: Record<string, unknown>;
  tooLarge: boolean;
  /** The node without its expiry (that is per load); absent when the value is not a JSON object. */
  node?: RawNode;
}

/** A key under subnets/ as load() reads it: name, value, etcd lease ID ("0": none). */
interface LeaseEntry {
  name: string;
  value: string;
  lease: string;
}

interface ListedLease {
  name: string;
  kv: IKeyValue;
  value: string;
  subnet?: Prefix;
  subnet6?: Prefix;
  obj?: Record<string, unknown>;
}

interface Listing {
  revision: string;
  config?: IKeyValue;
  /** Lease keys only. */
  leases: ListedLease[];
  /** Every key under subnets/, in etcd's order. */
  entries: LeaseEntry[];
}

interface OwnLease {
  name: string;
  subnet: Prefix;
  value: string;
  /** etcd lease ID; "0" for a reservation (never renewed). */
  leaseID: string;
  renewAt: number;
}

class EtcdSource implements Source {
  readonly uri: string;
  private readonly parsed: EtcdURI;
  private readonly client: Etcd3;
  private readonly prefix: string;
  private closed = false;
  private readonly ttlCache = new Map<string, { expiresAt: Date; checkedAt: number }>();
  /**
   * Keys under subnets/ (name -> value, etcd lease) as of the listing at
   * lastRevision plus the watch events since; renewals (same value) are not changes.
   */
  private readonly known = new Map<string, { value: string; lease: string }>();
  /** known's names in etcd's key order; undefined after a name came or went. */
  private knownOrder: string[] | undefined;
  private knownConfig: string | undefined;
  /** Revision of the listing `known` was last set from: watch events up to it are in it already. */
  private lastRevision: string | undefined;
  /** Highest revision of a watch event applied to `known`. */
  private eventRevision = 0n;
  /** A watch runs and is not known to be disconnected. */
  private watchLive = false;
  /**
   * `known` is etcd as listed plus every event since, and a live watch keeps
   * it so: load() without `fresh` answers from it, no listing. False until a
   * watch runs, and from a disconnect, a cancel or stop() until a full listing
   * is taken with the watch live again.
   */
  private synced = false;
  /** Parsed leases by name, reused while the value stays the same. */
  private readonly parsedLeases = new Map<string, ParsedLease>();
  private readonly stoppers = new Set<() => void>();
  private own?: OwnLease;
  private ownTimer?: NodeJS.Timeout;
  /** Checks of the own lease run one at a time (a timer and a delete event may coincide). */
  private ownBusy: Promise<void> = Promise.resolve();
  private register_?: { opts: RegisterOptions; ttl: number; config: NetworkConfig; range: SubnetRange; publicIP: IP; mac?: MAC };

  constructor(uri: string, parsed: EtcdURI, options: IOptions) {
    this.uri = uri;
    this.parsed = parsed;
    this.prefix = parsed.prefix;
    this.client = new Etcd3(options);
  }

  private where(): string {
    return `etcd at ${this.parsed.endpoints.join(', ')}`;
  }

  private key(rest: string): string {
    return `${this.prefix}/${rest}`;
  }

  /**
   * Runs one etcd operation, retrying transient failures (an endpoint down,
   * a leader election) within a few seconds, then failing with a message that
   * names the endpoints.
   */
  private async rpc<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + OP_BUDGET_MS;
    let delay = 100;
    // Once every endpoint failed, etcd3's circuit breakers answer instead of
    // etcd; the error worth showing is the last one etcd (or the network) gave.
    let cause: Error | undefined;
    for (;;) {
      if (this.closed) throw new SourceError(`${this.where()}: ${what}: the source was closed`);
      try {
        return await fn();
      } catch (e) {
        const err = e as Error;
        if (!/circuit breaker/i.test(err.message)) cause = err;
        if (err instanceof EtcdAuthenticationFailedError) {
          throw new SourceError(`${this.where()}: authentication failed (${what})`, 'check OVLNET_ETCD_USERNAME and OVLNET_ETCD_PASSWORD');
        }
        if (err instanceof EtcdPermissionDeniedError) {
          throw new SourceError(`${this.where()}: permission denied (${what} under ${this.prefix})`, 'the etcd user needs read/write access to the prefix');
        }
        const transient = isRecoverableError(err) || err instanceof GRPCDeadlineExceededError
          || /leader changed|no leader|timed out|too many requests|unavailable/i.test(err.message);
        if (!transient || Date.now() + delay > deadline) {
          const msg = (cause ?? err).message.replace(/\s+/g, ' ').replace(/\.? ?Resolution note:.*$/, '')
            .replace('Last error: Error: ', 'last error: ').slice(0, 200);
          throw new SourceError(`cannot reach ${this.where()} (${what}): ${msg}`,
            transient ? 'is etcd running and reachable from this host? check the endpoints, the firewall and the etcd TLS flags' : undefined);
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  private callOpts() {
    return { deadline: Date.now() + CALL_TIMEOUT_MS };
  }

  /** One consistent read of the whole prefix (one revision). */
  private async list(): Promise<Listing> {
    const start = Buffer.from(`${this.prefix}/`);
    const end = Buffer.from(`${this.prefix}0`); // '/' + 1: every key under the prefix
    const res = await this.rpc(`reading ${this.prefix}`, () => this.client.kv.range({ key: start, range_end: end }, this.callOpts()));
    const listing: Listing = { revision: res.header.revision, leases: [], entries: [] };
    const subnets = `${this.prefix}/subnets/`;
    for (const kv of res.kvs) {
      const key = kv.key.toString('utf8');
      if (key === `${this.prefix}/config`) {
        listing.config = kv;
        continue;
      }
      if (!key.startsWith(subnets)) continue;
      const name = key.slice(subnets.length);
      const value = kv.value.toString('utf8');
      listing.entries.push({ name, value, lease: kv.lease });
      const p = this.parseLease(name, value);
      if (!p.badKey) listing.leases.push({ name, kv, value, subnet: p.subnet, subnet6: p.subnet6, obj: p.obj });
    }
    return listing;
  }

  /** Parses a key under subnets/ and its value; the same value again costs a map lookup. */
  private parseLease(name: string, value: string): ParsedLease {
    const hit = this.parsedLeases.get(name);
    if (hit && hit.value === value) return hit;
    const key = parseLeaseKey(name);
    let p: ParsedLease;
    if (!key) {
      p = { value, badKey: true, tooLarge: false };
    } else {
      const tooLarge = Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES;
      let obj: Record<string, unknown> | undefined;
      if (!tooLarge) {
        try {
          const o = JSON.parse(value) as unknown;
          if (isObject(o)) obj = o;
        } catch { /* reported by state(), with the key */ }
      }
      let node: RawNode | undefined;
      if (obj) {
        const data = obj.BackendData;
        const data6 = obj.BackendV6Data;
        node = {
          origin: `etcd lease ${this.prefix}/subnets/${name}`,
          name,
          publicIP: obj.PublicIP,
          subnet: key.subnet?.text,
          vtepMAC: isObject(data) ? data.VtepMAC : undefined,
          ...(key.subnet6 ? { publicIPv6: obj.PublicIPv6 ?? undefined, ipv6Subnet: key.subnet6.text, vtepMACv6: isObject(data6) ? data6.VtepMAC : undefined } : {}),
          backendType: obj.BackendType,
        };
      }
      p = { value, badKey: false, subnet: key.subnet, subnet6: key.subnet6, obj, tooLarge, node };
    }
    this.parsedLeases.set(name, p);
    return p;
  }

  /**
   * Expiry times of etcd leases. A full load re-reads those cached longer than
   * TTL_CACHE_MS (a KeepAlive moves an expiry without any event); an
   * event-driven one (`refresh` false) looks up only leases it has not seen
   * or that look expired.
   */
  private async expiries(leaseIDs: string[], warnings: string[], refresh: boolean): Promise<Map<string, Date>> {
    const now = Date.now();
    const out = new Map<string, Date>();
    const wanted = new Set(leaseIDs);
    const todo = [...wanted].filter((id) => {
      const c = this.ttlCache.get(id);
      if (c && (!refresh || now - c.checkedAt < TTL_CACHE_MS) && c.expiresAt.getTime() > now) {
        out.set(id, c.expiresAt);
        return false;
      }
      return true;
    });
    let failed = 0;
    const worker = async () => {
      for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
        try {
          const r = await this.client.leaseClient.leaseTimeToLive({ ID: id, keys: false }, this.callOpts());
          const ttl = Number(r.TTL);
          // TTL -1: the lease is gone; etcd deletes its keys any moment now.
          const expiresAt = new Date(Date.now() + Math.max(0, ttl) * 1000);
          out.set(id, expiresAt);
          this.ttlCache.set(id, { expiresAt, checkedAt: Date.now() });
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, todo.length) }, worker));
    if (failed) warnings.push(`could not read the expiry of ${failed} etcd lease${failed === 1 ? '' : 's'}`);
    for (const id of this.ttlCache.keys()) if (!wanted.has(id)) this.ttlCache.delete(id);
    return out;
  }

  private parseConfig(text: string | undefined): RawConfig {
    const origin = `etcd ${this.prefix}/config`;
    if (text === undefined) {
      throw new SourceError(`${this.where()}: no network config at ${this.prefix}/config`,
        `check the prefix (flannel's default is ${DEFAULT_PREFIX}; write another as etcd://HOST:PORT/PREFIX), or write the config: etcdctl put ${this.prefix}/config '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'`);
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

  /**
   * The cluster state. Without `fresh`, while a live watch keeps `known` in
   * sync, it is built from what the watch reported: no listing, leases
   * parsed once per value, expiries from the cache. Otherwise (a one-shot
   * command, the daemon's start and resync cycles, after a watch disconnect or
   * cancel) it lists the whole prefix in one consistent read.
   */
  async load(opts: LoadOptions = {}): Promise<ClusterState> {
    if (!opts.fresh && this.synced) {
      const order = this.knownOrder ??= [...this.known.keys()].sort(byKey);
      return this.state(this.knownConfig, order.map((name) => ({ name, ...this.known.get(name)! })), false);
    }
    const listing = await this.list();
    this.adopt(listing);
    return this.state(listing.config?.value.toString('utf8'), listing.entries, true);
  }

  /** Takes a listing as the base the watch events apply to, unless the watch is already past it. */
  private adopt(listing: Listing): void {
    const rev = BigInt(listing.revision);
    // A listing answered late (an older one than `known` has, or older than
    // events already applied) would take changes back: keep `known`.
    if ((this.lastRevision !== undefined && rev < BigInt(this.lastRevision)) || rev < this.eventRevision) return;
    this.known.clear();
    for (const e of listing.entries) this.known.set(e.name, { value: e.value, lease: e.lease });
    this.knownOrder = listing.entries.map((e) => e.name);
    this.knownConfig = listing.config?.value.toString('utf8');
    this.lastRevision = listing.revision;
    this.synced = this.watchLive;
  }

  private async state(configText: string | undefined, entries: LeaseEntry[], refresh: boolean): Promise<ClusterState> {
    const config = this.parseConfig(configText);
    const warnings: string[] = [];
    const parsed = entries.map((e) => this.parseLease(e.name, e.value));
    const ids: string[] = [];
    for (const [i, p] of parsed.entries()) {
      if (p.node && entries[i].lease !== '0') ids.push(entries[i].lease);
      if (p.badKey) warnings.push(`etcd key ${JSON.stringify(`${this.prefix}/subnets/${entries[i].name}`.slice(0, 120))}: not a lease key (expected like 10.244.1.0-24); skipped`);
    }
    const expiry = await this.expiries(ids, warnings, refresh);
    const nodes: RawNode[] = [];
    for (const [i, p] of parsed.entries()) {
      const e = entries[i];
      if (p.badKey) continue;
      if (!p.node) {
        warnings.push(`etcd lease ${this.prefix}/subnets/${e.name}: value is not a JSON object${p.tooLarge ? ' (too large)' : ''}; skipped`);
        continue;
      }
      nodes.push({ ...p.node, expiresAt: e.lease === '0' ? null : expiry.get(e.lease) });
    }
    if (this.parsedLeases.size > entries.length) {
      const names = new Set(entries.map((e) => e.name));
      for (const name of this.parsedLeases.keys()) if (!names.has(name)) this.parsedLeases.delete(name);
    }
    return { config, nodes, warnings, namedNodes: false };
  }

  // ---- watch ------------------------------------------------------------

  watch(h: WatchHandlers): () => void {
    let stopped = false;
    let watcher: Watcher | undefined;
    let retry: NodeJS.Timeout | undefined;
    let backoff = 500;
    const subnets = `${this.prefix}/subnets/`;
    const configKey = `${this.prefix}/config`;

    /** Whether an event is newer than the listing `known` was set from (older ones are in it). */
    const newer = (kv: IKeyValue): boolean => {
      if (!kv.mod_revision) {
        this.synced = false; // cannot place it: the next load lists
        return true;
      }
      const rev = BigInt(kv.mod_revision);
      if (this.lastRevision !== undefined && rev <= BigInt(this.lastRevision)) return false;
      if (rev > this.eventRevision) this.eventRevision = rev;
      return true;
    };
    const onPut = (kv: IKeyValue) => {
      const key = kv.key.toString('utf8');
      if (key !== configKey && !key.startsWith(subnets)) return;
      if (!newer(kv)) return;
      const value = kv.value.toString('utf8');
      if (key === configKey) {
        if (this.knownConfig !== value) { this.knownConfig = value; h.onChange(); }
        return;
      }
      const name = key.slice(subnets.length);
      const had = this.known.get(name);
      if (!had) this.knownOrder = undefined;
      // The etcd lease is kept even when the value is the same (a renewal): it carries the expiry.
      this.known.set(name, { value, lease: kv.lease });
      // A renewal rewrites the same value with a new etcd lease: nothing to reconcile.
      if (had?.value !== value) h.onChange();
    };
    const onDelete = (kv: IKeyValue) => {
      // A delete event carries no value: what was removed is the cached lease.
      const key = kv.key.toString('utf8');
      if (key !== configKey && !key.startsWith(subnets)) return;
      if (this.own && key === this.key(`subnets/${this.own.name}`)) this.scheduleOwnCheck(0);
      if (!newer(kv)) return;
      if (key === configKey) this.knownConfig = undefined;
      else if (this.known.delete(key.slice(subnets.length))) this.knownOrder = undefined;
      h.onChange();
    };
    const lost = () => {
      this.watchLive = false;
      this.synced = false;
    };

    const start = (fromRevision: bigint) => {
      if (stopped) return;
      let disconnected = false;
      const w = this.client.watch().prefix(`${this.prefix}/`).startRevision(String(fromRevision)).watcher();
      watcher = w;
      // `known` is the listing at lastRevision (+ events after it, which this
      // watch delivers again): in sync from here, as long as the watch lives.
      this.watchLive = true;
      this.synced = this.lastRevision !== undefined && fromRevision === BigInt(this.lastRevision) + 1n;
      w.on('put', onPut);
      w.on('delete', onDelete);
      w.on('connected', () => {
        backoff = 500;
        if (watcher !== w || stopped) return;
        this.watchLive = true;
        // Events may have been missed while the stream was down: the next load lists in full.
        if (disconnected) { disconnected = false; this.synced = false; h.onChange(); }
      });
      w.on('disconnected', (err: Error) => {
        if (watcher === w) lost();
        if (!disconnected && !stopped) h.onError(new SourceError(`${this.where()}: watch disconnected (${err.message.slice(0, 120)}); reconnecting`));
        disconnected = true;
      });
      // etcd cancels a watch whose start revision was compacted (and on other
      // server-side errors): list again and watch from the new revision.
      w.on('error', (err: Error) => {
        w.removeAllListeners();
        w.on('error', () => {});
        w.cancel().catch(() => {});
        if (watcher === w) { watcher = undefined; lost(); }
        if (stopped) return;
        h.onError(new SourceError(`${this.where()}: watch cancelled (${err.message.slice(0, 120) || 'compacted'}); listing again`));
        relist();
      });
    };

    const relist = () => {
      if (stopped) return;
      this.load({ fresh: true }).then(() => {
        if (stopped) return;
        backoff = 500;
        h.onChange();
        start(BigInt(this.lastRevision ?? '0') + 1n);
      }, (e: Error) => {
        if (stopped) return;
        h.onError(e);
        retry = setTimeout(relist, backoff);
        backoff = Math.min(backoff * 2, 30_000);
      });
    };

    if (this.lastRevision === undefined) relist();
    else start(BigInt(this.lastRevision) + 1n);

    const stop = () => {
      if (stopped) return;
      stopped = true;
      lost();
      if (retry) clearTimeout(retry);
      if (watcher) {
        const w = watcher;
        w.removeAllListeners();
        w.on('error', () => {});
        w.cancel().catch(() => {});
      }
      this.stoppers.delete(stop);
    };
    this.stoppers.add(stop);
    return stop;
  }

  // ---- registration -------------------------------------------------------

  async register(opts: RegisterOptions): Promise<Registration> {
    const ttl = opts.leaseTTLSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 5 || ttl > 10 * 365 * 86400) {
      throw new UsageError(`lease TTL ${ttl} s: expected a whole number of seconds from 5 up`);
    }
    const listing = await this.list();
    const rawConfig = this.parseConfig(listing.config?.value.toString('utf8'));
    const config = validateConfig(rawConfig);
    // Leases are allocated from the IPv4 network only; a dual-stack config
    // gets an IPv4 lease (its IPv6 half is then absent: reached over IPv4).
    if (config.network.family !== 4) {
      throw new SourceError(`etcd ${this.prefix}/config: registering a lease in an IPv6-only network is not supported`,
        'write this node\'s lease yourself (flannel\'s format), or run flanneld to allocate it');
    }
    const range = subnetRange(config, rawConfig);
    const publicIP = await resolvePublicIP(opts, config);
    let existingMAC: MAC | undefined;
    if (opts.existingVtepMAC) {
      const m = parseMAC(opts.existingVtepMAC);
      if (m && !nonUnicastMACReason(m)) existingMAC = m;
    }
    this.register_ = { opts, ttl, config, range, publicIP, mac: existingMAC };
    const own = await this.acquire(listing);
    this.own = own;
    this.scheduleOwnCheck(Math.min(OWN_KEY_CHECK_MS, Math.max(0, own.renewAt - Date.now())));
    const mac = (JSON.parse(own.value) as LeaseValue).BackendData?.VtepMAC;
    return { publicIP: publicIP.text, subnet: own.subnet.text, vtepMAC: mac };
  }

  private async grant(ttl: number): Promise<string> {
    const r = await this.rpc('granting a lease', () => this.client.leaseClient.leaseGrant({ TTL: ttl, ID: 0 }, this.callOpts()));
    return r.ID;
  }

  private renewAt(ttl: number): number {
    return Date.now() + (ttl - Math.min(RENEW_MARGIN_SECONDS, ttl / 2)) * 1000;
  }

  /** Finds or creates this node's lease; see README "Registration". */
  private async acquire(first?: Listing): Promise<OwnLease> {
    const r = this.register_!;
    const { config, range, publicIP, ttl } = r;
    const subnetsDir = `${this.prefix}/subnets/`;
    let listing = first;
    let previous = r.opts.subnetFile ? await readPrevSubnet(r.opts.subnetFile) : undefined;
    const tried = new Set<string>();
    for (let attempt = 0; attempt < MAX_ACQUIRE_ATTEMPTS; attempt++) {
      listing ??= await this.list();
      const current = listing;
      listing = undefined;
      const mine = current.leases.filter((l) => l.obj && l.subnet && parseIP(l.obj.PublicIP)?.text === publicIP.text);
      // 1. Our own lease (same public IP), when it still fits the config.
      const fit = mine.find((l) => fitsConfig(l.subnet!, config));
      // The MAC this node published before (peers have it in their fdb) wins.
      for (const l of fit ? [fit, ...mine] : mine) {
        const data = l.obj!.BackendData;
        const published = isObject(data) ? parseMAC(data.VtepMAC) : undefined;
        if (published && !nonUnicastMACReason(published)) { r.mac = published; break; }
      }
      if (fit) {
        const mac = r.mac ?? randomVtepMAC();
        r.mac = mac;
        const value = JSON.stringify(leaseValue(publicIP, config, mac));
        const reservation = fit.kv.lease === '0';
        const leaseID = reservation ? '0' : await this.grant(ttl);
        const put = this.client.put(subnetsDir + fit.name).value(value);
        if (!reservation) put.lease(leaseID);
        const res = await this.rpc('updating this node\'s lease', () =>
          this.client.if(subnetsDir + fit.name, 'Mod', '==', fit.kv.mod_revision).then(put).options(this.callOpts()).commit());
        if (res.succeeded) {
          return { name: fit.name, subnet: fit.subnet!, value, leaseID, renewAt: reservation ? Infinity : this.renewAt(ttl) };
        }
        continue; // changed under us: look again
      }
      // Our stale leases from an older config block nothing but show a wrong peer.
      for (const stale of mine) {
        await this.rpc('deleting a stale lease', () => this.client.if(subnetsDir + stale.name, 'Mod', '==', stale.kv.mod_revision)
          .then(this.client.delete().key(subnetsDir + stale.name)).options(this.callOpts()).commit());
      }
      const taken = current.leases.map((l) => l.subnet ?? parseLeaseKey(l.name)?.subnet).filter((p): p is Prefix => Boolean(p));
      for (const t of tried) taken.push(parsePrefix(t)!);
      // 2. The subnet this host had before (subnet.env), when free and valid.
      let subnet: Prefix | undefined;
      if (previous && fitsConfig(previous, config) && previous.addr.value >= range.min.value && previous.addr.value <= range.max.value
        && !taken.some((t) => prefixContains(t, previous!) || prefixContains(previous!, t))) {
        subnet = previous;
      }
      previous = undefined;
      // 3. A random free subnet.
      subnet ??= pickFreeSubnet(config, range, taken);
      if (!subnet) {
        throw new SourceError(`${this.where()}: no free /${config.subnetLen} subnet left in ${range.min.text}..${range.max.text} of ${config.network.text} (${current.leases.length} leases)`,
          'remove stale leases (etcdctl del), or widen Network/SubnetMin/SubnetMax in the config');
      }
      const mac = r.mac ?? randomVtepMAC();
      r.mac = mac;
      const name = leaseKeyName(subnet);
      const value = JSON.stringify(leaseValue(publicIP, config, mac));
      const leaseID = await this.grant(ttl);
      const res = await this.rpc('creating this node\'s lease', () =>
        this.client.if(subnetsDir + name, 'Version', '==', 0)
          .then(this.client.put(subnetsDir + name).value(value).lease(leaseID)).options(this.callOpts()).commit());
      if (res.succeeded) return { name, subnet, value, leaseID, renewAt: this.renewAt(ttl) };
      // Lost the race for this subnet: another node created it first. Try another.
      tried.add(subnet.text);
      this.revoke(leaseID);
    }
    throw new SourceError(`${this.where()}: could not register a subnet after ${MAX_ACQUIRE_ATTEMPTS} attempts (other nodes keep taking them)`);
  }

  private revoke(leaseID: string): void {
    if (leaseID === '0') return;
    this.client.leaseClient.leaseRevoke({ ID: leaseID }, this.callOpts()).catch(() => {});
  }

  private scheduleOwnCheck(ms: number): void {
    if (this.closed || !this.own) return;
    if (this.ownTimer) clearTimeout(this.ownTimer);
    this.ownTimer = setTimeout(() => {
      this.ownTimer = undefined;
      this.ownBusy = this.ownBusy.then(() => this.checkOwn()).then(
        () => this.scheduleOwnCheck(Math.min(OWN_KEY_CHECK_MS, Math.max(0, (this.own?.renewAt ?? Infinity) - Date.now()))),
        // etcd unreachable: try again soon; the lease lives on until its TTL.
        () => this.scheduleOwnCheck(Math.min(10_000, OWN_KEY_CHECK_MS)),
      );
    }, ms);
    this.ownTimer.unref?.();
  }

  /**
   * Keeps this node's lease: renews it ahead of expiry (a new etcd lease and a
   * put, like flannel), puts it back when it was deleted, and registers again
   * (same MAC) when another node took the subnet.
   */
  private async checkOwn(): Promise<void> {
    const own = this.own;
    const r = this.register_;
    if (!own || !r || this.closed) return;
    const key = this.key(`subnets/${own.name}`);
    const due = Date.now() >= own.renewAt;
    const leaseID = due ? await this.grant(r.ttl) : own.leaseID;
    const put = this.client.put(key).value(own.value);
    if (leaseID !== '0') put.lease(leaseID);
    // Put only when ours (same value) and due, or when missing; else leave it.
    const ours = await this.rpc('renewing this node\'s lease', () => this.client.if(key, 'Value', '==', own.value)
      .then(...(due ? [put] : [])).options(this.callOpts()).commit());
    if (ours.succeeded) {
      if (due) {
        if (own.leaseID !== leaseID) this.revoke(own.leaseID);
        this.own = { ...own, leaseID, renewAt: own.leaseID === '0' ? Infinity : this.renewAt(r.ttl) };
      }
      return;
    }
    const recreate = this.client.put(key).value(own.value);
    const newID = due ? leaseID : await this.grant(r.ttl);
    recreate.lease(newID);
    const res = await this.rpc('re-creating this node\'s lease', () => this.client.if(key, 'Version', '==', 0).then(recreate).options(this.callOpts()).commit());
    if (res.succeeded) {
      this.own = { ...own, leaseID: newID, renewAt: this.renewAt(r.ttl) };
      return;
    }
    this.revoke(newID);
    // Another node holds our subnet now: register anew (a new subnet, the same MAC).
    this.own = await this.acquire();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const stop of [...this.stoppers]) stop();
    if (this.ownTimer) clearTimeout(this.ownTimer);
    this.closed = true;
    // The lease stays: a restart reuses it (same subnet, same MAC).
    this.client.close();
  }
}

async function readPrevSubnet(path: string): Promise<Prefix | undefined> {
  try {
    return parseSubnetFile(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** --public-ip, else the first IPv4 address of --iface, of the default route's device, or the only candidate. */
async function resolvePublicIP(opts: RegisterOptions, config: NetworkConfig): Promise<IP> {
  if (opts.publicIP !== undefined) {
    const ip = parseIP(opts.publicIP);
    if (!ip || ip.family !== 4) throw new UsageError(`--public-ip ${opts.publicIP}: not an IPv4 address`);
    return ip;
  }
  const { readHost } = await import('../host/read.js');
  const host = await readHost(opts.netns);
  if (opts.iface && !host.links.has(opts.iface)) throw new NodeError(`--iface ${opts.iface}: no such device on this host`);
  const { ip, candidates: all } = choosePublicIP(host.links, host.routes, opts.iface, config.network);
  if (ip) return ip;
  if (opts.iface) throw new NodeError(`--iface ${opts.iface} has no IPv4 address to publish`, 'pass --public-ip');
  if (all.length === 1) return all[0];
  throw new NodeError(`cannot tell this host's public IP (${all.length ? `candidates ${all.map((a) => a.text).join(', ')}` : 'no IPv4 address'}, no default route)`,
    'pass --public-ip IP or --iface DEV');
}

function readPEM(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** etcd's key order (bytes; lease names are ASCII). */
function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function openEtcdSource(uri: string, opts: SourceOptions): Promise<Source> {
  const parsed = parseEtcdURI(uri);
  const options: IOptions = {
    hosts: parsed.endpoints.map((e) => `${parsed.tls ? 'https' : 'http'}://${e}`),
    grpcOptions: {
      // Large clusters list thousands of leases in one answer.
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
  };
  const tlsFlags = [opts.etcdCaFile, opts.etcdCertFile, opts.etcdKeyFile].some((f) => f !== undefined);
  if (tlsFlags && !parsed.tls) {
    throw new UsageError(`source ${uri}: --etcd-cafile/--etcd-certfile/--etcd-keyfile need a TLS source: write etcds://…`);
  }
  if ((opts.etcdCertFile === undefined) !== (opts.etcdKeyFile === undefined)) {
    throw new UsageError('--etcd-certfile and --etcd-keyfile go together');
  }
  if (parsed.tls && tlsFlags) {
    options.credentials = {
      rootCertificate: opts.etcdCaFile ? readPEM(opts.etcdCaFile, '--etcd-cafile') : (undefined as unknown as Buffer),
      certChain: opts.etcdCertFile ? readPEM(opts.etcdCertFile, '--etcd-certfile') : undefined,
      privateKey: opts.etcdKeyFile ? readPEM(opts.etcdKeyFile, '--etcd-keyfile') : undefined,
    };
  }
  const username = opts.etcdUsername ?? process.env.OVLNET_ETCD_USERNAME;
  const password = opts.etcdPassword ?? process.env.OVLNET_ETCD_PASSWORD;
  if (username !== undefined || password !== undefined) {
    if (!username || password === undefined) throw new UsageError('set both --etcd-username and --etcd-password (or OVLNET_ETCD_USERNAME and OVLNET_ETCD_PASSWORD), or neither');
    options.auth = { username, password };
  }
  return new EtcdSource(uri, parsed, options);
}
