// The daemon's kernel model (daemon/kernel-model.ts) as an incremental cycle
// diffs against it: a few peers' entries looked up by key without walking
// the 30 000 entries of the model. The lookups go through the model's own
// indexes (model/keyed-list.ts: routes by destination, neighbours and fdb
// entries by device and address), which the model's edits hand on from one
// model to the next; this index keeps only what those do not answer (the
// routes ovlnet does not own, its route count, and whether an incremental
// diff can be trusted here), so the entries are indexed once, not twice.
// Built from the model once after a full cycle, then moved along with each
// write the model follows (`follow`); `of` names the model it describes, so
// a model replaced by anything else is noticed and the index built again. Pure.
import { entryOf } from '../kinds/index.js';
import type { ActualState, Change, Entry, HostRoute, NetworkConfig, RouteEntry } from '../model/types.js';
import { FLANNEL_ROUTE_PROTO } from '../model/keys.js';
import { prefixContains } from '../model/ip.js';
import { fdbByMac, neighborsByAddress, routesByDst } from '../model/keyed-list.js';
import type { OwnershipPolicy } from '../reconcile/ownership.js';
import { podNetworks, policyFor } from './devices.js';

/** A route of ovlnet's in a shape it writes (the full diff's collectOwned keeps these; others it deletes). */
function wellShaped(r: HostRoute): r is HostRoute & { dev: string } {
  return r.dev !== undefined && !r.type;
}

/** Whether more than one of `xs` is `what` (most keys hold one entry: no walk then). */
function several<T>(xs: readonly T[], what: (x: T) => boolean): boolean {
  return xs.length > 1 && xs.filter(what).length > 1;
}

export class KernelIndex {
  /** Routes ovlnet does not own, counted by destination. */
  readonly foreignDsts = new Map<string, number>();
  /** ovlnet's routes: the peers the --max-delete guard counts. */
  ownedRoutes = 0;
  /**
   * Why an incremental diff would differ from the full one here, if it
   * would: routes flanneld left (inherited or stale, decided against every
   * node's address), a route of ovlnet's in a shape it never writes, two of
   * ovlnet's entries with one key.
   */
  doubt?: string;

  private constructor(public of: ActualState, private readonly policy: OwnershipPolicy) {}

  static build(actual: ActualState, config: NetworkConfig): KernelIndex {
    const policy = policyFor(config);
    const ix = new KernelIndex(actual, policy);
    const pods = podNetworks(config);
    for (const r of actual.routes) {
      const t = r.dst.text;
      if (policy.ownsRoute(r)) {
        ix.ownedRoutes++;
        if (!wellShaped(r)) ix.doubt ??= `a route of ovlnet's in a shape it never writes: route:${t}`;
        else if (several(routesByDst.lookup(actual.routes, t), (x) => policy.ownsRoute(x) && wellShaped(x))) ix.doubt ??= "two entries of ovlnet's with one key";
        continue;
      }
      ix.foreignDsts.set(t, (ix.foreignDsts.get(t) ?? 0) + 1);
      if (r.proto === FLANNEL_ROUTE_PROTO && pods.some((p) => prefixContains(p, r.dst))) ix.doubt ??= `a route flanneld left: ${t}`;
    }
    if (ix.doubt === undefined) {
      for (const n of actual.neighbors) {
        if (policy.ownsDevice(n.dev) && neighborsByAddress.lookup(actual.neighbors, `${n.dev}/${n.ip.text}`).length > 1) ix.doubt = "two entries of ovlnet's with one key";
      }
      for (const f of actual.fdb) {
        if (policy.ownsDevice(f.dev) && several(fdbByMac.lookup(actual.fdb, `${f.dev}/${f.mac.text}`), (x) => x.dst.text === f.dst.text)) ix.doubt = "two entries of ovlnet's with one key";
      }
    }
    return ix;
  }

  /**
   * ovlnet's entry on the host with the key of `e` (route, neighbour or
   * fdb entry; what the full diff's ctx.owned holds under that key), or
   * undefined. Other kinds are not looked up here: undefined.
   */
  owned(e: Entry): Entry | undefined {
    const a = this.of;
    switch (e.kind) {
      case 'route':
        for (const r of routesByDst.lookup(a.routes, e.dst.text)) {
          if (this.policy.ownsRoute(r) && wellShaped(r)) return { kind: 'route', dst: r.dst, via: r.via, dev: r.dev, onlink: r.onlink, proto: r.proto } satisfies RouteEntry;
        }
        return undefined;
      case 'neigh':
        return this.policy.ownsDevice(e.dev) ? neighborsByAddress.lookup(a.neighbors, `${e.dev}/${e.ip.text}`)[0] : undefined;
      case 'fdb':
        return this.policy.ownsDevice(e.dev) ? fdbByMac.lookup(a.fdb, `${e.dev}/${e.mac.text}`).find((f) => f.dst.text === e.dst.text) : undefined;
      default:
        return undefined;
    }
  }

  /**
   * The model after `applied` was written and modelled (kernel-model.ts
   * applyToActual gave `next`, whose lists carry the indexes on). Only
   * ovlnet's own routes are written here (a destination a foreign route
   * holds makes the incremental plan fall back), so an add is one more, a
   * delete one fewer.
   */
  follow(applied: readonly Change[], next: ActualState): void {
    for (const c of applied) {
      if (entryOf(c).kind !== 'route') continue;
      if (c.action === 'delete') this.ownedRoutes--;
      else if (c.action === 'add') this.ownedRoutes++;
    }
    this.of = next;
  }
}
