// The etcd source: flannel's etcd v3 schema, read, watched and registered in.
//
//   <prefix>/config                 network config (JSON, flannel's spelling)
//   <prefix>/subnets/10.244.1.0-24  one lease per node (codec.ts); an etcd
//                                   lease (TTL) unless it is a reservation
//
// This class is the watch cache: what a listing gave plus every watch event
// since, answered without a listing while the watch lives. The calls are in
// client.ts, the lease format in codec.ts, this node's lease in lease.ts.
// A lease's node name is its key; the local node is the lease this daemon
// holds once registered, else found by public IP.
import type { IKeyValue, IOptions, IResponseHeader, Watcher } from 'etcd3';
import { backendOf } from '../../backends/registry.js';
import { SourceError } from '../../errors.js';
import type { ClusterState, RawConfig, RawNode } from '../../model/types.js';
import { validateConfig } from '../../validate/config.js';
import { choosePublicIPv4, choosePublicIPv6, needsHostRead } from '../registration.js';
import type { LoadOptions, Registration, RegisterOptions, Source, SourceUpdate, WatchHandlers } from '../types.js';
import { subnetRange, subnetRange6 } from './allocate.js';
import { EtcdClient, type Listing } from './client.js';
import { cachedLease, leaseName, leaseNodeName, parseConfigText, parseLease, parseLeaseKey, type CachedLease } from './codec.js';
import { nodeCarriesIP } from './own.js';
import { DEFAULT_LEASE_TTL_SECONDS, LeaseKeeper, checkTTL, registeredEntries, type OwnLease, type RegisteredView } from './lease.js';
import type { EtcdURI } from './uri.js';

/** A key under subnets/ as load() reads it: name, value, etcd lease ID ("0": none). */
interface LeaseEntry { name: string; value: string; lease: string }
/** A cached key under subnets/: value, etcd lease, the value parsed once (the only parsed copy kept). */
interface KnownLease { value: string; lease: string; parsed: CachedLease | undefined }

export class EtcdSource implements Source {
  readonly uri: string;
  /** watch() after a load() starts at the listing's revision + 1 (no listing of its own). */
  readonly watchResumesLoad = true;
  private readonly client: EtcdClient;
  private readonly prefix: string;
  private closed = false;
  /**
   * Keys under subnets/ (name -> value, etcd lease) as of the listing at
   * lastRevision plus the watch events since; renewals (same value) are not changes.
   */
  private known = new Map<string, KnownLease>();
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
   * watch runs, and from a disconnect, a cancel, an etcd reset or stop()
   * until a full listing is taken with the watch live again.
   */
  private synced = false;
  /** etcd went back (restore, wiped data): the next listing is taken whatever its revision. */
  private reset = false;
  /**
   * For update(): names the watch changed since the state last given to the
   * caller, and whether anything else did (the config, a relist, a reset);
   * names that state warned about; its own-lease view (strays depend on it).
   */
  private readonly dirty = new Set<string>();
  private dirtyAll = true;
  private warned = new Set<string>();
  private givenOwn = '';
  private readonly stoppers = new Set<() => void>();
  /** Running watches' reaction to an etcd reset: list again and watch from there. */
  private readonly resetHandlers = new Set<(why: string) => void>();
  private keeper?: LeaseKeeper;
  /**
   * The registration's listing and what its write changed there (lease.ts),
   * for the next load (the daemon's first cycle) instead of a second listing
   * of the same leases; dropped by any read. See read().
   */
  private registered?: { view: RegisteredView; own: OwnLease };

  /**
   * `leaseExpiries` false: no lease's expiry is looked up (expiresAt stays
   * undefined; null for a reservation, known from the listing alone).
   */
  constructor(uri: string, parsed: EtcdURI, options: IOptions, private readonly leaseExpiries = true) {
    this.uri = uri;
    this.prefix = parsed.prefix;
    this.client = new EtcdClient(parsed, options);
    this.client.onReset = (why) => this.onStoreReset(why);
  }

  private where(): string {
    return this.client.where();
  }

  private key(rest: string): string {
    return `${this.prefix}/${rest}`;
  }

  /** etcd answered from an older store than before: forget what the cache holds about revisions. */
  private onStoreReset(why: string): void {
    this.dirtyAll = true;
    this.lastRevision = undefined;
    this.eventRevision = 0n;
    this.synced = false;
    this.reset = true;
    // Our lease may be gone with the old data: check it now, not in a minute.
    this.keeper?.schedule(0);
    for (const h of [...this.resetHandlers]) h(why);
  }

