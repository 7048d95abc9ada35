// Kernel events (src/host/parse-monitor.ts) applied to the daemon's kernel
// model (kernel-model.ts) between cycles, so the model stays true between
// resyncs, and the objects ovlnet owns that the kernel lost or someone changed
// are named for repair. Pure.
//
// - A deletion removes the entry from the model. When the plan holds that
//   object, it is a repair. A deletion of something the model no longer has
//   (ovlnet's own delete, echoed) changes nothing.
// - An addition or change that matches the model is ovlnet's own write,
//   echoed: nothing to do. One that does not match, about an object of the
//   plan or on ovlnet's devices, makes the model unknown (the next cycle
//   reads the host in full); when the object is the plan's, it is a repair
//   too. Foreign routes and neighbours elsewhere (the kernel's IPv6 routes
//   of a device coming up, another agent's) are added to the model as the
//   event says.
// - The deletion of a device the model holds is a repair of that one object
//   (the rate limit counts the device, not the 15 000 entries it took
//   along), and is modelled: the kernel drops the device's addresses, routes,
//   neighbours and fdb entries with it (its IPv4 routes without an event),
//   so they all leave the model, and the repair diffs the plan against it
//   (engine/incremental.ts) instead of reading the host.
// - Any other event of a device of the plan the model holds (set down,
//   which is also how its deletion begins; an MTU, a MAC, a vxlan attribute
//   changed: the event's text does not say which), and a flush of its
//   entries (BULK_DELETIONS in one batch: a vxlan device's deletion begins
//   with its fdb, and at thousands of peers the deletion's own event is
//   lost in that burst), ask for a read of the host's devices (`check`;
//   kernel-watch.ts does it and holds the repairs meanwhile). Its answer,
//   a `devices` event, is judged by device-check.ts: deleted (modelled as
//   above), changed in place (the model takes the read device: a repair of
//   it), or beyond the model (set down: the kernel dropped its IPv4 routes
//   without an event; replaced; an address gone): a repair that reads the
//   host first. A device reported down keeps that in the model until the
//   read, even if an "up" follows: a device set down and up again has lost
//   its IPv4 routes too. ovlnet's own writes can cause such events (a
//   device created down, then set up, echoed after the cycle's last read):
//   then the read, or the one host read, finds nothing to do.
// - Non-permanent neighbour states (the FAILED a deletion first reports,
//   learned entries) and the bridge family's entries `ip monitor` also prints
//   (NOARP; `bridge monitor fdb` reports those) are not ovlnet's neighbours.
import type { KernelEvent } from '../host/parse-monitor.js';
import { entryKey, KIND_LIST } from '../kinds/index.js';
import type { ModelLists } from '../kinds/types.js';
import { OVLNET_ROUTE_PROTO } from '../model/keys.js';
import { fdbByMac, ListEdit, neighborsByAddress, routesByDst } from '../model/keyed-list.js';
import type { ActualState, DesiredState, Entry, EntryKind, HostLink, HostRoute } from '../model/types.js';
import { deviceVerdict } from './device-check.js';

/**
 * A read of the host's devices (links with their addresses) that `check`
 * asked for: `names`, the devices it was asked about.
 */
export interface DevicesRead {
  kind: 'devices';
  links: ReadonlyMap<string, HostLink>;
  names: readonly string[];
}

/** What the daemon's model follows: the monitors' events and the device reads they asked for. */
export type WatchEvent = KernelEvent | DevicesRead;

/** Deletions of one device's entries in one batch from which it is a flush: a read tells whether the device is going. */
export const BULK_DELETIONS = 8;

/** The objects of the plan, by kinds key (`route:DST`, `neigh:DEV/IP`, `fdb:DEV/MAC/DST`, `link:NAME`). */
export interface Owned {
  keys: { has(key: string): boolean };
  /** The planned route or neighbour of this key: an addition equal to it is ovlnet's own write echoed. */
  plannedEntry?(key: string): Entry | undefined;
  /** ovlnet's devices: the fdb read covers these. */
  devices: ReadonlySet<string>;
}

