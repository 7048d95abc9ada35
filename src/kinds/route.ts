// A route in the main table, ovlnet's by its protocol number. A desired route
// held by an identical foreign one (flannel's) is adopted; by a different one,
// a conflict left as it is.
import type { HostRoute, RouteEntry } from '../model/types.js';
import { ListEdit, routesByDst } from '../model/keyed-list.js';
import { dev, int, type Difference, type KindSpec } from './types.js';

const NONE: Difference[] = [];
const PROTO_NAMES: Record<number, string> = { 2: 'kernel', 3: 'boot', 4: 'static', 9: 'ra', 16: 'dhcp' };

function protoName(p: number): string {
  return PROTO_NAMES[p] ? `${p} ${PROTO_NAMES[p]}` : String(p);
}

type Forwarding = { via?: { text: string }; dev?: string; onlink: boolean };

function routeForwarding(r: Forwarding): string {
  return `via ${r.via?.text ?? '-'} dev ${r.dev ?? '-'}${r.onlink ? ' onlink' : ''}`;
}

/** routeForwarding(a) === routeForwarding(b), without building the strings. */
function sameForwarding(a: Forwarding, b: Forwarding): boolean {
  return a.onlink === b.onlink && (a.via?.text ?? '-') === (b.via?.text ?? '-') && (a.dev ?? '-') === (b.dev ?? '-');
}

function asEntry(f: HostRoute): RouteEntry {
  return { kind: 'route', dst: f.dst, via: f.via, dev: f.dev!, onlink: f.onlink, proto: f.proto };
}

function sameRoute(r: HostRoute, e: RouteEntry): boolean {
  return r.dst.text === e.dst.text && r.proto === e.proto && (r.via?.text ?? '') === (e.via?.text ?? '') && (r.dev ?? '') === (e.dev ?? '');
}

