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
// - The deletion of a device the model holds makes the model unknown (the
//   kernel drops its IPv4 routes with no event) and is a repair. Other device
//   events are left to the resync: the ones ovlnet's own writes cause (a
//   device created down, then set up) arrive after the cycle that wrote them
//   and can not be told from someone else's. A device set down by hand (its
//   IPv4 routes go without an event) is therefore repaired by the resync.
// - Non-permanent neighbour states (the FAILED a deletion first reports,
//   learned entries) and the bridge family's entries `ip monitor` also prints
//   (NOARP; `bridge monitor fdb` reports those) are not ovlnet's neighbours.
import type { KernelEvent } from '../host/parse-monitor.js';
import { entryKey } from '../kinds/index.js';
import { OVLNET_ROUTE_PROTO } from '../model/keys.js';
import type { ActualState, DesiredState, EntryKind, HostRoute } from '../model/types.js';

/** The objects of the plan, by kinds key (`route:DST`, `neigh:DEV/IP`, `fdb:DEV/MAC/DST`, `link:NAME`). */
export interface Owned {
  keys: { has(key: string): boolean };
  /** ovlnet's devices: the fdb read covers these. */
  devices: ReadonlySet<string>;
}

/**
 * What the plan holds: the objects whose loss is repaired. The plan's own
 * key lookup when it has one (an event cycle's plan: no 30 000 keys built per
 * cycle), else a set of its entries' keys.
 */
export function ownedFrom(desired: DesiredState): Owned {
  const devices = new Set<string>();
  for (const d of [desired.device, desired.device6]) if (d) devices.add(d);
  return { keys: desired.entryKeys ?? new Set(desired.entries.map(entryKey)), devices };
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
}

function sameRoute(a: HostRoute, b: HostRoute): boolean {
  return a.dst.text === b.dst.text && a.proto === b.proto && (a.via?.text ?? '') === (b.via?.text ?? '') && (a.dev ?? '') === (b.dev ?? '')
    && a.onlink === b.onlink && (a.type ?? '') === (b.type ?? '');
}

/** The kinds key and kind an event is about. */
export function eventObject(e: KernelEvent): { kind: EntryKind; object: string } {
  switch (e.kind) {
    case 'route': return { kind: 'route', object: `route:${e.route.dst.text}` };
    case 'neigh': return { kind: 'neigh', object: `neigh:${e.dev}/${e.ip.text}` };
    case 'fdb': return { kind: 'fdb', object: `fdb:${e.dev}/${e.mac.text}/${e.dst.text}` };
    case 'link': return { kind: 'link', object: `link:${e.name}` };
  }
}

/** Whether the event concerns something the model holds (its scope), whatever the model's content. */
function inScope(e: KernelEvent, owned: Owned): boolean {
  if (e.kind === 'neigh') return e.deleted || (e.states.includes('PERMANENT') && !e.states.includes('NOARP') && e.mac !== undefined);
  if (e.kind === 'fdb') return owned.devices.has(e.dev) && e.self && (e.deleted || e.permanent);
  return true;
}

/**
 * Applies `events` (in the order the kernel reported them) to `model`.
 * Returns a new state when an event changed it, else `model` itself (the
 * echoes of ovlnet's own writes change nothing, and an unchanged model keeps
 * the incremental plan's index of it: engine/kernel-index.ts); `model` is
 * never modified.
 */
export function applyKernelEvents(model: ActualState | undefined, events: readonly KernelEvent[], owned: Owned): EventsOutcome {
  let next: ActualState | undefined = model;
  // The state to modify: a copy of `model`, made by the first event that changes it.
  const edit = (): ActualState => {
    if (next === model) next = { ...model! };
    return next!;
  };
  let unknown: string | undefined;
  const repairs = new Map<string, Repair>();
  const repair = (e: KernelEvent, what: Repair['what']) => {
    const { kind, object } = eventObject(e);
    if (owned.keys.has(object) && !repairs.has(object)) repairs.set(object, { kind, object, what });
  };
  const forget = (why: string) => {
    if (next) unknown = why;
    next = undefined;
  };
  for (const e of events) {
    if (!inScope(e, owned)) continue;
    const { object } = eventObject(e);
    if (!next) {
      // Without a model, only what the plan holds matters: a deletion of it is a repair.
      if (e.deleted) repair(e, 'deleted');
      continue;
    }
    const m: ActualState = next;
    switch (e.kind) {
      case 'route': {
        const i = m.routes.findIndex((r) => r.dst.text === e.route.dst.text && sameRoute(r, e.route));
        if (e.deleted) {
          if (i >= 0) {
            edit().routes = m.routes.filter((_, j) => j !== i);
            repair(e, 'deleted');
          }
        } else if (i < 0) {
          if (owned.keys.has(object)) {
            forget(`${object} changed by another writer`);
            repair(e, 'changed');
          } else if (e.route.proto === OVLNET_ROUTE_PROTO) {
            // ovlnet's own route no longer planned: an echo of an earlier cycle's write, or not; a read tells.
            forget(`${object} of ovlnet's protocol appeared`);
          } else {
            // Foreign routes (the kernel's own, another agent's) are taken as they are.
            edit().routes = [...m.routes, e.route];
          }
        }
        break;
      }
      case 'neigh': {
        const i = m.neighbors.findIndex((n) => n.ip.text === e.ip.text && n.dev === e.dev);
        if (e.deleted) {
          if (i >= 0) {
            edit().neighbors = m.neighbors.filter((_, j) => j !== i);
            repair(e, 'deleted');
          }
        } else if (i < 0 || m.neighbors[i].mac.text !== e.mac!.text) {
          if (owned.keys.has(object) || owned.devices.has(e.dev)) {
            forget(`${object} changed by another writer`);
            repair(e, 'changed');
          } else {
            // A foreign device's permanent neighbour: taken as it is.
            edit().neighbors = [...m.neighbors.filter((_, j) => j !== i), { kind: 'neigh', dev: e.dev, ip: e.ip, mac: e.mac! }];
          }
        }
        break;
      }
      case 'fdb': {
        const i = m.fdb.findIndex((f) => f.dev === e.dev && f.mac.text === e.mac.text && f.dst.text === e.dst.text);
        if (e.deleted) {
          if (i >= 0) {
            edit().fdb = m.fdb.filter((_, j) => j !== i);
            repair(e, 'deleted');
          }
        } else if (i < 0) {
          // `fdb replace` rewrites an entry of the same MAC: which one is not in the event.
          forget(`${object} added by another writer`);
          for (const f of m.fdb) {
            if (f.dev === e.dev && f.mac.text === e.mac.text) {
              const k = `fdb:${f.dev}/${f.mac.text}/${f.dst.text}`;
              if (owned.keys.has(k) && !repairs.has(k)) repairs.set(k, { kind: 'fdb', object: k, what: 'changed' });
            }
          }
        }
        break;
      }
      case 'link': {
        // Only the deletion of the device the model holds (by index: a replaced
        // device's old one going is ovlnet's own write, echoed).
        const l = m.links.get(e.name);
        if (l && e.deleted && l.index === e.index) {
          forget(`${object} deleted`);
          repair(e, 'deleted');
        }
        break;
      }
    }
  }
  return { model: next, unknown, repairs: [...repairs.values()] };
}
