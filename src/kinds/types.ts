// What every kind of kernel object ovlnet manages must say about itself
// (one spec per kind, src/kinds/<kind>.ts, all in kinds/index.ts). diff(),
// the write order, the batch renderer, the descriptions and the daemon's
// kernel model are loops over the registry; a kind whose order matters
// (nat) or whose recreation wipes others (a device) keeps an explicit hook.
import type { WritePhases } from '../engine/host.js';
import type { Batch, Tool } from '../engine/batches.js';
import type { Failure } from '../host/write.js';
import { isValidDeviceName } from '../model/keys.js';
import type { ListEdit } from '../model/keyed-list.js';
import type { ActualState, Change, ChangeOf, Entry, FdbEntry, HostRoute, NeighEntry, Problem } from '../model/types.js';
import type { Flushes } from '../reconcile/kernel-effects.js';
import type { OwnershipPolicy } from '../reconcile/ownership.js';

/**
 * A kind the host's batch read (ip/bridge) does not return: what a cycle asks
 * its reader for and where the answer goes in ActualState. Kinds sharing a
 * reader (same `name`) are read once. Pure: the reading is the driver's.
 */
export interface KindReader {
  /** The key of its question in ReadScope.readers and of the answer in HostRead.readers. */
  name: string;
  /**
   * What to read for this plan, given the host's links: undefined when the
   * plan has nothing of the kind (nothing read, nothing stored); `ask`
   * undefined when there is nothing on the host to ask about (stored as empty).
   */
  scope(desired: readonly Entry[], actual: ActualState): { ask?: unknown } | undefined;
  /** Puts the answer into `actual`: `undefined` when nothing was asked, `unreadable` when reading needs root ovlnet lacks. */
  store(actual: ActualState, read: unknown, unreadable?: boolean): void;
  /** Reported when reading needs root (diff without sudo) and the kind is then not judged; absent: the permission error is thrown. */
  unprivileged?: Problem;
}

/** The host side of a kind with a reader or a writer of its own: the only part that runs tools. */
export interface KindDriver {
  read?(netns: string | undefined, ask: unknown): Promise<unknown>;
  /** Writes one batch of its tool (every line a change of a kind with this driver). */
  write?(b: Batch, netns: string | undefined): Promise<Failure[]>;
}

/** Batch lines for one change, each with its tool, in execution order. */
export type Lines = Array<[Tool, string]>;

export type { ChangeOf } from '../model/types.js';

/**
 * One field that differs between the desired and the actual entry: the
 * structured reason of a change. `text` when `field from -> to` is not how
 * it reads (a route's forwarding as a whole, a flag).
 */
export interface Difference {
  field: string;
  from: string;
  to: string;
  /** Only deleting and creating the object again changes it (a vxlan device's id, port...). */
  recreate?: boolean;
  text?: string;
}

/** The one-line text of a change's reason, as diff, apply and the daemon print it. */
export function formatDifferences(ds: readonly Difference[]): string {
  return ds.map((d) => d.text ?? `${d.field} ${d.from} -> ${d.to}`).join(', ');
}

/** What one diff() run shares between the kinds' hooks. */
export interface DiffContext {
  actual: ActualState;
  policy: OwnershipPolicy;
  changes: Change[];
  /** Devices (re)created by this diff: everything on them is to be written again. */
  fresh: Set<string>;
  /** What ovlnet owns on the host now, by key. */
  owned: Map<string, Entry>;
  /** Routes ovlnet does not own, by destination. */
  foreignRoutes: Map<string, HostRoute>;
  /** Routes flanneld left (ownership.ts inheritsRoute), by destination: replaced when wrong, deleted when stale. */
  inherited: Map<string, HostRoute>;
  /** The public IPs of the nodes the plan knows. */
  nodeIPs: ReadonlySet<string>;
  /** What the kernel flushes by itself when the plan is written (reconcile/kernel-effects.ts). */
  flushes: Flushes;
  conflicts: Problem[];
  adopted: string[];
  inSync: number;
}