/**
 * What the plan holds: the objects whose loss is repaired. The plan's own
 * key lookup when it has one (an event cycle's plan: no 30 000 keys built per
 * cycle), else a set of its entries' keys. The planned entries by key come
 * from the same lookup (keys and entries of one plan, the plan as it now is:
 * the kernel watch keeps this past later cycles, and a cycle that fails with
 * its device vanished keeps the plan it updated; an incremental snapshot's
 * entry list, built when first read, would be the plan at that read,
 * engine/incremental.ts); a full plan's are indexed when first asked for:
 * only an addition missing from the model asks (an echo of ovlnet's write
 * after a read), not every cycle.
 */
export function ownedFrom(desired: DesiredState): Owned {
  const devices = new Set<string>();
  for (const d of [desired.device, desired.device6]) if (d) devices.add(d);
  const keys = desired.entryKeys;
  if (keys) return { keys, plannedEntry: (key) => keys.entry(key), devices };
  let planned: Map<string, Entry> | undefined;
  const plannedEntry = (key: string): Entry | undefined => {
    if (!planned) {
      planned = new Map();
      for (const e of desired.entries) if (e.kind === 'route' || e.kind === 'neigh') planned.set(entryKey(e), e);
    }
    return planned.get(key);
  };
  return { keys: new Set(desired.entries.map(entryKey)), plannedEntry, devices };
}

export interface Repair {
  kind: EntryKind;
  /** The kinds key of the object. */
  object: string;
  /** What happened to it: `deleted`, `changed`. */
  what: 'deleted' | 'changed';
}

export interface EventsOutcome {
  /** The model after the events; undefined when the events make it unknown (or it was). */
  model: ActualState | undefined;
  /** Why the model became unknown (for the debug log); undefined when it did not. */
  unknown?: string;
  /** Objects of the plan to write again, each once. */
  repairs: Repair[];
  /** Devices of the plan whose state only a read of the host's devices can tell (a `devices` event then). */
  check: string[];
}

function sameRoute(a: HostRoute, b: HostRoute): boolean {
  return a.dst.text === b.dst.text && a.proto === b.proto && (a.via?.text ?? '') === (b.via?.text ?? '') && (a.dev ?? '') === (b.dev ?? '')
    && a.onlink === b.onlink && (a.type ?? '') === (b.type ?? '');
}

/** The kinds key and kind an event is about. */
export function eventObject(e: WatchEvent): { kind: EntryKind; object: string } {
  switch (e.kind) {
    case 'route': return { kind: 'route', object: `route:${e.route.dst.text}` };
    case 'neigh': return { kind: 'neigh', object: `neigh:${e.dev}/${e.ip.text}` };
    case 'fdb': return { kind: 'fdb', object: `fdb:${e.dev}/${e.mac.text}/${e.dst.text}` };
    case 'link': return { kind: 'link', object: `link:${e.name}` };
    case 'devices': return { kind: 'link', object: `link:${e.names.join(',')}` };
  }
}

/** Whether the event concerns something the model holds (its scope), whatever the model's content. */
function inScope(e: WatchEvent, owned: Owned): boolean {
  if (e.kind === 'neigh') return e.deleted || (e.states.includes('PERMANENT') && !e.states.includes('NOARP') && e.mac !== undefined);
  if (e.kind === 'fdb') return owned.devices.has(e.dev) && e.self && (e.deleted || e.permanent);
  return true;
}

/**
 * The model without `dev` and everything the kernel drops with it: each
 * kind's objects on it (the kinds' `onDevice`: its addresses, the routes,
 * neighbours and fdb entries through it, its pinned sysctl settings,
 * offload features and WireGuard half). Exactly what a host read would
 * return after the deletion, so the repair is a diff against it (no read,
 * no replan). Returns why the model can not follow, if so.
 */
