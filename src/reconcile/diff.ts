// Desired vs actual, as keyed maps: the minimal set of changes that makes the
// kernel match the plan, within what the ownership policy allows.
import { entryKey } from '../model/keys.js';
import type {
  ActualState, AddrEntry, Change, DesiredState, Entry, FdbEntry, HostRoute, LinkEntry, NetfilterRuleEntry, NeighEntry, OffloadEntry, Problem, RouteEntry,
} from '../model/types.js';
import { devicesLosingLastIPv4, flushedBy } from './kernel-effects.js';
import { diffNetfilter } from './netfilter.js';
import { diffSysctl } from './sysctl.js';
import { nodeAddresses, type OwnershipPolicy } from './ownership.js';
import { diffTun } from './tun.js';

export interface DiffResult {
  changes: Change[];
  /** Desired routes whose destination is held by a foreign route with other forwarding. */
  conflicts: Problem[];
  /** Keys of desired routes satisfied by an identical foreign route (e.g. flannel's own). */
  adopted: string[];
  /** Number of desired entries already in place. */
  inSync: number;
}

function linkDifferences(d: LinkEntry, a: LinkEntry): { recreate: string[]; modify: string[] } {
  const recreate: string[] = [];
  const modify: string[] = [];
  if (a.vni !== d.vni) recreate.push(`id ${a.vni} -> ${d.vni}`);
  if (a.local.text !== d.local.text) recreate.push(`local ${a.local.text} -> ${d.local.text}`);
  if (a.underlay !== d.underlay) recreate.push(`dev ${a.underlay || '(none)'} -> ${d.underlay}`);
  if (a.port !== d.port) recreate.push(`dstport ${a.port} -> ${d.port}`);
  if (a.learning !== d.learning) recreate.push(d.learning ? 'learning' : 'learning -> nolearning');
  // As flanneld (vxlanLinksIncompat): the kernel can not toggle GBP on a live device.
  if (Boolean(a.gbp) !== Boolean(d.gbp)) recreate.push(d.gbp ? 'gbp' : 'gbp -> nogbp');
  if (a.mtu !== d.mtu) modify.push(`mtu ${a.mtu} -> ${d.mtu}`);
  if (a.mac.text !== d.mac.text) modify.push(`address ${a.mac.text} -> ${d.mac.text}`);
  if (a.up !== d.up) modify.push(d.up ? 'down -> up' : 'up -> down');
  return { recreate, modify };
}

/** The host's link as a LinkEntry, or the reason it can not be one of ours. */
export function actualLink(actual: ActualState, name: string): LinkEntry | string | undefined {
  const l = actual.links.get(name);
  if (!l) return undefined;
  if (l.kind !== 'vxlan' || !l.vxlan) return `not a vxlan device (${l.kind ?? 'plain'})`;
  return {
    kind: 'link', name, vni: l.vxlan.id, local: l.vxlan.local ?? { family: 4, value: 0n, text: '(none)' },
    underlay: l.vxlan.link ?? '', port: l.vxlan.port, learning: l.vxlan.learning, ...(l.vxlan.gbp ? { gbp: true } : {}), mtu: l.mtu,
    mac: l.mac ?? { text: '(none)' }, up: l.up,
  };
}

const PROTO_NAMES: Record<number, string> = { 2: 'kernel', 3: 'boot', 4: 'static', 9: 'ra', 16: 'dhcp' };

function protoName(p: number): string {
  return PROTO_NAMES[p] ? `${p} ${PROTO_NAMES[p]}` : String(p);
}

function routeForwarding(r: { via?: { text: string }; dev?: string; onlink: boolean }): string {
  return `via ${r.via?.text ?? '-'} dev ${r.dev ?? '-'}${r.onlink ? ' onlink' : ''}`;
}

/** routeForwarding(a) === routeForwarding(b), without building the strings. */
function sameForwarding(a: { via?: { text: string }; dev?: string; onlink: boolean }, b: { via?: { text: string }; dev?: string; onlink: boolean }): boolean {
  return a.onlink === b.onlink && (a.via?.text ?? '-') === (b.via?.text ?? '-') && (a.dev ?? '-') === (b.dev ?? '-');
}

