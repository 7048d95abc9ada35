// This node's lease: found or allocated at registration, then kept (renewed
// ahead of expiry, put back when gone, rewritten in place when corrupted,
// allocated anew only when another node holds the subnet).
import { readFile } from 'node:fs/promises';
import { SourceError, UsageError } from '../../errors.js';
import { prefixContains, type IP, type Prefix } from '../../model/ip.js';
import type { MAC } from '../../model/mac.js';
import type { NetworkConfig } from '../../model/types.js';
import { backendNeedsMAC, chooseVtepMAC, parseSubnetFile, registeredPublicKey } from '../registration.js';
import type { Registration, RegisterOptions } from '../types.js';
import { fitsRange, pickFreeSubnet, type SubnetRange } from './allocate.js';
import type { EtcdClient, Listing } from './client.js';
import { cachedLease, leaseKeyName, leaseNodeName, leaseValue, parseLease, type CachedLease, type LocalBackendData } from './codec.js';
import { carriesIP, ownLeaseVerdict, pickOwnLease, publishedMAC } from './own.js';

export const DEFAULT_LEASE_TTL_SECONDS = 24 * 3600;
/** flannel renews its lease one hour before it expires. */
const RENEW_MARGIN_SECONDS = 3600;
/** How often the registration checks that its own key is still there. */
const OWN_KEY_CHECK_MS = 60_000;
const MAX_ACQUIRE_ATTEMPTS = 20;

export interface OwnLease {
  /** The key under subnets/. */
  name: string;
  subnet: Prefix;
  subnet6?: Prefix;
  value: string;
  /** etcd lease ID; "0" for a reservation (never renewed). */
  leaseID: string;
  renewAt: number;
}

/**
 * What the registration's successful write was based on: its listing (at
 * one revision), the stale leases of this node it deleted after it, and the
 * leases it parsed. With the own lease, this is etcd as registered, up to
 * writes of other nodes after the listing (EtcdSource's first load).
 */
export interface RegisteredView {
  listing: Listing;
  removed: string[];
  parsed: Map<string, CachedLease>;
}

/**
 * The registration's listing (its entries under subnets/) without the stale
 * leases of this node it deleted, with this node's lease as it was written,
 * in etcd's key order.
 */
export function registeredEntries<E extends { name: string; value: string; lease: string }>(listed: E[], view: RegisteredView, own: OwnLease): Array<E | { name: string; value: string; lease: string }> {
  const removed = new Set([...view.removed, own.name]);
  const entries: Array<E | { name: string; value: string; lease: string }> = listed.filter((e) => !removed.has(e.name));
  // Its value as listed, if any, is not the one written.
  view.parsed.delete(own.name);
  const at = entries.findIndex((e) => e.name > own.name);
  entries.splice(at < 0 ? entries.length : at, 0, { name: own.name, value: own.value, lease: own.leaseID });
  return entries;
}

export interface KeeperSetup {
  opts: RegisterOptions;
  ttl: number;
  config: NetworkConfig;
  range: SubnetRange;
  range6?: SubnetRange;
  publicIP: IP;
  publicIPv6?: IP;
  /** What the backend publishes from the host (wireguard: the key file's public key). */
  local?: LocalBackendData;
}

export function checkTTL(ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < 5 || ttl > 10 * 365 * 86400) {
    throw new UsageError(`lease TTL ${ttl} s: expected a whole number of seconds from 5 up`);
  }
}

async function readPrevSubnets(path: string | undefined): Promise<{ subnet?: Prefix; subnet6?: Prefix }> {
  if (!path) return {};
  try {
    return parseSubnetFile(await readFile(path, 'utf8'));
  } catch {
    return {};
  }
}