function withoutDevice(m: ActualState, dev: string, tables: Tables): string | undefined {
  for (const spec of KIND_LIST) {
    const why = spec.onDevice?.drop(m, dev, tables);
    if (why) return why;
  }
  return undefined;
}

/**
 * The model's lists under a batch of events: looked up by key through the
 * index each list keeps (model/keyed-list.ts), so a batch costs O(events)
 * plus one copy of each list it changes (the echoes of a 15 000-entry write
 * arrive as one queue after the cycle that wrote them).
 */
type Tables = ModelLists;

/**
 * Applies `events` (in the order the kernel reported them) to `model`.
 * Returns a new state when an event changed it, else `model` itself (the
 * echoes of ovlnet's own writes change nothing, and an unchanged model keeps
 * the incremental plan's index of it: engine/kernel-index.ts); `model` is
 * never modified.
 */
export function applyKernelEvents(model: ActualState | undefined, events: readonly WatchEvent[], owned: Owned): EventsOutcome {
  let next: ActualState | undefined = model ? { ...model } : undefined;
  let unknown: string | undefined;
  const repairs = new Map<string, Repair>();
  const repairOf = (kind: EntryKind, object: string, what: Repair['what']) => {
    if (owned.keys.has(object) && !repairs.has(object)) repairs.set(object, { kind, object, what });
  };
  const repair = (e: KernelEvent, what: Repair['what']) => {
    const { kind, object } = eventObject(e);
    repairOf(kind, object, what);
  };
  const forget = (why: string) => {
    if (next) unknown = why;
    next = undefined;
  };
  const t: Tables | undefined = model && {
    routes: new ListEdit(model.routes, routesByDst),
    neighbors: new ListEdit(model.neighbors, neighborsByAddress),
    fdb: new ListEdit(model.fdb, fdbByMac),
  };
  let devicesGone = false;
  /** Devices of the plan whose state a read must tell. */
  const check = new Set<string>();
  /** Deletions of entries the model held, by device of the plan (a flush: BULK_DELETIONS). */
  const flushed = new Map<string, number>();
  const removedFrom = (dev: string | undefined) => {
    if (dev === undefined || !owned.devices.has(dev)) return;
    const n = (flushed.get(dev) ?? 0) + 1;
    flushed.set(dev, n);
    if (n === BULK_DELETIONS) check.add(dev);
  };
  /** The device and everything on it left the kernel. */
  const gone = (m: ActualState, name: string, tables: Tables) => {
    const why = withoutDevice(m, name, tables);
    if (why) forget(why);
    devicesGone = true;
    repairOf('link', `link:${name}`, 'deleted');
  };
  /** A read of the devices that `check` asked for. */
  const devices = (m: ActualState, e: DevicesRead) => {
    for (const name of e.names) {
      if (!next || !t) return;
      const verdict = deviceVerdict(m.links.get(name), e.links.get(name));
      if (verdict === 'deleted') gone(m, name, t);
      else if (verdict === 'changed') {
        m.links = new Map(m.links);
        m.links.set(name, e.links.get(name)!);
        repairOf('link', `link:${name}`, 'changed');
      } else if (verdict === 'unknown') {
        repairOf('link', `link:${name}`, 'changed');
        forget(`device ${name} set down, replaced or renumbered`);
      }
    }
  };
  for (const e of events) {
    if (!inScope(e, owned)) continue;
    if (e.kind === 'devices') {
      if (next) devices(next, e);
      continue;
    }
    const { object } = eventObject(e);
    if (!next || !t) {
      // Without a model, only what the plan holds matters: a deletion of it is a repair.
      if (e.deleted) repair(e, 'deleted');
      continue;
    }
    const m: ActualState = next;
    switch (e.kind) {
      case 'route': {
        const r = t.routes.get(e.route.dst.text).find((x) => sameRoute(x, e.route));
        if (e.deleted) {
          if (r) {
            t.routes.remove(r);
            repair(e, 'deleted');
            removedFrom(r.dev);
          }
        } else if (!r) {
          const p = owned.plannedEntry?.(object);
          if (p?.kind === 'route' && sameRoute({ ...p }, e.route)) {
            // ovlnet's own write of the plan, echoed after a host read that a queued deletion undid in the model.
            t.routes.add(e.route);
          } else if (owned.keys.has(object)) {
            forget(`${object} changed by another writer`);
            repair(e, 'changed');
          } else if (e.route.proto === OVLNET_ROUTE_PROTO) {
            // ovlnet's own route no longer planned: an echo of an earlier cycle's write, or not; a read tells.
            forget(`${object} of ovlnet's protocol appeared`);
          } else {
            // Foreign routes (the kernel's own, another agent's) are taken as they are.
            t.routes.add(e.route);
          }
        }
        break;
      }
      case 'neigh': {
        const n = t.neighbors.get(`${e.dev}/${e.ip.text}`)[0];
        if (e.deleted) {
          if (n) {
            t.neighbors.remove(n);
            repair(e, 'deleted');
            removedFrom(n.dev);
          }
        } else if (!n || n.mac.text !== e.mac!.text) {
          const p = owned.plannedEntry?.(object);
          if (!n && p?.kind === 'neigh' && p.mac.text === e.mac!.text) {
            // ovlnet's own write, echoed (as for routes above).
            t.neighbors.add({ kind: 'neigh', dev: e.dev, ip: e.ip, mac: e.mac! });
          } else if (owned.keys.has(object) || owned.devices.has(e.dev)) {
            forget(`${object} changed by another writer`);
            repair(e, 'changed');
          } else {
            // A foreign device's permanent neighbour: taken as it is.
            if (n) t.neighbors.remove(n);
            t.neighbors.add({ kind: 'neigh', dev: e.dev, ip: e.ip, mac: e.mac! });
          }
        }
        break;
      }
      case 'fdb': {
        const same = t.fdb.get(`${e.dev}/${e.mac.text}`);
        const f = same.find((x) => x.dst.text === e.dst.text);
        if (e.deleted) {
          if (f) {
            t.fdb.remove(f);
            repair(e, 'deleted');
            removedFrom(f.dev);
          }
        } else if (!f) {
          // `fdb replace` rewrites an entry of the same MAC: which one is not in the event.
          forget(`${object} added by another writer`);
          for (const x of same) {
            const k = `fdb:${x.dev}/${x.mac.text}/${x.dst.text}`;
            if (owned.keys.has(k) && !repairs.has(k)) repairs.set(k, { kind: 'fdb', object: k, what: 'changed' });
          }
        }
        break;
      }
      case 'link': {
        // Only the device the model holds (by index: a replaced device's old
        // one going is ovlnet's own write, echoed).
        const l = m.links.get(e.name);
        if (!l) break;
        if (e.deleted) {
          if (l.index !== e.index) break;
          gone(m, e.name, t);
          check.delete(e.name);
        } else if (owned.devices.has(e.name)) {
          // Another device of that name (a replacement ovlnet did not write, or its own, echoed late) or this one changed: a read tells.
          check.add(e.name);
          if (l.index === e.index && l.up && !e.up) {
            // Kept until the read, even when an "up" follows: a device set down and up again has lost its IPv4 routes.
            m.links = new Map(m.links);
            m.links.set(e.name, { ...l, up: false });
          }
        }
        break;
      }
    }
  }
  if (next && t) {
    const m: ActualState = next;
    if (!devicesGone && m.links === model!.links && !t.routes.changed && !t.neighbors.changed && !t.fdb.changed) return { model, unknown, repairs: [...repairs.values()], check: [...check] };
    if (t.routes.changed) m.routes = t.routes.result();
    if (t.neighbors.changed) m.neighbors = t.neighbors.result();
    if (t.fdb.changed) m.fdb = t.fdb.result();
  }
  // Without a model there is nothing for a read to be compared with: the next cycle reads the host.
  return { model: next, unknown, repairs: [...repairs.values()], check: next ? [...check] : [] };
}