  /** Parses a key under subnets/ and its value, kept in `known` while the value is the one cached there. */
  private parseLease(name: string, value: string): CachedLease {
    const k = this.known.get(name);
    if (k?.parsed && k.value === value) return k.parsed;
    const p = cachedLease(parseLease(this.prefix, name, value));
    if (k?.value === value) k.parsed = p;
    return p;
  }

  private parseConfig(text: string | undefined): RawConfig {
    return parseConfigText(this.prefix, this.where(), text);
  }

  private entriesOf(listing: Listing): LeaseEntry[] {
    const dirBytes = Buffer.byteLength(`${this.prefix}/subnets/`);
    return listing.subnets.map((kv) => ({ name: leaseName(kv.key, dirBytes), value: kv.value.toString('utf8'), lease: kv.lease }));
  }

  /**
   * The cluster state. Without `fresh`, while a live watch keeps `known` in
   * sync, it is built from what the watch reported: no listing, leases
   * parsed once per value, expiries from the cache. The first load after
   * register() takes the registration's listing. Otherwise (a one-shot
   * command, the daemon's resync cycles, after a watch disconnect or cancel,
   * an etcd reset) it lists the config and the subnets range at one revision.
   */
  load(opts: LoadOptions = {}): Promise<ClusterState> {
    return this.read(opts, true);
  }

  /** `given`: the state goes to the caller (what the next update() is relative to); false for the watch's own relist. */
  private async read(opts: LoadOptions, given: boolean): Promise<ClusterState> {
    if (given) {
      // What changes from here on is what the next update() reports.
      this.dirty.clear();
      this.dirtyAll = false;
    }
    const registered = this.registered;
    this.registered = undefined;
    if (!opts.fresh && this.synced) {
      const order = this.knownOrder ??= [...this.known.keys()].sort(byKey);
      return this.state(this.knownConfig, order.map((name) => { const k = this.known.get(name)!; return { name, value: k.value, lease: k.lease }; }), false, given);
    }
    // The first read after register(), before any other: etcd as registered,
    // from its listing at revision R, no listing. A watch started after it
    // goes on from R + 1 (watch()): what other nodes wrote since R comes as
    // its events, and its first cycle follows them.
    const first = registered && given && !this.reset && this.lastRevision === undefined ? registered : undefined;
    const listing = first?.view.listing ?? await this.client.list();
    const entries = first ? registeredEntries(this.entriesOf(listing), first.view, first.own) : this.entriesOf(listing);
    this.adopt(listing, entries, given, first?.view.parsed);
    return this.state(listing.config?.value.toString('utf8'), entries, true, given);
  }

  /**
   * The leases the watch changed since the last state given out, parsed
   * alone, while the watch keeps the cache in sync and nothing but leases
   * changed; else the whole state (from the cache, as load() without fresh).
   */
  async update(): Promise<SourceUpdate> {
    const full = { state: () => this.load() };
    const own = this.ownKey();
    if (!this.synced || this.dirtyAll || own !== this.givenOwn) return full;
    const names = [...this.dirty];
    this.dirty.clear();
    const upserts: RawNode[] = [];
    const deletes: string[] = [];
    for (const name of names) {
      // A lease the last state warned about (or skipped) goes through the full path.
      if (this.warned.has(name)) return full;
      const k = this.known.get(name);
      const key = parseLeaseKey(name);
      // A key spelled otherwise than flannel writes it is named by its canonical spelling: two keys could share one name.
      if (!key || leaseNodeName(key) !== name) return full;
      if (!k) {
        deletes.push(name);
        continue;
      }
      const p = this.parseLease(name, k.value);
      if (p.badKey || !p.node) return full;
      const keeper = this.keeper;
      if (keeper?.own && name !== keeper.own.name && nodeCarriesIP(p.node, keeper.publicIP)) return full;
      let expiresAt: Date | null | undefined = null;
      if (k.lease !== '0' && !this.leaseExpiries) {
        expiresAt = undefined;
      } else if (k.lease !== '0') {
        const warnings: string[] = [];
        expiresAt = (await this.client.expiries([k.lease], warnings, false, false)).get(k.lease);
        if (warnings.length) return full;
      }
      upserts.push({ ...p.node, expiresAt });
    }
    return { delta: { upserts, deletes }, ...full };
  }

  /** The own lease as stray detection sees it. */
  private ownKey(): string {
    const own = this.keeper?.own;
    return own ? `${own.name} ${this.keeper!.publicIP.text}` : '';
  }

