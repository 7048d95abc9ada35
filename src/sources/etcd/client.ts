// The etcd calls the source makes: retries within a budget, explained
// errors, the paginated listing of the subnets range, lease grants and TTLs,
// and the store identity (revision, cluster ID) every answer carries.
import { Etcd3, type IKeyValue, type IOptions, type IResponseHeader } from 'etcd3';
import { SourceError } from '../../errors.js';
import { explainEtcdError, isBreakerError, isTooLargeError } from './errors.js';
import { storeWentBack, type StoreMark } from './revision.js';
import type { EtcdURI } from './uri.js';

/** One etcd call; a blackholed endpoint must not hang a one-shot command. */
export const CALL_TIMEOUT_MS = 2000;
/** All attempts of one operation (retries across endpoints, a leader election). */
const OP_BUDGET_MS = 5000;
/**
 * Keys per page of a listing: flannel's leases are a few hundred bytes
 * each, so a page stays near 1-2 MB. Every page is a round trip: 5 000
 * leases in pages of 500 took 120-270 ms to list on a loaded host, in one
 * page 60-90 ms (the daemon lists at start and on every resync).
 */
export const LIST_PAGE = 5000;
/**
 * Keys per page once a page was over the receive limit: etcd refuses values
 * over 1.5 MiB by default, so 40 of them stay under the 64 MiB limit.
 */
const SAFE_PAGE = 40;
/**
 * The client's circuit breaker counts an answer over the receive limit as a
 * failure and blocks the endpoint for 5 s: the smaller page waits that out.
 */
const SHRUNK_PAGE_BUDGET_MS = 12_000;
/** The client's gRPC receive limit: large clusters list thousands of leases. */
export const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;
/** Expiry times of etcd leases are re-read after this long (they only move when renewed). */
const TTL_CACHE_MS = 5 * 60_000;

export interface Listing {
  /** The revision every page was read at. */
  revision: string;
  config?: IKeyValue;
  /** Every key under subnets/, in etcd's key order. */
  subnets: IKeyValue[];
}

/** The page size after a page of `limit` keys was over the receive limit. */
export function smallerPage(limit: number): number {
  return limit > SAFE_PAGE ? SAFE_PAGE : Math.max(1, Math.floor(limit / 8));
}

export class EtcdClient {
  readonly etcd: Etcd3;
  readonly prefix: string;
  closed = false;
  /** The newest store seen in any answer; a later answer from an older store means etcd was reset. */
  private mark?: StoreMark;
  /** The last error etcd (or the network) gave, for when only the circuit breakers answer. */
  private lastCause?: Error;
  private readonly ttlCache = new Map<string, { expiresAt: Date; checkedAt: number }>();
  /** Keys per listing page; smaller for good once a page was too large. */
  private pageLimit = LIST_PAGE;
  /** Called when an answer comes from an older store than one seen before (restore, wiped data). */
  onReset?: (why: string) => void;

  constructor(readonly uri: EtcdURI, options: IOptions) {
    this.prefix = uri.prefix;
    this.etcd = new Etcd3({ ...options, grpcOptions: { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES, ...options.grpcOptions } });
  }

  where(): string {
    return `etcd at ${this.uri.endpoints.join(', ')}`;
  }

  callOpts() {
    return { deadline: Date.now() + CALL_TIMEOUT_MS };
  }

  /** The store as last seen, for a check made before a request (see observe). */
  seen(): StoreMark | undefined {
    return this.mark;
  }

  /**
   * Notes the store an answer came from. `before` is what was seen when the
   * request was sent: an answer older than that cannot be a late answer
   * (reads are linearizable), so etcd went back.
   */
  observe(header: IResponseHeader | undefined, before: StoreMark | undefined): void {
    if (!header?.revision) return;
    const why = storeWentBack(before, header);
    const rev = BigInt(header.revision);
    if (why) {
      this.mark = { revision: rev, clusterID: header.cluster_id };
      this.ttlCache.clear();
      this.onReset?.(why);
      return;
    }
    if (!this.mark || rev > this.mark.revision || this.mark.clusterID !== header.cluster_id) this.mark = { revision: rev, clusterID: header.cluster_id };
  }

  /** Forgets the store seen (after a reset was handled, the next answers set it anew). */
  resetMark(): void {
    this.mark = undefined;
  }

