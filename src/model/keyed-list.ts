// The daemon's kernel model keeps its routes, neighbours and fdb entries in
// arrays (ActualState), and models are immutable: snapshots keep references
// to older ones. Finding the few entries a write or a kernel event is about
// must not walk those arrays (30 000 entries at 10 000 peers) per event, so
// each list gets an index by key, built once, and handed on to the list
// that replaces it: the edit that makes the next list takes its
// predecessor's index (the old list then has none, and would build one
// again if asked), changes it by the entries it removes and adds, and
// leaves it to the new list. Nothing holding the old list ever sees an
// index of another list. A key holds its one entry itself, an array only
// when it has several (30 000 one-element arrays were ~1.7 MB of the
// daemon's heap at 10 000 peers). Pure.
import type { FdbEntry, HostRoute, NeighEntry } from './types.js';

/** A key's entries: the entry alone, or several in list order (entries are objects, never arrays). */
type Group<T> = T | T[];
export type KeyIndex<T> = Map<string, Group<T>>;

const NONE: readonly never[] = [];

/** The entries of a group, in list order. */
function entries<T>(g: Group<T> | undefined): readonly T[] {
  return g === undefined ? NONE : Array.isArray(g) ? g : [g];
}

/** `ix` with `x` appended to its key's entries. */
function append<T>(ix: KeyIndex<T>, k: string, x: T): void {
  const g = ix.get(k);
  if (g === undefined) ix.set(k, x);
  else if (Array.isArray(g)) g.push(x);
  else ix.set(k, [g, x]);
}

/** One kind of list (one key function) and the indexes of its lists. */
export class ListIndexer<T extends object> {
  private readonly indexes = new WeakMap<readonly T[], KeyIndex<T>>();

  constructor(readonly keyOf: (x: T) => string) {}

  /** The index of `list` (built on first use); `owned`: taken from the list, to be changed. */
  index(list: readonly T[], owned: boolean): KeyIndex<T> {
    let ix = this.indexes.get(list);
    if (!ix) {
      ix = new Map();
      for (const x of list) append(ix, this.keyOf(x), x);
      if (!owned) this.indexes.set(list, ix);
    } else if (owned) {
      this.indexes.delete(list);
    }
    return ix;
  }

  /** The entries of `list` with key `key`, in list order (the list's index, built on first use and kept with it). */
  lookup(list: readonly T[], key: string): readonly T[] {
    return entries(this.index(list, false).get(key));
  }

  /** Gives `list` (a list no one has indexed) the index `ix`, which describes it. */
  handOn(list: readonly T[], ix: KeyIndex<T>): void {
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
export class ListEdit<T extends object> {
  private ix?: KeyIndex<T>;
  private owned = false;
  private removed?: Set<T>;
  private added?: T[];
  /** removeWhere replaced the list by the entries it kept. */
  private replaced = false;

  constructor(private list: readonly T[], private readonly by: ListIndexer<T>) {}

  /** The entries of `key`, in list order, as edited so far. */
  get(key: string): readonly T[] {
    return entries(this.lookup().get(key));
  }

  remove(x: T): void {
    const ix = this.own();
    (this.removed ??= new Set()).add(x);
    const k = this.by.keyOf(x);
    const rest = entries(ix.get(k)).filter((y) => y !== x);
    if (rest.length > 1) ix.set(k, rest);
    else if (rest.length) ix.set(k, rest[0]);
    else ix.delete(k);
  }

  add(x: T): void {
    const ix = this.own();
    const k = this.by.keyOf(x);
    const g = ix.get(k);
    // A new array: the old one may be what a get() before handed out.
    ix.set(k, g === undefined ? x : [...entries(g), x]);
    (this.added ??= []).push(x);
  }

  /**
   * Removes every entry `drop` says, in one pass: the edited list becomes
   * the entries kept, and its index is built again when next asked (a
   * deleted device's thousands of entries: one filter, not an index update
   * and a key string each).
   */
  removeWhere(drop: (x: T) => boolean): void {
    const removed = this.removed;
    const all = removed || this.added ? this.list.filter((x) => !removed?.has(x)).concat((this.added ?? []).filter((x) => !removed?.has(x))) : this.list;
    const kept = all.filter((x) => !drop(x));
    if (kept.length === all.length) return;
    this.list = kept;
    this.removed = undefined;
    this.added = undefined;
    this.ix = undefined;
    this.owned = false;
    this.replaced = true;
  }

  get changed(): boolean {
    return this.replaced || this.removed !== undefined || this.added !== undefined;
  }

  /** The list after the edits, holding the index now (the input itself when nothing changed). */
  result(): T[] {
    if (!this.changed) return this.list as T[];
    const removed = this.removed;
    // One copy of the list (a single-peer write changes two lists of 5 000-10 000 entries each):
    // the additions appended by the same native concat, the removals cut out of that copy.
    const added = this.added ? (removed ? this.added.filter((x) => !removed.has(x)) : this.added) : NONE;
    const out = this.list.concat(added);
    if (removed) removeFrom(out, removed, this.list.length);
    if (this.ix) this.by.handOn(out, this.ix);
    this.ix = undefined;
    return out;
  }

  private lookup(): KeyIndex<T> {
    return (this.ix ??= this.by.index(this.list, false));
  }

  /** The index, taken from the input list on the first edit (it describes the edited list from then on). */
  private own(): KeyIndex<T> {
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
  removeFrom(out, removed, out.length);
  return out;
}

/**
 * Cuts every occurrence of the entries in `removed` out of `out` (an array
 * the caller owns) among its first `end` elements, in place, keeping the
 * order of the rest.
 */
function removeFrom<T>(out: T[], removed: ReadonlySet<T>, end: number): void {
  if (removed.size > FEW_REMOVALS) {
    let w = 0;
    for (let r = 0; r < out.length; r++) if (r >= end || !removed.has(out[r])) out[w++] = out[r];
    out.length = w;
    return;
  }
  for (const x of removed) {
    for (let i = out.indexOf(x); i >= 0 && i < end; i = out.indexOf(x, i)) {
      out.splice(i, 1);
      end--;
    }
  }
}