export interface KindSpec<E extends Entry> {
  kind: E['kind'];
  /** Stable identity: two entries with one key are the same object to the kernel. */
  key(e: E): string;
  /** What differs between a desired entry and the actual one of the same key; empty when in sync. */
  compare(desired: E, actual: E): Difference[];
  /**
   * Write phases, smaller first: `delete` for deletions, `add` for additions,
   * changes and replacements (a replaced device's delete half goes first there).
   * Deletions come first except where a kind says otherwise (addresses).
   */
  order: { delete: number; add: number };
  /** Who writes it: an ip or bridge batch, or a driver with its own process (ethtool, iptables-restore). */
  writer: Tool;
  /** Batch lines (ip/bridge writers). */
  lines?: {
    add(e: E, replace: boolean): Lines;
    delete(e: E): Lines;
    /** A change in place; default: add with replace. */
    change?(desired: E, actual: E | undefined): Lines;
  };
  /** Driver writers: the phases that write these changes (ordered), given the whole plan and host. */
  phases?(changes: ChangeOf<E>[], ctx: { desired: readonly Entry[]; actual: ActualState }): WritePhases;
  /**
   * Its `phases` are one phase that needs only the devices (written in the
   * phases before it), not the peers' neighbours, fdb entries or routes: it
   * runs beside the last ip/bridge phase instead of after it (engine/phases.ts).
   */
  besidePeers?: true;
  /**
   * Driver writers of objects the ip/bridge batches need (a device they put
   * addresses and routes on): phases run before those batches. Kinds sharing
   * the function are written together, as for `phases`.
   */
  early?(changes: ChangeOf<E>[], ctx: { desired: readonly Entry[]; actual: ActualState }): WritePhases;
  /**
   * `plan -o commands` lines of a driver kind for an empty host, given every
   * desired entry: `first` before the ip/bridge lines, `last` after them.
   * Kinds sharing the function are rendered once.
   */
  commands?(entries: readonly Entry[]): { first: string[]; last: string[] };
  /** Read by a reader of its own (see KindReader); its `driver` does the reading. */
  reader?: KindReader;
  /**
   * The host side of a kind read or written by neither the ip/bridge batches
   * nor ethtool/sysctl/iptables: loaded (import()) only when its kind is
   * read or written, so a plan never loads it.
   */
  driver?(): Promise<KindDriver>;
  /** How many objects of this kind ovlnet owns on the host now, when `peer` and the mass-deletion guard counts them (routes are counted by the engine). */
  ownedPeers?(actual: ActualState, policy: OwnershipPolicy): number;
  /** One line for tables and logs. */
  describe(e: E): string;
  /** The plan table's count line names a backend's own kind by this noun (one, many; default one + 's'). */
  noun?: readonly [string, string?];
  /** Hook for devices: diffs one desired device, noting it in ctx.fresh / ctx.flushes.macChanged. */
  device?(desired: E, ctx: DiffContext): void;
  /** Puts the actual entries of this kind that the ownership policy makes ovlnet's into ctx.owned. */
  collectOwned?(ctx: DiffContext, onFreshDevice: (dev: string | undefined) => boolean): void;
  /** A desired entry ovlnet does not own: true when the hook settled it (adopted or in conflict). */
  unowned?(desired: E, key: string, ctx: DiffContext): boolean;
  /** Hook for kinds diffed as a whole (order matters): all desired entries of the kind at once. */
  diffAll?(desired: E[], ctx: DiffContext): void;
  /** After the stale entries: what else of this kind is to go (routes flanneld left that the plan does not want). */
  finish?(ctx: DiffContext): void;
  /**
   * One object per peer (a route, a WireGuard peer): the mass-deletion guard
   * counts deletions of this kind as peers removed.
   */
  peer?: boolean;
  /** Owned but no longer desired is left as it is (a pinned feature is only read while desired). */
  keepStale?: boolean;
  /**
   * How the daemon's kernel model follows a written change: `reread` (read
   * again by every snapshot, nothing to model), a model, or absent: the
   * kernel's side effects are wider than the change (the host is read again).
   */
  model?: 'reread' | KindModel<E>;
  /**
   * Objects the kernel deletes with the device they hang on (a device kind:
   * the device itself). Every kind whose entries name a device has one
   * (test/unit/kinds/index.test.ts): the daemon's kernel model drops them
   * with a deleted device (daemon/kernel-events.ts withoutDevice).
   */
  onDevice?: DeviceBound<E>;
}

/**
 * The kernel model's per-peer lists as one batch of kernel events edits them
 * (model/keyed-list.ts: looked up by key, copied once per batch).
 */
export interface ModelLists {
  routes: ListEdit<HostRoute>;
  neighbors: ListEdit<NeighEntry>;
  fdb: ListEdit<FdbEntry>;
}

export interface DeviceBound<E extends Entry> {
  /** The device an entry hangs on (a device kind: its own name). */
  device(e: E): string;
  /**
   * Takes this kind's objects on `dev` out of `m` (a shallow copy of the
   * model: a field is replaced, never edited in place) or `lists`, as a host
   * read after the deletion would have them; returns why that can not be
   * known, if so (the caller then reads the host).
   */
  drop(m: ActualState, dev: string, lists: ModelLists): string | undefined;
}

/** DeviceBound.drop of a device kind: the link (with its addresses) leaves the model's links. */
export function dropLink(m: ActualState, dev: string): undefined {
  if (!m.links.has(dev)) return undefined;
  m.links = new Map(m.links);
  m.links.delete(dev);
  return undefined;
}

export interface KindModel<E extends Entry> {
  /** Why these changes can not be followed without reading the host, or undefined. */
  unknown?(actual: ActualState, changes: ChangeOf<E>[]): string | undefined;
  /** Sets in `next` (a shallow copy of `actual`) what these changes made of it. */
  apply(next: ActualState, actual: ActualState, changes: ChangeOf<E>[]): void;
}

export function dev(name: string): string {
  if (!isValidDeviceName(name)) throw new Error(`refusing to render device name ${JSON.stringify(name)}`);
  return name;
}

export function int(n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new Error(`refusing to render number ${n}`);
  return String(n);
}

/** `up -> down` / `down -> up` */
export function upDown(from: boolean, to: boolean): Difference {
  return { field: 'state', from: from ? 'up' : 'down', to: to ? 'up' : 'down', text: to ? 'down -> up' : 'up -> down' };
}
