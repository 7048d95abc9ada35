// The registry of kernel-object kinds: one spec per kind (see types.ts). A
// Record over every EntryKind, so a kind without a spec does not compile.
import type { Change, Entry, EntryKind } from '../model/types.js';
import { addr } from './addr.js';
import { fdb } from './fdb.js';
import { filter } from './filter.js';
import { link } from './link.js';
import { nat } from './nat.js';
import { neigh } from './neigh.js';
import { offload } from './offload.js';
import { route } from './route.js';
import { sysctl } from './sysctl.js';
import { tun } from './tun.js';
import { wgDevice } from '../backends/wireguard/kind-device.js';
import { wgPeer } from '../backends/wireguard/kind-peer.js';
import type { KindSpec } from './types.js';

export const KINDS: { [K in EntryKind]: KindSpec<Extract<Entry, { kind: K }>> } = {
  // The order the diff collects what ovlnet owns and lists stale entries in.
  link, tun, 'wg-device': wgDevice, addr, neigh, fdb, offload, sysctl, 'wg-peer': wgPeer, route, nat, filter,
};

/** The kinds in registry order. */
export const KIND_LIST = Object.values(KINDS) as ReadonlyArray<KindSpec<Entry>>;

/** The spec of a kind, for code that handles every kind alike. */
export function specOf(kind: EntryKind): KindSpec<Entry> {
  return KINDS[kind] as unknown as KindSpec<Entry>;
}

/** Stable identity of a kernel object: two entries with one key are the same object to the kernel. */
export function entryKey(e: Entry): string {
  return specOf(e.kind).key(e);
}

export type { KindSpec } from './types.js';

/** The entry a change is about: the desired one, or for a deletion the actual one. */
export function entryOf<C extends Change>(c: C): Exclude<C['desired'] | C['actual'], undefined> {
  return (c.action === 'delete' ? c.actual : c.desired) as Exclude<C['desired'] | C['actual'], undefined>;
}

/** The change adding `e` (any kind: the union is built here, once, for code that handles kinds alike). */
export function addOf(e: Entry, key = entryKey(e)): Change {
  return { action: 'add', kind: e.kind, key, desired: e } as Change;
}

/** The change deleting `e`. */
export function deleteOf(e: Entry, key = entryKey(e), detail?: string): Change {
  return { action: 'delete', kind: e.kind, key, actual: e, ...(detail ? { detail } : {}) } as Change;
}

/** The change setting `actual` (same kind and key) to `desired`. */
export function changeOf(desired: Entry, actual: Entry, key: string, detail: string): Change {
  return { action: 'change', kind: desired.kind, key, desired, actual, detail } as Change;
}
