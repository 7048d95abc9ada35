// The daemon's kernel model (daemon/kernel-model.ts) indexed by entry key,
// kept across event cycles: what an incremental cycle diffs a few peers'
// entries against without walking the 30 000 entries of the model. Built
// from the model once after a full cycle, then moved along with each write
// the model follows (`follow`); `of` names the model it describes, so a
// model replaced by anything else is noticed and the index built again. Pure.
import { entryOf, KIND_LIST } from '../kinds/index.js';
import type { DiffContext } from '../kinds/types.js';
import type { ActualState, Change, Entry, NetworkConfig } from '../model/types.js';
import { FLANNEL_ROUTE_PROTO } from '../model/keys.js';
import { prefixContains } from '../model/ip.js';
import { podNetworks, policyFor } from './devices.js';

export class KernelIndex {
  /** What ovlnet owns on the host, by key (the diff's ctx.owned). */
  readonly owned = new Map<string, Entry>();
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

  private constructor(public of: ActualState) {}

  static build(actual: ActualState, config: NetworkConfig): KernelIndex {
    const ix = new KernelIndex(actual);
    const policy = policyFor(config);
    const pods = podNetworks(config);
    // The kinds' own collectOwned, with a context of their owned map only (no device is fresh here).
    const ctx = { actual, policy, owned: ix.owned, changes: [] as Change[], foreignRoutes: new Map(), inherited: new Map(), nodeIPs: new Set<string>() } as unknown as DiffContext;
    let seen = 0;
    for (const spec of KIND_LIST) {
      if (spec.kind !== 'route' && spec.kind !== 'neigh' && spec.kind !== 'fdb') continue;
      spec.collectOwned?.(ctx, () => false);
    }
    for (const r of actual.routes) {
      if (policy.ownsRoute(r)) {
        seen++;
        continue;
      }
      const t = r.dst.text;
      ix.foreignDsts.set(t, (ix.foreignDsts.get(t) ?? 0) + 1);
      if (r.proto === FLANNEL_ROUTE_PROTO && pods.some((p) => prefixContains(p, r.dst))) ix.doubt ??= `a route flanneld left: ${t}`;
    }
    ix.ownedRoutes = seen;
    const badShape = ctx.changes.length;
    if (badShape) ix.doubt ??= `a route of ovlnet's in a shape it never writes: ${ctx.changes[0].key}`;
    if (ix.owned.size !== seen - badShape + countOwned(actual, policy)) ix.doubt ??= "two entries of ovlnet's with one key";
    return ix;
  }

  /** The model after `applied` was written and modelled (kernel-model.ts applyToActual gave `next`). */
  follow(applied: readonly Change[], next: ActualState): void {
    for (const c of applied) {
      const e = entryOf(c);
      if (e.kind !== 'route' && e.kind !== 'neigh' && e.kind !== 'fdb') continue;
      if (c.action === 'delete') {
        if (this.owned.delete(c.key) && e.kind === 'route') this.ownedRoutes--;
      } else {
        if (!this.owned.has(c.key) && e.kind === 'route') this.ownedRoutes++;
        this.owned.set(c.key, c.desired);
      }
    }
    this.of = next;
  }
}

/** Neighbours and fdb entries on ovlnet's devices, as the model lists them. */
function countOwned(actual: ActualState, policy: ReturnType<typeof policyFor>): number {
  let n = 0;
  for (const x of actual.neighbors) if (policy.ownsDevice(x.dev)) n++;
  for (const x of actual.fdb) if (policy.ownsDevice(x.dev)) n++;
  return n;
}