export class LeaseKeeper {
  own?: OwnLease;
  /** What register() returned; kept current when the lease moves. */
  readonly registration: Registration;
  private mac?: MAC;
  private mac6?: MAC;
  private timer?: NodeJS.Timeout;
  /** Checks run one at a time (a timer and a watch event may coincide). */
  private busy: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly client: EtcdClient, private readonly s: KeeperSetup) {
    const publicKey = registeredPublicKey(s.config, s.local);
    this.registration = { publicIP: s.publicIP.text, subnet: '', ...(publicKey ? { publicKey } : {}) };
  }

  get publicIP(): IP {
    return this.s.publicIP;
  }

  private get subnetsDir(): string {
    return `${this.client.prefix}/subnets/`;
  }

  private renewAt(ttl: number): number {
    return Date.now() + (ttl - Math.min(RENEW_MARGIN_SECONDS, ttl / 2)) * 1000;
  }

  /** Registers; also returns what the write was based on, for the source's first load (EtcdSource.read). */
  async start(first: Listing): Promise<{ registration: Registration; view: RegisteredView }> {
    const { own, view } = await this.acquire(first);
    this.take(own);
    this.schedule(Math.min(OWN_KEY_CHECK_MS, Math.max(0, this.own!.renewAt - Date.now())));
    return { registration: this.registration, view };
  }

  private take(own: OwnLease): void {
    this.own = own;
    const r = this.registration;
    r.subnet = own.subnet.text;
    r.vtepMAC = this.mac?.text;
    r.localNode = leaseNodeName(own);
    if (own.subnet6) {
      r.subnet6 = own.subnet6.text;
      r.publicIPv6 = this.s.publicIPv6?.text;
      r.vtepMACv6 = this.mac6?.text;
    }
  }

  private valueFor(): string {
    const { config, publicIP, publicIPv6, local } = this.s;
    return JSON.stringify(leaseValue(config, { publicIP, mac: this.mac, publicIPv6, mac6: this.mac6, local }));
  }

  /** Finds or creates this node's lease; see docs/reliability.md "etcd". */
  private async acquire(first?: Listing): Promise<{ own: OwnLease; view: RegisteredView }> {
    const { config, range, range6, publicIP, ttl, opts } = this.s;
    const c = this.client;
    const dir = this.subnetsDir;
    let listing = first;
    const prev = await readPrevSubnets(opts.subnetFile);
    let previous = prev.subnet;
    let previous6 = prev.subnet6;
    const tried: Prefix[] = [];
    for (let attempt = 0; attempt < MAX_ACQUIRE_ATTEMPTS; attempt++) {
      listing ??= await c.list();
      const current = listing;
      listing = undefined;
      const parsed = new Map<string, CachedLease>();
      const leases = current.subnets.map((kv) => {
        const name = kv.key.toString('utf8').slice(dir.length);
        const p = parseLease(c.prefix, name, kv.value.toString('utf8'));
        parsed.set(name, cachedLease(p));
        return { name, kv, ...p };
      }).filter((l) => !l.badKey);
      const view = (removed: string[]): RegisteredView => ({ listing: current, removed, parsed });
      const mine = leases.filter((l) => carriesIP(l.obj, publicIP));
      const fit = pickOwnLease(mine, range, range6, previous, opts.existingVtepMAC);
      // The MAC this node published before (peers have it in their fdb) wins.
      const need = backendNeedsMAC(config);
      if (need) {
        this.mac ??= chooseVtepMAC(publishedMAC((fit ?? mine[0])?.obj, 4), opts.existingVtepMAC);
        if (range6) this.mac6 ??= chooseVtepMAC(publishedMAC((fit ?? mine[0])?.obj, 6), opts.existingVtepMACv6);
      }
      const value = this.valueFor();
      if (fit) {
        const reservation = fit.kv.lease === '0';
        const leaseID = reservation ? '0' : await c.grant(ttl);
        const put = c.etcd.put(dir + fit.name).value(value);
        if (!reservation) put.lease(leaseID);
        const res = await c.rpc('updating this node\'s lease', () =>
          c.etcd.if(dir + fit.name, 'Mod', '==', fit.kv.mod_revision).then(put).options(c.callOpts()).commit());
        if (res.succeeded) {
          return { own: { name: fit.name, subnet: fit.subnet!, subnet6: fit.subnet6, value, leaseID, renewAt: reservation ? Infinity : this.renewAt(ttl) }, view: view([]) };
        }
        c.revoke(leaseID);
        continue; // changed under us: look again
      }
      // Our leases that no longer fit (another config, a half we lack) block
      // nothing but show a wrong peer; a subnet of theirs still in range is
      // kept (an IPv4 lease gains its IPv6 half without renumbering).
      for (const stale of mine) {
        if (stale.subnet && !previous) previous = stale.subnet;
        if (stale.subnet6 && !previous6) previous6 = stale.subnet6;
        await c.rpc('deleting a stale lease', () => c.etcd.if(dir + stale.name, 'Mod', '==', stale.kv.mod_revision)
          .then(c.etcd.delete().key(dir + stale.name)).options(c.callOpts()).commit());
      }
      const gone = new Set(mine.map((l) => l.name));
      const taken = leases.filter((l) => !gone.has(l.name)).flatMap((l) => [l.subnet, l.subnet6]).filter((p): p is Prefix => Boolean(p));
      taken.push(...tried);
      const free = (p: Prefix | undefined, r: SubnetRange) => (p && fitsRange(p, r)
        && !taken.some((t) => prefixContains(t, p) || prefixContains(p, t)) ? p : undefined);
      // 2. The subnet this host had before (subnet.env, or a stale lease), when free and valid; 3. a random free one.
      const subnet = free(previous, range) ?? pickFreeSubnet(range, taken);
      const subnet6 = range6 ? free(previous6, range6) ?? pickFreeSubnet(range6, taken) : undefined;
      previous = undefined;
      previous6 = undefined;
      if (!subnet || (range6 && !subnet6)) {
        const r = subnet ? range6! : range;
        throw new SourceError(`${c.where()}: no free /${r.len} subnet left in ${r.min.text}..${r.max.text} of ${r.network.text} (${leases.length} leases)`,
          'remove stale leases (etcdctl del), or widen Network/SubnetMin/SubnetMax in the config');
      }
      const name = leaseKeyName(subnet, subnet6);
      const leaseID = await c.grant(ttl);
      const res = await c.rpc('creating this node\'s lease', () =>
        c.etcd.if(dir + name, 'Version', '==', 0)
          .then(c.etcd.put(dir + name).value(value).lease(leaseID)).options(c.callOpts()).commit());
      if (res.succeeded) return { own: { name, subnet, subnet6, value, leaseID, renewAt: this.renewAt(ttl) }, view: view(mine.map((l) => l.name)) };
      // Lost the race for this subnet: another node created it first. Try another.
      tried.push(subnet);
      if (subnet6) tried.push(subnet6);
      c.revoke(leaseID);
    }
    throw new SourceError(`${c.where()}: could not register a subnet after ${MAX_ACQUIRE_ATTEMPTS} attempts (other nodes keep taking them)`);
  }

  /** Checks the own lease after `ms` (0: now, e.g. on a watch event for our key). */
  schedule(ms: number): void {
    if (this.stopped || !this.own) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.busy = this.busy.then(() => this.check()).then(
        () => this.schedule(Math.min(OWN_KEY_CHECK_MS, Math.max(0, (this.own?.renewAt ?? Infinity) - Date.now()))),
        // etcd unreachable, or a race: try again soon; the lease lives on until its TTL.
        () => this.schedule(Math.min(10_000, OWN_KEY_CHECK_MS)),
      );
    }, ms);
    this.timer.unref?.();
  }

  /**
   * Keeps this node's lease: renews it ahead of expiry (a new etcd lease and
   * a put, like flannel), puts it back when it was deleted, rewrites it in
   * place when its value changed but the key is still ours, and registers
   * anew (same MACs) only when another node holds the subnet.
   */
  private async check(): Promise<void> {
    const own = this.own;
    if (!own || this.stopped) return;
    const c = this.client;
    const key = this.subnetsDir + own.name;
    const got = await c.rpc('reading this node\'s lease', () => c.etcd.kv.range({ key: Buffer.from(key) }, c.callOpts()));
    const kv = got.kvs[0];
    const verdict = ownLeaseVerdict({ value: own.value, leaseID: own.leaseID, publicIP: this.s.publicIP },
      kv && { value: kv.value.toString('utf8'), lease: kv.lease });
    if (verdict === 'taken') {
      this.take((await this.acquire()).own);
      return;
    }
    const due = Date.now() >= own.renewAt;
    if (verdict === 'ours' && !due) return;
    const reservation = own.leaseID === '0' && verdict !== 'missing';
    // A new etcd lease when renewing, and when ours is not the one on the key (it may be gone).
    const fresh = !reservation && (due || verdict === 'missing' || kv?.lease !== own.leaseID);
    const leaseID = reservation ? '0' : fresh ? await c.grant(this.s.ttl) : own.leaseID;
    const put = c.etcd.put(key).value(own.value);
    if (leaseID !== '0') put.lease(leaseID);
    const guard = kv ? c.etcd.if(key, 'Mod', '==', kv.mod_revision) : c.etcd.if(key, 'Version', '==', 0);
    const what = verdict === 'missing' ? 're-creating this node\'s lease' : verdict === 'rewrite' ? 'rewriting this node\'s corrupted lease' : 'renewing this node\'s lease';
    const res = await c.rpc(what, () => guard.then(put).options(c.callOpts()).commit());
    if (!res.succeeded) {
      if (fresh) c.revoke(leaseID);
      throw new Error('the lease changed under us'); // checked again shortly
    }
    if (fresh && own.leaseID !== leaseID) c.revoke(own.leaseID);
    this.own = { ...own, leaseID, renewAt: leaseID === '0' ? Infinity : fresh ? this.renewAt(this.s.ttl) : own.renewAt };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

