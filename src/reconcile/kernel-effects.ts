// Kernel side effects beyond what a batch line says, which the diff must
// know so that an entry "in sync" before a write is not missing after it.
// Pure. Each was seen on the kernel (see the e2e renumber and device tests):
//  - a new device MAC flushes every neighbour of the device, permanent ones too;
//  - removing the last IPv4 address of a device flushes every IPv4 route and
//    IPv4 neighbour through it (fib_disable_ip), permanent ones too. IPv6
//    routes and neighbours stay. order.ts adds a new address before it
//    deletes a stale one, so only a plan with no IPv4 address left on the
//    device meets this one.
import type { ActualState, DesiredState, Entry } from '../model/types.js';
import type { OwnershipPolicy } from './ownership.js';

/** Devices that hold an IPv4 address now and none once the plan is written. */
export function devicesLosingLastIPv4(desired: DesiredState, actual: ActualState, policy: OwnershipPolicy, fresh: ReadonlySet<string>): Set<string> {
  const keeps = new Set<string>();
  for (const e of desired.entries) if (e.kind === 'addr' && e.addr.family === 4) keeps.add(e.dev);
  const out = new Set<string>();
  for (const l of actual.links.values()) {
    // A recreated device starts empty: everything on it is added anyway.
    if (!policy.ownsDevice(l.name) || fresh.has(l.name) || keeps.has(l.name)) continue;
    if (l.addrs.some((a) => a.family === 4)) out.add(l.name);
  }
  return out;
}

export interface Flushes {
  /** Devices whose MAC the plan changes. */
  macChanged: ReadonlySet<string>;
  /** Devices whose last IPv4 address the plan removes. */
  lastIPv4Removed: ReadonlySet<string>;
}

/** Why the kernel will have flushed `e` (in place now) by the time the plan's writes are done; undefined if it stays. */
export function flushedBy(e: Entry, f: Flushes): string | undefined {
  if (e.kind === 'neigh') {
    if (f.macChanged.has(e.dev)) return 'flushed by the device address change';
    if (e.ip.family === 4 && f.lastIPv4Removed.has(e.dev)) return `flushed by removing the last IPv4 address of ${e.dev}`;
  }
  if (e.kind === 'route' && e.dst.family === 4 && f.lastIPv4Removed.has(e.dev)) return `flushed by removing the last IPv4 address of ${e.dev}`;
  return undefined;
}