  /**
   * Takes a listing as the base the watch events apply to, unless the watch
   * is already past it. `parsed`: leases parsed from it already (registration).
   */
  private adopt(listing: Listing, entries: LeaseEntry[], given: boolean, parsed?: Map<string, CachedLease>): void {
    const rev = BigInt(listing.revision);
    // A listing answered late (an older one than `known` has, or older than
    // events already applied) would take changes back: keep `known`. After
    // an etcd reset, older is what etcd is now.
    if (!this.reset && ((this.lastRevision !== undefined && rev < BigInt(this.lastRevision)) || rev < this.eventRevision)) return;
    this.reset = false;
    // A listing the caller does not get (the watch's relist): what it changes against `known` is for the next update().
    if (!given && !this.dirtyAll) {
      if (listing.config?.value.toString('utf8') !== this.knownConfig) this.dirtyAll = true;
      const listed = new Set<string>();
      for (const e of entries) {
        listed.add(e.name);
        if (this.known.get(e.name)?.value !== e.value) this.dirty.add(e.name);
      }
      for (const name of this.known.keys()) if (!listed.has(name)) this.dirty.add(name);
    }
    const next = new Map<string, KnownLease>();
    for (const e of entries) {
      const had = this.known.get(e.name);
      next.set(e.name, { value: e.value, lease: e.lease, parsed: had?.value === e.value ? had.parsed : parsed?.get(e.name) });
    }
    this.known = next;
    this.knownOrder = entries.map((e) => e.name);
    this.knownConfig = listing.config?.value.toString('utf8');
    this.lastRevision = listing.revision;
    this.synced = this.watchLive;
  }

