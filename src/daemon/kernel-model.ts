// The daemon's model of the kernel: the host as last read in full, updated
// with the changes written successfully since (the dataplane half of a
// desired-vs-dataplane pair, as in Calico Felix's route table). Event cycles
// diff against it instead of re-reading 30 000 entries; resync cycles read
// the host and replace it. Pure.
//
// Only the per-peer entries are modelled: routes, permanent neighbours and fdb
// entries, which the kernel changes exactly as the batch lines say (each kind's
// `model` in src/kinds/). Anything whose kernel side effects are wider (a device
// created or replaced flushes its entries, an address brings routes) makes the
// model unknown (see also reconcile/kernel-effects.ts): the caller then reads
// the host in full. Offload features are re-read by every snapshot when
// planned, so they need no model; pinned sysctl settings are read with the
// host and modelled (a write sets exactly the value written). The iptables tables of the last full read
// are kept for event cycles (the daemon re-reads them every --iptables-resync);
// a rule written makes the model unknown, so the jump is never written twice.
import { KIND_LIST, specOf } from '../kinds/index.js';
import type { KindModel } from '../kinds/types.js';
import type { ActualState, Change, Entry, EntryKind, FdbEntry, NeighEntry, RouteEntry } from '../model/types.js';

/** The applied changes by kind, in registry order. */
function byKind(applied: readonly Change[]): Array<[KindModel<Entry>, Change[]]> {
  const groups = new Map<EntryKind, Change[]>();
  for (const c of applied) {
    const g = groups.get(c.kind);
    if (g) g.push(c);
    else groups.set(c.kind, [c]);
  }
  const out: Array<[KindModel<Entry>, Change[]]> = [];
  for (const spec of KIND_LIST) {
    const g = groups.get(spec.kind);
    if (g && spec.model && spec.model !== 'reread') out.push([spec.model, g]);
  }
  return out;
}

/** Why `applied` can not be modelled, or undefined when it can. */
export function unmodelled(actual: ActualState, applied: readonly Change[]): string | undefined {
  // A kind without a model has wider kernel side effects than its change.
  for (const c of applied) if (!specOf(c.kind).model) return `${c.action} ${c.key}`;
  for (const [model, changes] of byKind(applied)) {
    const why = model.unknown?.(actual, changes);
    if (why) return why;
  }
  return undefined;
}

/**
 * The host after `applied` (changes the kernel accepted) was written to the
 * host described by `actual`; undefined when that can not be known without
 * reading it (see unmodelled). Returns a new state; `actual` is not modified.
 * Linear in the size of the host plus the number of changes.
 */
export function applyToActual(actual: ActualState, applied: readonly Change[]): ActualState | undefined {
  if (unmodelled(actual, applied) !== undefined) return undefined;
  const next: ActualState = { ...actual };
  for (const [model, changes] of byKind(applied)) model.apply(next, actual, changes);
  return next;
}

/**
 * `model` with each route, neighbour and fdb entry that equals a planned
 * entry made of the planned entry's address, prefix and MAC objects. After
 * a full cycle the model is the host as read: at 10 000 peers 30 000
 * entries with objects of their own for the same addresses the plan holds
 * (each an object, a bigint and a string), ~7 MB held twice until every
 * peer was written once. Every field keeps its value (a deep comparison
 * with `model` holds); new lists, the input untouched. Linear in the model
 * and the plan; run once per full cycle.
 */
export function shareWithPlan(model: ActualState, planned: readonly Entry[]): ActualState {
  // By a string the entries already hold: no key strings made.
  const routes = new Map<string, RouteEntry>();
  const neighbors = new Map<string, NeighEntry>();
  const fdb = new Map<string, FdbEntry>();
  for (const e of planned) {
    if (e.kind === 'route') routes.set(e.dst.text, e);
    else if (e.kind === 'neigh') neighbors.set(e.ip.text, e);
    else if (e.kind === 'fdb') fdb.set(e.mac.text, e);
  }
  return {
    ...model,
    routes: model.routes.map((r) => {
      const d = routes.get(r.dst.text);
      if (!d || r.type !== undefined || r.dev !== d.dev || r.onlink !== d.onlink || r.proto !== d.proto || r.via?.text !== d.via?.text) return r;
      return { dst: d.dst, via: d.via, dev: r.dev, onlink: r.onlink, proto: r.proto, type: r.type };
    }),
    // A neighbour or fdb entry has no field beyond the planned one's: the
    // planned entry itself (entries are never changed in place), 20 000
    // objects fewer at 10 000 peers. A route keeps an object of its own
    // (the model's carries the kernel's route type).
    neighbors: model.neighbors.map((n) => {
      const d = neighbors.get(n.ip.text);
      return d && d.dev === n.dev && d.mac.text === n.mac.text ? d : n;
    }),
    fdb: model.fdb.map((f) => {
      const d = fdb.get(f.mac.text);
      return d && d.dev === f.dev && d.dst.text === f.dst.text ? d : f;
    }),
  };
}
