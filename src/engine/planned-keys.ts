// The incremental plan's answer to "is an entry with this kinds key
// planned?" (DesiredState.entryKeys, what the kernel watch asks of every
// kernel event). A key is a string built from the entry's fields; holding
// one per planned entry was, at 10 000 peers, 30 000 strings of ~20-40
// characters made by concatenation (a cons string and its flat copy each,
// ~3.8 MB with the map). Instead the peers' routes, neighbours and fdb
// entries are held by a string their entry already has (a route's
// destination, a neighbour's address, an fdb entry's MAC), and a question
// compares the key of the few entries found there; the other kinds (devices,
// addresses, rules: a handful) are counted by key. Pure.
import { entryKey } from '../kinds/index.js';
import type { Entry } from '../model/types.js';

/**
 * For each kind held by a part of its key: that part of an entry (a string
 * the entry holds) and of a key (kinds/route.ts, neigh.ts and fdb.ts make
 * the keys `route:DST`, `neigh:DEV/IP`, `fdb:DEV/MAC/DST`; device names and
 * addresses hold no '/').
 */
export const KEY_PARTS = {
  route: { ofEntry: (e: Extract<Entry, { kind: 'route' }>) => e.dst.text, ofKey: (k: string) => k.slice('route:'.length) },
  neigh: { ofEntry: (e: Extract<Entry, { kind: 'neigh' }>) => e.ip.text, ofKey: (k: string) => k.slice(k.lastIndexOf('/') + 1) },
  fdb: { ofEntry: (e: Extract<Entry, { kind: 'fdb' }>) => e.mac.text, ofKey: (k: string) => k.slice(k.indexOf('/') + 1, k.lastIndexOf('/')) },
} as const;

type PartKind = keyof typeof KEY_PARTS;

function partOf(e: Entry): string | undefined {
  switch (e.kind) {
    case 'route':
      return KEY_PARTS.route.ofEntry(e);
    case 'neigh':
      return KEY_PARTS.neigh.ofEntry(e);
    case 'fdb':
      return KEY_PARTS.fdb.ofEntry(e);
    default:
      return undefined;
  }
}

function kindOfKey(key: string): PartKind | undefined {
  const kind = key.slice(0, key.indexOf(':'));
  return kind === 'route' || kind === 'neigh' || kind === 'fdb' ? kind : undefined;
}

export class PlannedKeys {
  /** Entries of the part kinds by their part: the entry alone, or several (parts of different kinds may be equal). */
  private readonly byPart = new Map<string, Entry | Entry[]>();
  /** The other kinds' keys, counted (two entries may share one). */
  private readonly others = new Map<string, number>();

  /** Counts `e` (its key `key`) as planned. */
  add(e: Entry, key: string): void {
    const part = partOf(e);
    if (part === undefined) {
      this.others.set(key, (this.others.get(key) ?? 0) + 1);
      return;
    }
    const g = this.byPart.get(part);
    if (g === undefined) this.byPart.set(part, e);
    else if (Array.isArray(g)) g.push(e);
    else this.byPart.set(part, [g, e]);
  }

  /** Counts `e` (added before, with key `key`) as planned no more. */
  remove(e: Entry, key: string): void {
    const part = partOf(e);
    if (part === undefined) {
      const n = (this.others.get(key) ?? 0) - 1;
      if (n > 0) this.others.set(key, n);
      else this.others.delete(key);
      return;
    }
    const g = this.byPart.get(part);
    if (g === undefined) return;
    if (!Array.isArray(g)) {
      if (g === e || entryKey(g) === key) this.byPart.delete(part);
      return;
    }
    // The entry itself, else one with its key (an equal entry planned again).
    let i = g.indexOf(e);
    if (i < 0) i = g.findIndex((x) => entryKey(x) === key);
    if (i < 0) return;
    const rest = g.filter((_, j) => j !== i);
    this.byPart.set(part, rest.length === 1 ? rest[0] : rest);
  }

  /** Whether an entry with this kinds key is planned. */
  has(key: string): boolean {
    const kind = kindOfKey(key);
    if (kind === undefined) return this.others.has(key);
    return this.entry(key) !== undefined;
  }

  /** The planned route, neighbour or fdb entry of this kinds key (other kinds are only counted: undefined). */
  entry(key: string): Entry | undefined {
    const kind = kindOfKey(key);
    if (kind === undefined) return undefined;
    const g = this.byPart.get(KEY_PARTS[kind].ofKey(key));
    if (g === undefined) return undefined;
    return Array.isArray(g) ? g.find((x) => entryKey(x) === key) : entryKey(g) === key ? g : undefined;
  }
}