  private async state(configText: string | undefined, entries: LeaseEntry[], refresh: boolean, given: boolean): Promise<ClusterState> {
    const config = this.parseConfig(configText);
    const warnings: string[] = [];
    const parsed = entries.map((e) => this.parseLease(e.name, e.value));
    const ids: string[] = [];
    for (const [i, p] of parsed.entries()) {
      if (p.node && entries[i].lease !== '0' && this.leaseExpiries) ids.push(entries[i].lease);
      if (p.badKey) warnings.push(`etcd key ${JSON.stringify(`${this.prefix}/subnets/${entries[i].name}`.slice(0, 120))}: not a lease key (expected like 10.244.1.0-24); skipped`);
    }
    // Expiries off: the client's expiry cache stays empty (not even a call that would prune it).
    const expiry = this.leaseExpiries ? await this.client.expiries(ids, warnings, refresh) : new Map<string, Date>();
    const nodes: RawNode[] = [];
    const own = this.keeper?.own;
    // A failed expiry read is no lease's warning: the next update() reads in full.
    if (given && warnings.length > parsed.filter((p) => p.badKey).length) this.dirtyAll = true;
    const warned = new Set<string>();
    if (given) this.givenOwn = this.ownKey();
    for (const [i, p] of parsed.entries()) {
      const e = entries[i];
      if (p.badKey) {
        warned.add(e.name);
        continue;
      }
      // Once registered, this node is the lease it holds; another lease with
      // its public IP is a stray (a copy, a stale writer) and must not take it over.
      if (own && e.name !== own.name && nodeCarriesIP(p.node, this.keeper!.publicIP)) {
        warnings.push(`etcd lease ${this.prefix}/subnets/${e.name}: claims this node's public IP ${this.keeper!.publicIP.text}, but this node holds ${this.prefix}/subnets/${own.name}; ignored (delete the stray lease)`);
        warned.add(e.name);
        continue;
      }
      if (!p.node) {
        warnings.push(`etcd lease ${this.prefix}/subnets/${e.name}: value is not a JSON object${p.tooLarge ? ' (too large)' : ''}; skipped`);
        warned.add(e.name);
        continue;
      }
      nodes.push({ ...p.node, expiresAt: e.lease === '0' ? null : expiry.get(e.lease) });
    }
    if (given) this.warned = warned;
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
        if (this.knownConfig !== value) { this.knownConfig = value; this.dirtyAll = true; h.onChange(); }
        return;
      }
      const name = leaseName(kv.key, Buffer.byteLength(subnets));
      const had = this.known.get(name);
      if (!had) this.knownOrder = undefined;
      // Our own lease changed by someone else: check (and rewrite) it now.
      if (this.keeper?.own?.name === name && this.keeper.own.value !== value) this.keeper.schedule(0);
      // The etcd lease is kept even when the value is the same (a renewal): it carries the expiry.
      if (had?.value === value) had.lease = kv.lease;
      else this.known.set(name, { value, lease: kv.lease, parsed: undefined });
      // A renewal rewrites the same value with a new etcd lease: nothing to reconcile.
      if (had?.value !== value) {
        this.dirty.add(name);
        h.onChange();
      }
    };
    const onDelete = (kv: IKeyValue) => {
      // A delete event carries no value: what was removed is the cached lease.
      const key = kv.key.toString('utf8');
      if (key !== configKey && !key.startsWith(subnets)) return;
      if (this.keeper?.own && key === this.key(`subnets/${this.keeper.own.name}`)) this.keeper.schedule(0);
      if (!newer(kv)) return;
      if (key === configKey) {
        this.knownConfig = undefined;
        this.dirtyAll = true;
      } else if (this.known.delete(key.slice(subnets.length))) {
        this.knownOrder = undefined;
        this.dirty.add(key.slice(subnets.length));
      }
      h.onChange();
    };
    const lost = () => {
      this.watchLive = false;
      this.synced = false;
    };

    const start = (fromRevision: bigint) => {
      if (stopped) return;
      let disconnected = false;
      const w = this.client.etcd.watch().prefix(`${this.prefix}/`).startRevision(String(fromRevision)).watcher();
      watcher = w;
      // The store as seen when the watch (re)connects, events included: its
      // answer must not be older (the events were committed before it).
      const seenNow = () => {
        const m = this.client.seen();
        return m && m.revision < this.eventRevision ? { ...m, revision: this.eventRevision } : m;
      };
      let before = seenNow();
      w.on('connecting', () => { before = seenNow(); });
      // `known` is the listing at lastRevision (+ events after it, which this
      // watch delivers again): in sync from here, as long as the watch lives.
      this.watchLive = true;
      this.synced = this.lastRevision !== undefined && fromRevision === BigInt(this.lastRevision) + 1n;
      w.on('put', onPut);
      w.on('delete', onDelete);
      w.on('connected', (res: { header?: IResponseHeader }) => {
        backoff = 500;
        if (watcher !== w || stopped) return;
        // A reset etcd (restored, wiped) accepts a watch from a revision it
        // has not reached yet: that watch would never report anything.
        this.client.observe(res.header, before);
        if (watcher !== w) return;
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

    // etcd went back (seen by any answer): drop this watch, list, watch from the new revision.
    const onReset = (why: string) => {
      if (stopped) return;
      if (watcher) {
        const w = watcher;
        watcher = undefined;
        w.removeAllListeners();
        w.on('error', () => {});
        w.cancel().catch(() => {});
      }
      lost();
      h.onError(new SourceError(`${this.where()}: etcd went back (${why}): restored from a snapshot, or its data was wiped? listing again`));
      if (retry) clearTimeout(retry);
      relist();
    };
    this.resetHandlers.add(onReset);

    // Only the newest relist starts a watch (a reset may come while one is under way).
    let generation = 0;
    const relist = () => {
      if (stopped) return;
      const gen = ++generation;
      // Not given to the caller: what the listing changed is marked for the next update() (adopt).
      this.read({ fresh: true }, false).then(() => {
        if (stopped || gen !== generation) return;
        backoff = 500;
        h.onChange();
        start(BigInt(this.lastRevision ?? '0') + 1n);
      }, (e: Error) => {
        if (stopped || gen !== generation) return;
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
      this.resetHandlers.delete(onReset);
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
    checkTTL(ttl);
    const listing = await this.client.list();
    const rawConfig = this.parseConfig(listing.config?.value.toString('utf8'));
    const config = validateConfig(rawConfig);
    if (config.network.family !== 4) {
      throw new SourceError(`etcd ${this.prefix}/config: registering a lease in an IPv6-only network is not supported`,
        'write this node\'s lease yourself (flannel\'s format: 0.0.0.0-0&PREFIX-LEN), or run flanneld to allocate it');
    }
    const range = subnetRange(config, rawConfig);
    const range6 = subnetRange6(config, rawConfig);
    let host;
    if (needsHostRead(opts, config)) {
      const { readHost } = await import('../../host/read.js');
      host = await readHost(opts.netns);
    }
    const publicIP = choosePublicIPv4(opts, config, host);
    const publicIPv6 = config.ipv6 ? choosePublicIPv6(opts, config.ipv6.network, host, publicIP) : undefined;
    // What the backend keeps on the host (wireguard: the key file's public key), once per registration.
    const local = await backendOf(config).localLeaseData?.(config.backend, { netns: opts.netns });
    this.keeper?.stop();
    this.keeper = new LeaseKeeper(this.client, { opts, ttl, config, range, range6, publicIP, publicIPv6, local });
    const { registration, view } = await this.keeper.start(listing);
    this.registered = { view, own: this.keeper.own! };
    return registration;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const stop of [...this.stoppers]) stop();
    this.keeper?.stop();
    this.closed = true;
    // The lease stays: a restart reuses it (same subnet, same MAC).
    this.client.close();
  }
}

/** etcd's key order (bytes; lease names are ASCII). */
function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
