// The daemon's model of the kernel: the host as last read in full, updated
// with the changes written successfully since (the dataplane half of a
// desired-vs-dataplane pair, as in Calico Felix's route table). Event cycles
// diff against it instead of re-reading 30 000 entries; resync cycles read
// the host and replace it. Pure.
//
// Only the per-peer entries are modelled: routes, permanent neighbours and fdb
// entries, which the kernel changes exactly as the batch lines say. Anything
// whose kernel side effects are wider (a device created or replaced flushes its
// entries, an address brings routes, removing a device's last IPv4 address
// flushes its IPv4 routes and neighbours, a new device MAC its neighbours: see
// reconcile/kernel-effects.ts) makes the model unknown: the caller then reads
// the host in full. Offload features are re-read by every snapshot when
// planned, so they need no model. The iptables tables of the last full read
// are kept for event cycles (the daemon re-reads them every --iptables-resync);
// a rule written makes the model unknown, so the jump is never written twice.
// Pinned sysctl settings are read with the host and kept here (a write sets
// exactly the value written).
import type { ActualState, Change, FdbEntry, HostRoute, NeighEntry, RouteEntry, SysctlEntry } from '../model/types.js';

/** Why `applied` can not be modelled, or undefined when it can. */
export function unmodelled(actual: ActualState, applied: readonly Change[]): string | undefined {
  for (const c of applied) {
    switch (c.kind) {
      case 'route':
      case 'neigh':
      case 'fdb':
      case 'offload':
      case 'sysctl':
        break;
      default:
        return `${c.action} ${c.key}`;
    }
  }
  // `fdb replace MAC dst B` rewrites the first destination the kernel has for
  // MAC; which one that is when there are several is not in the model.
  const fdbAdds = new Set<string>();
  const fdbDeletes = new Set<string>();
  for (const c of applied) {
    if (c.kind !== 'fdb') continue;
    const e = (c.desired ?? c.actual) as FdbEntry;
    if (c.action === 'delete') fdbDeletes.add(fdbKey(e));
    else fdbAdds.add(`${e.dev}/${e.mac.text}`);
  }
  if (fdbAdds.size) {
    for (const f of actual.fdb) {
      if (fdbAdds.has(`${f.dev}/${f.mac.text}`) && !fdbDeletes.has(fdbKey(f))) return `fdb replace over ${f.mac.text} dst ${f.dst.text} on ${f.dev}`;
    }
  }
  // `route replace` / `route add` of a destination a route ovlnet does not
  // own also holds: which route the kernel replaced is not in the model.
  const routeDsts = new Map<string, number>();
  for (const c of applied) {
    if (c.kind === 'route' && c.action !== 'delete') routeDsts.set((c.desired as RouteEntry).dst.text, (c.actual as RouteEntry | undefined)?.proto ?? -1);
  }
  if (routeDsts.size) {
    for (const r of actual.routes) {
      const proto = routeDsts.get(r.dst.text);
      if (proto !== undefined && r.proto !== proto) return `route to ${r.dst.text} also held by protocol ${r.proto}`;
    }
  }
  return undefined;
}

function fdbKey(f: FdbEntry): string {
  return `${f.dev}/${f.mac.text}/${f.dst.text}`;
}

function neighKey(n: NeighEntry): string {
  return `${n.dev}/${n.ip.text}`;
}

function sameRoute(r: HostRoute, e: RouteEntry): boolean {
  return r.dst.text === e.dst.text && r.proto === e.proto && (r.via?.text ?? '') === (e.via?.text ?? '') && (r.dev ?? '') === (e.dev ?? '');
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
  if (applied.length === 0) return next;

  // Routes: a delete removes the one it names; an add or replace leaves one
  // route to the destination, the desired one.
  const routeDeletes: RouteEntry[] = [];
  const routePuts = new Map<string, RouteEntry>();
  const neighDrop = new Set<string>();
  const neighPuts: NeighEntry[] = [];
  const fdbDrop = new Set<string>();
  const fdbPuts: FdbEntry[] = [];
  for (const c of applied) {
    if (c.kind === 'route') {
      if (c.action === 'delete') routeDeletes.push(c.actual as RouteEntry);
      else routePuts.set((c.desired as RouteEntry).dst.text, c.desired as RouteEntry);
    } else if (c.kind === 'neigh') {
      const e = (c.desired ?? c.actual) as NeighEntry;
      neighDrop.add(neighKey(e));
      if (c.action !== 'delete') neighPuts.push(c.desired as NeighEntry);
    } else if (c.kind === 'fdb') {
      const e = (c.desired ?? c.actual) as FdbEntry;
      fdbDrop.add(fdbKey(e));
      if (c.action !== 'delete') fdbPuts.push(c.desired as FdbEntry);
    }
  }

  if (routeDeletes.length || routePuts.size) {
    const deletedDsts = new Set(routeDeletes.map((r) => r.dst.text));
    const routes: HostRoute[] = [];
    for (const r of actual.routes) {
      const t = r.dst.text;
      if (routePuts.has(t)) continue;
      if (deletedDsts.has(t) && routeDeletes.some((d) => sameRoute(r, d))) continue;
      routes.push(r);
    }
    for (const e of routePuts.values()) routes.push({ dst: e.dst, via: e.via, dev: e.dev, onlink: e.onlink, proto: e.proto });
    next.routes = routes;
  }
  if (neighDrop.size) {
    // Most neighbours are kept: test the address (a property) before building a key.
    const ips = new Set([...neighDrop].map((k) => k.slice(k.indexOf('/') + 1)));
    next.neighbors = actual.neighbors.filter((n) => !(ips.has(n.ip.text) && neighDrop.has(neighKey(n)))).concat(neighPuts);
  }
  const sysctls = applied.filter((c) => c.kind === 'sysctl' && c.desired?.kind === 'sysctl');
  if (sysctls.length) {
    next.sysctl = new Map(actual.sysctl);
    for (const c of sysctls) next.sysctl.set(c.key, (c.desired as SysctlEntry).value);
  }
  if (fdbDrop.size) {
    const macs = new Set([...fdbDrop].map((k) => k.split('/')[1]));
    next.fdb = actual.fdb.filter((f) => !(macs.has(f.mac.text) && fdbDrop.has(fdbKey(f)))).concat(fdbPuts);
  }
  return next;
}