function sameFields(d: Entry, a: Entry): string | undefined {
  switch (d.kind) {
    case 'neigh': {
      const x = a as NeighEntry;
      return x.mac.text === d.mac.text ? undefined : `lladdr ${x.mac.text} -> ${d.mac.text}`;
    }
    case 'route': {
      const x = a as RouteEntry;
      // Field by field first: building both strings for every route in sync
      // was a third of a no-op diff at 10 000 peers. Same answer as comparing
      // the strings (device names and addresses hold no spaces).
      if (sameForwarding(x, d)) return undefined;
      return `${routeForwarding(x)} -> ${routeForwarding(d)}`;
    }
    case 'offload': {
      const x = a as OffloadEntry;
      const state = (on: boolean) => (on ? 'on' : 'off');
      return x.enabled === d.enabled ? undefined : `${d.feature} ${state(x.enabled)} -> ${state(d.enabled)}`;
    }
    default:
      return undefined; // addr and fdb keys hold all their fields
  }
}

export function diff(desired: DesiredState, actual: ActualState, policy: OwnershipPolicy): DiffResult {
  const changes: Change[] = [];
  const conflicts: Problem[] = [];
  const adopted: string[] = [];
  let inSync = 0;

  // 1. The devices (two in a dual-stack vxlan cluster). Recreating one wipes
  //    everything on it, so the entries on it are then all to be added again.
  const fresh = new Set<string>();
  // A new device MAC makes the kernel flush the device's neighbours
  // (permanent ones too): those in sync now must be written again after it.
  const macChanged = new Set<string>();
  for (const desiredLink of desired.entries) {
    if (desiredLink.kind !== 'link') continue;
    const a = actualLink(actual, desiredLink.name);
    const key = entryKey(desiredLink);
    if (a === undefined) {
      changes.push({ action: 'add', kind: 'link', key, desired: desiredLink });
      fresh.add(desiredLink.name);
    } else if (typeof a === 'string') {
      changes.push({ action: 'replace', kind: 'link', key, desired: desiredLink, detail: a });
      fresh.add(desiredLink.name);
    } else {
      const { recreate, modify } = linkDifferences(desiredLink, a);
      if (recreate.length) {
        changes.push({ action: 'replace', kind: 'link', key, desired: desiredLink, actual: a, detail: [...recreate, ...modify].join(', ') });
        fresh.add(desiredLink.name);
      } else if (modify.length) {
        changes.push({ action: 'change', kind: 'link', key, desired: desiredLink, actual: a, detail: modify.join(', ') });
        if (a.mac.text !== desiredLink.mac.text) macChanged.add(desiredLink.name);
      } else {
        inSync++;
      }
    }
  }
  const desiredTun = desired.entries.find((e) => e.kind === 'tun');
  if (desiredTun) {
    const t = diffTun(desiredTun, actual);
    if (t.change) changes.push(t.change);
    else inSync++;
    if (t.fresh) fresh.add(desiredTun.name);
  }
  const onFreshDevice = (dev: string | undefined) => dev !== undefined && fresh.has(dev);
  const flushes = { macChanged, lastIPv4Removed: devicesLosingLastIPv4(desired, actual, policy, fresh) };

  // 2. What ovlnet owns on the host now, keyed.
  const owned = new Map<string, Entry>();
  const put = (e: Entry) => owned.set(entryKey(e), e);
  for (const l of actual.links.values()) {
    if (!policy.ownsDevice(l.name) || onFreshDevice(l.name)) continue;
    for (const addr of l.addrs) put({ kind: 'addr', dev: l.name, addr } satisfies AddrEntry);
  }
  for (const n of actual.neighbors) if (policy.ownsDevice(n.dev) && !onFreshDevice(n.dev)) put(n);
  for (const f of actual.fdb) if (policy.ownsDevice(f.dev) && !onFreshDevice(f.dev)) put(f);
  // A recreated device starts with the driver's defaults: the feature is to be set again.
  for (const o of actual.offload ?? []) if (policy.ownsDevice(o.dev) && !onFreshDevice(o.dev)) put(o);
  const foreignRoutes = new Map<string, HostRoute>();
  // Routes flanneld left (ownership.ts): replaced when wrong, deleted when stale.
  const inherited = new Map<string, HostRoute>();
  // The nodes' public IPs, built once, when the first foreign route is met.
  let nodeIPs: Set<string> | undefined;
  for (const r of actual.routes) {
    if (!policy.ownsRoute(r)) {
      foreignRoutes.set(r.dst.text, r);
      if (policy.inheritsRoute(r, (nodeIPs ??= nodeAddresses(desired)))) inherited.set(r.dst.text, r);
      continue;
    }
    if (onFreshDevice(r.dev)) continue; // goes away with the device
    // Device routes (no gateway) are the udp backend's; the diff compares them like the others.
    if (!r.dev || r.type) {
      // Ours by protocol but not a shape we write: delete it as a whole.
      changes.push({ action: 'delete', kind: 'route', key: `route:${r.dst.text}`, actual: { kind: 'route', dst: r.dst, via: r.via, dev: r.dev!, onlink: r.onlink, proto: r.proto } });
      continue;
    }
    put({ kind: 'route', dst: r.dst, via: r.via, dev: r.dev, onlink: r.onlink, proto: r.proto });
  }

  // 3. Desired entries against what is owned.
  const desiredRules: NetfilterRuleEntry[] = [];
  for (const d of desired.entries) {
    if (d.kind === 'link' || d.kind === 'tun') continue;
    if (d.kind === 'nat' || d.kind === 'filter') {
      desiredRules.push(d);
      continue;
    }
    if (d.kind === 'sysctl') {
      const c = diffSysctl(d, actual, onFreshDevice(d.dev));
      if (c) changes.push(c);
      else inSync++;
      continue;
    }
    const key = entryKey(d);
    const a = owned.get(key);
    if (a) {
      owned.delete(key);
      const detail = sameFields(d, a) ?? flushedBy(d, flushes);
      if (detail) changes.push({ action: 'change', kind: d.kind, key, desired: d, actual: a, detail });
      else inSync++;
      continue;
    }
    if (d.kind === 'route') {
      const f = foreignRoutes.get(d.dst.text);
      if (f) {
        const flannels = inherited.get(d.dst.text) === f;
        inherited.delete(d.dst.text);
        if (!f.type && sameForwarding(f, d)) {
          adopted.push(key);
          inSync++;
        } else if (flannels) {
          const a: RouteEntry = { kind: 'route', dst: f.dst, via: f.via, dev: f.dev!, onlink: f.onlink, proto: f.proto };
          changes.push({ action: 'change', kind: 'route', key, desired: d, actual: a, detail: `left by flannel: ${routeForwarding(f)} -> ${routeForwarding(d)}` });
        } else {
          conflicts.push({
            subject: key,
            message: `a route not owned by ovlnet (protocol ${protoName(f.proto)}, ${f.type ? f.type : routeForwarding(f)}) holds ${d.dst.text}; left as is`,
          });
        }
        continue;
      }
    }
    changes.push({ action: 'add', kind: d.kind, key, desired: d });
  }

  // 4. Owned but not desired: stale, delete. (A pinned feature is only read
  //    while it is desired; dropping the option leaves the device as it is.)
  for (const [key, a] of owned) if (a.kind !== 'offload') changes.push({ action: 'delete', kind: a.kind, key, actual: a });
  for (const f of inherited.values()) {
    const a: RouteEntry = { kind: 'route', dst: f.dst, via: f.via, dev: f.dev!, onlink: f.onlink, proto: f.proto };
    changes.push({ action: 'delete', kind: 'route', key: `route:${f.dst.text}`, actual: a, detail: 'left by flannel, not in the plan' });
  }

  // 5. iptables rule sets, only those planned (--ip-masq, --iptables-forward-rules): a set not planned is left alone.
  if (desiredRules.length) {
    const n = diffNetfilter(desiredRules, actual.netfilter);
    changes.push(...n.changes);
    inSync += n.inSync;
  }
  return { changes, conflicts, adopted, inSync };
}