  /**
   * Runs one etcd operation, retrying transient failures (an endpoint down,
   * a leader election) within a few seconds, then failing with a message that
   * says what is wrong, where, and what to check.
   */
  async rpc<T>(what: string, fn: () => Promise<T>, budgetMs = OP_BUDGET_MS): Promise<T> {
    const deadline = Date.now() + budgetMs;
    let delay = 100;
    let cause: Error | undefined;
    for (;;) {
      if (this.closed) throw new SourceError(`${this.where()}: ${what}: the source was closed`);
      try {
        return await fn();
      } catch (e) {
        const err = e as Error;
        // Once every endpoint failed, etcd3's circuit breakers answer instead
        // of etcd; the error worth showing is the last one etcd gave.
        if (!isBreakerError(err)) { cause = err; this.lastCause = err; }
        const x = explainEtcdError(cause ?? this.lastCause ?? err, {
          endpoints: this.uri.endpoints, what, prefix: this.prefix, tls: this.uri.tls, callTimeoutMs: CALL_TIMEOUT_MS,
        });
        const transient = x.transient || isBreakerError(err);
        if (!transient || Date.now() + delay > deadline) throw new SourceError(x.message, x.hint);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  /**
   * The config key and every key of the subnets range, at one revision, page
   * by page: nothing else under the prefix is read, however large, and a page
   * over the receive limit is read again in smaller pages.
   */
  async list(): Promise<Listing> {
    const configKey = `${this.prefix}/config`;
    for (let attempt = 0; ; attempt++) {
      const before = this.mark;
      const cfg = await this.rpc(`reading ${configKey}`, () => this.etcd.kv.range({ key: Buffer.from(configKey) }, this.callOpts()));
      this.observe(cfg.header, before);
      const revision = cfg.header.revision;
      try {
        return { revision, config: cfg.kvs[0], subnets: await this.listSubnets(revision) };
      } catch (e) {
        // Compacted between two pages: start again at the newest revision.
        if (attempt < 3 && /compacted/i.test((e as Error).message)) continue;
        throw e;
      }
    }
  }

  private async listSubnets(revision: string): Promise<IKeyValue[]> {
    const dir = `${this.prefix}/subnets/`;
    const end = Buffer.from(`${this.prefix}/subnets0`); // '/' + 1: the whole directory
    let from = Buffer.from(dir);
    let shrunk = false;
    const out: IKeyValue[] = [];
    for (;;) {
      const limit = this.pageLimit;
      const page = await this.rpc(`reading ${dir}`, async () => {
        try {
          return await this.etcd.kv.range({ key: from, range_end: end, limit, revision }, this.callOpts());
        } catch (e) {
          if (isTooLargeError(e as Error) && limit > 1) return undefined;
          throw e;
        }
      }, shrunk ? SHRUNK_PAGE_BUDGET_MS : OP_BUDGET_MS);
      if (!page) {
        // Something stores large values under subnets/: smaller pages from now on.
        this.pageLimit = smallerPage(limit);
        shrunk = true;
        continue;
      }
      out.push(...page.kvs);
      if (!page.more || page.kvs.length === 0) return out;
      // The next page starts just after the last key read.
      from = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    }
  }

  async grant(ttl: number): Promise<string> {
    const r = await this.rpc('granting a lease', () => this.etcd.leaseClient.leaseGrant({ TTL: ttl, ID: 0 }, this.callOpts()));
    return r.ID;
  }

  revoke(leaseID: string): void {
    if (leaseID === '0') return;
    this.etcd.leaseClient.leaseRevoke({ ID: leaseID }, this.callOpts()).catch(() => {});
  }

  /**
   * Expiry times of etcd leases. `refresh` re-reads those cached longer than
   * TTL_CACHE_MS (a KeepAlive moves an expiry without any event); otherwise
   * only leases not seen before or that look expired are looked up.
   */
  /** `prune`: forget the cached expiries of other leases (a full listing's call; a single lease's lookup keeps them). */
  async expiries(leaseIDs: string[], warnings: string[], refresh: boolean, prune = true): Promise<Map<string, Date>> {
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
          const r = await this.etcd.leaseClient.leaseTimeToLive({ ID: id, keys: false }, this.callOpts());
          // TTL -1: the lease is gone; etcd deletes its keys any moment now.
          const expiresAt = new Date(Date.now() + Math.max(0, Number(r.TTL)) * 1000);
          out.set(id, expiresAt);
          this.ttlCache.set(id, { expiresAt, checkedAt: Date.now() });
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, todo.length) }, worker));
    if (failed) warnings.push(`could not read the expiry of ${failed} etcd lease${failed === 1 ? '' : 's'}`);
    if (prune) for (const id of this.ttlCache.keys()) if (!wanted.has(id)) this.ttlCache.delete(id);
    return out;
  }

  close(): void {
    this.closed = true;
    this.etcd.close();
  }
}
