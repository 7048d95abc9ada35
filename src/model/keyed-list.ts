// The daemon's kernel model keeps its routes, neighbours and fdb entries in
// arrays (ActualState), and models are immutable: snapshots keep references
// to older ones. Finding the few entries a write or a kernel event is about
// must not walk those arrays (30 000 entries at 10 000 peers) per event, so
// each list gets an index by key, built once, and handed on to the list
// that replaces it: the edit that makes the next list takes its
// predecessor's index (the old list then has none, and would build one
// again if asked), changes it by the entries it removes and adds, and
// leaves it to the new list. Nothing holding the old list ever sees an
// index of another list. Pure.
import type { FdbEntry, HostRoute, NeighEntry } from './types.js';

/** One kind of list (one key function) and the indexes of its lists. */
export class ListIndexer<T> {
  private readonly indexes = new WeakMap<readonly T[], Map<string, T[]>>();

  constructor(readonly keyOf: (x: T) => string) {}

  /** The index of `list` (built on first use); `owned`: taken from the list, to be changed. */
  index(list: readonly T[], owned: boolean): Map<string, T[]> {
    let ix = this.indexes.get(list);
    if (!ix) {
      ix = new Map();
      for (const x of list) {
        const k = this.keyOf(x);
        const g = ix.get(k);
        if (g) g.push(x);
        else ix.set(k, [x]);
      }
      if (!owned) this.indexes.set(list, ix);
    } else if (owned) {
      this.indexes.delete(list);
    }
    return ix;
  }

  /** Gives `list` (a list no one has indexed) the index `ix`, which describes it. */
  handOn(list: readonly T[], ix: Map<string, T[]>): void {
    this.indexes.set(list, ix);
  }
}

/** Routes by destination. */
export const routesByDst = new ListIndexer<HostRoute>((r) => r.dst.text);
/** Neighbours by device and address. */
export const neighborsByAddress = new ListIndexer<NeighEntry>((n) => `${n.dev}/${n.ip.text}`);
/** Fdb entries by device and MAC (a MAC may have several destinations). */
export const fdbByMac = new ListIndexer<FdbEntry>((f) => `${f.dev}/${f.mac.text}`);

/**
 * Edits of one list: looked up by key, entries removed and appended, then
 * the new list (the input's order, removals left out, additions at the end)
 * with the index handed on. Costs O(edits) plus one copy of the array.
 */
export class ListEdit<T> {
  private ix?: Map<string, T[]>;
  private owned = false;
  private removed?: Set<T>;
  private added?: T[];

  constructor(private readonly list: readonly T[], private readonly by: ListIndexer<T>) {}

  /** The entries of `key`, in list order, as edited so far. */
  get(key: string): readonly T[] {
    return this.lookup().get(key) ?? [];
  }

  remove(x: T): void {
    const ix = this.own();
    (this.removed ??= new Set()).add(x);
    const k = this.by.keyOf(x);
    const g = ix.get(k);
    if (!g) return;
    const rest = g.filter((y) => y !== x);
    if (rest.length) ix.set(k, rest);
    else ix.delete(k);
  }

  add(x: T): void {
    const ix = this.own();
    const k = this.by.keyOf(x);
    const g = ix.get(k);
    ix.set(k, g ? [...g, x] : [x]);
    (this.added ??= []).push(x);
  }

  /** Removes every entry `drop` says (a walk over the whole list). */
  removeWhere(drop: (x: T) => boolean): void {
    for (const x of [...this.list, ...(this.added ?? [])]) if (!this.removed?.has(x) && drop(x)) this.remove(x);
  }

  get changed(): boolean {
    return this.removed !== undefined || this.added !== undefined;
  }

  /** The list after the edits, holding the index now (the input itself when nothing changed). */
  result(): T[] {
    if (!this.changed) return this.list as T[];
    const removed = this.removed;
    let out: T[] = removed ? without(this.list, removed) : this.list.slice();
    if (this.added) out = out.concat(removed ? this.added.filter((x) => !removed.has(x)) : this.added);
    if (this.ix) this.by.handOn(out, this.ix);
    this.ix = undefined;
    return out;
  }

  private lookup(): Map<string, T[]> {
    return (this.ix ??= this.by.index(this.list, false));
  }

  /** The index, taken from the input list on the first edit (it describes the edited list from then on). */
  private own(): Map<string, T[]> {
    if (!this.owned) {
      this.ix = this.by.index(this.list, true);
      this.owned = true;
    }
    return this.ix!;
  }
}

/** Removals this many or fewer are found with indexOf (native, no callback per entry); more, with one filter. */
const FEW_REMOVALS = 16;

/**
 * `list` without the entries in `removed` (every occurrence), in list order:
 * what `list.filter((x) => !removed.has(x))` gives. An event's write removes
 * one or two entries from a list of 10 000-30 000, where a copy and an
 * indexOf per removal are 10-20x cheaper than a callback per entry.
 */
export function without<T>(list: readonly T[], removed: ReadonlySet<T>): T[] {
  if (removed.size > FEW_REMOVALS) return list.filter((x) => !removed.has(x));
  const out = list.slice();
  for (const x of removed) {
    for (let i = out.indexOf(x); i >= 0; i = out.indexOf(x, i)) out.splice(i, 1);
  }
  return out;
}