export const route: KindSpec<RouteEntry> = {
  kind: 'route',
  key: (e) => `route:${e.dst.text}`,
  compare(d, a) {
    // Field by field first: building both strings for every route in sync
    // was a third of a no-op diff at 10 000 peers. Same answer as comparing
    // the strings (device names and addresses hold no spaces).
    if (sameForwarding(a, d)) return NONE;
    const from = routeForwarding(a);
    const to = routeForwarding(d);
    return [{ field: 'forwarding', from, to, text: `${from} -> ${to}` }];
  },
  order: { delete: 2, add: 14 },
  peer: true,
  writer: 'ip',
  lines: {
    // `add` for a new route: if a foreign route appeared meanwhile, the
    // kernel refuses instead of ovlnet overwriting it.
    add: (e, replace) => [['ip', `route ${replace ? 'replace' : 'add'} ${e.dst.text}${e.via ? ` via ${e.via.text}` : ''} dev ${dev(e.dev)}${e.onlink ? ' onlink' : ''} proto ${int(e.proto)}`]],
    // Naming the protocol makes the kernel match only ovlnet's route.
    delete: (e) => [['ip', `route del ${e.dst.text}${e.via ? ` via ${e.via.text}` : ''}${e.dev ? ` dev ${dev(e.dev)}` : ''} proto ${int(e.proto)}`]],
  },
  describe: (e) => `route ${e.dst.text}${e.via ? ` via ${e.via.text}` : ''}${e.dev ? ` dev ${e.dev}` : ''}${e.onlink ? ' onlink' : ''}`,
  onDevice: {
    device: (e) => e.dev,
    drop(m, dev, lists) {
      // A multipath route (no single device in the read) loses the whole route with
      // a nexthop through the device (IPv4) or only that nexthop (IPv6): which, the
      // model can not tell. The IPv4 routes through the device go without an event.
      if (m.routes.some((r) => r.dev === undefined && r.type === undefined)) return `a multipath route may go through ${dev}`;
      lists.routes.removeWhere((r) => r.dev === dev);
      return undefined;
    },
  },
  collectOwned(ctx, onFreshDevice) {
    for (const r of ctx.actual.routes) {
      if (!ctx.policy.ownsRoute(r)) {
        ctx.foreignRoutes.set(r.dst.text, r);
        if (ctx.policy.inheritsRoute(r, ctx.nodeIPs)) ctx.inherited.set(r.dst.text, r);
        continue;
      }
      if (onFreshDevice(r.dev)) continue; // goes away with the device
      // Device routes (no gateway) are the udp backend's; the diff compares them like the others.
      const e: RouteEntry = { kind: 'route', dst: r.dst, via: r.via, dev: r.dev!, onlink: r.onlink, proto: r.proto };
      if (!r.dev || r.type) {
        // Ours by protocol but not a shape we write: delete it as a whole.
        ctx.changes.push({ action: 'delete', kind: 'route', key: route.key(e), actual: e });
        continue;
      }
      ctx.owned.set(route.key(e), e);
    }
  },
  unowned(d, key, ctx) {
    const f = ctx.foreignRoutes.get(d.dst.text);
    if (!f) return false;
    const flannels = ctx.inherited.get(d.dst.text) === f;
    ctx.inherited.delete(d.dst.text);
    if (!f.type && sameForwarding(f, d)) {
      ctx.adopted.push(key);
      ctx.inSync++;
    } else if (flannels) {
      ctx.changes.push({ action: 'change', kind: 'route', key, desired: d, actual: asEntry(f), detail: `left by flannel: ${routeForwarding(f)} -> ${routeForwarding(d)}` });
    } else {
      ctx.conflicts.push({
        subject: key,
        message: `a route not owned by ovlnet (protocol ${protoName(f.proto)}, ${f.type ? f.type : routeForwarding(f)}) holds ${d.dst.text}; left as is`,
        code: 'foreign-route',
        field: 'route',
        value: d.dst.text,
        conflictsWith: [`route ${d.dst.text} ${f.type ? f.type : routeForwarding(f)} proto ${protoName(f.proto)}`],
        hint: `remove that route (ip route del ${d.dst.text}) if it is stale; ovlnet never deletes a route it does not own`,
      });
    }
    return true;
  },
  finish(ctx) {
    for (const f of ctx.inherited.values()) {
      const a = asEntry(f);
      ctx.changes.push({ action: 'delete', kind: 'route', key: route.key(a), actual: a, detail: 'left by flannel, not in the plan' });
    }
  },
  model: {
    unknown(actual, changes) {
      // `route replace` / `route add` of a destination a route ovlnet does not
      // own also holds: which route the kernel replaced is not in the model.
      const dsts = new Map<string, number>();
      for (const c of changes) if (c.action !== 'delete') dsts.set(c.desired.dst.text, c.actual?.proto ?? -1);
      if (!dsts.size) return undefined;
      const held = new ListEdit(actual.routes, routesByDst);
      for (const [dst, proto] of dsts) {
        const r = held.get(dst).find((x) => x.proto !== proto);
        if (r) return `route to ${dst} also held by protocol ${r.proto}`;
      }
      return undefined;
    },
    apply(next, actual, changes) {
      // A delete removes the one it names; an add or replace leaves one route
      // to the destination, the desired one.
      const routes = new ListEdit(actual.routes, routesByDst);
      const puts = new Map<string, RouteEntry>();
      for (const c of changes) {
        if (c.action === 'delete') {
          const d = c.actual;
          for (const r of routes.get(d.dst.text)) if (sameRoute(r, d)) routes.remove(r);
        } else {
          puts.set(c.desired.dst.text, c.desired);
        }
      }
      for (const [dst, e] of puts) {
        for (const r of routes.get(dst)) routes.remove(r);
        routes.add({ dst: e.dst, via: e.via, dev: e.dev, onlink: e.onlink, proto: e.proto });
      }
      next.routes = routes.result();
    },
  },
};
