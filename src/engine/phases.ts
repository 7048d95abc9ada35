// Ordered changes into the phases a Host writes: the ip/bridge batches (see
// engine/batches.ts toPhases), then each driver kind's own phases in registry
// order (one ethtool per offload feature, one iptables-restore for every
// masquerade rule). Pure.
import { isIpBatchChange, toPhases } from './batches.js';
import { KIND_LIST, specOf } from '../kinds/index.js';
import type { ActualState, Change, Entry } from '../model/types.js';
import type { Batch } from './batches.js';
import type { WritePhases } from './host.js';

type Driver = NonNullable<(typeof KIND_LIST)[number]['phases']>;
type DesiredEntries = readonly Entry[] | (() => readonly Entry[]);

/**
 * Each driver's phases for its changes; kinds that share one (nat and filter:
 * one restore per family) are written together. `besidePeers`: only the
 * drivers whose kinds say so (true), or only the others (false).
 */
export function driverPhases(ordered: Change[], hook: 'phases' | 'early', desired: DesiredEntries, actual: ActualState, besidePeers?: boolean): WritePhases {
  const drivers = new Map<Driver, Change[]>();
  for (const spec of KIND_LIST) {
    const d = spec[hook];
    if (besidePeers !== undefined && (spec.besidePeers === true) !== besidePeers) continue;
    if (d && !drivers.has(d)) drivers.set(d, []);
  }
  // Indexed: once per change, in a fresh process mostly before the JIT (see batches.ts toPhases).
  for (let i = 0; i < ordered.length; i++) {
    const d = specOf(ordered[i].kind)[hook];
    if (d) drivers.get(d)?.push(ordered[i]);
  }
  const out: WritePhases = [];
  // The whole desired list is built only when a driver has changes (incremental cycles keep it lazy).
  for (const [write, mine] of drivers) if (mine.length) out.push(...write(mine, { desired: typeof desired === 'function' ? desired() : desired, actual }));
  return out;
}

const isPeerKind = (k: Change['kind']) => k === 'neigh' || k === 'fdb' || k === 'route';

/** Whether a phase of toPhases is its last one: the peers' neighbours, fdb entries and routes (the devices' phases come before). */
function isPeersPhase(phase: Batch[] | undefined): phase is Batch[] {
  return phase !== undefined && phase.length > 0 && phase.every((b) => b.lines.length > 0 && isPeerKind(b.lines[0].change.kind));
}

/**
 * Ordered changes cut in two writes, the devices first (their ip batches:
 * devices, addresses) and then the rest (the peers' entries, the drivers'
 * kinds): the same phases in the same order as one write, but the devices'
 * lines do not wait for the peers' thousands to be rendered. Undefined
 * when one write is as good (either part empty) or a kind's early driver
 * (WireGuard's device) writes devices too. The daemon's other devices-first
 * write, before planning, and which cycles each serves: daemon/device-first.ts.
 */
export function devicesFirst(ordered: Change[]): [Change[], Change[]] | undefined {
  const devices: Change[] = [];
  const rest: Change[] = [];
  for (const c of ordered) {
    if (specOf(c.kind).early) return undefined;
    (isIpBatchChange(c) && !isPeerKind(c.kind) ? devices : rest).push(c);
  }
  return devices.length && rest.length ? [devices, rest] : undefined;
}

export function writePhasesFor(ordered: Change[], desired: DesiredEntries, actual: ActualState): WritePhases {
  // Devices the batches write on (WireGuard's) first, then the batches, then the other drivers.
  const early = driverPhases(ordered, 'early', desired, actual);
  const batches = toPhases(ordered.filter(isIpBatchChange));
  const last = batches[batches.length - 1];
  if (isPeersPhase(last)) {
    // A driver that needs only the devices (a device's sysctl) runs with the
    // peers' entries, one process start fewer one after another; appended,
    // its failures still come after theirs.
    const beside = driverPhases(ordered, 'phases', desired, actual, true);
    if (beside.length === 1) {
      last.push(...beside[0]);
      return [...early, ...batches, ...driverPhases(ordered, 'phases', desired, actual, false)];
    }
  }
  return [...early, ...batches, ...driverPhases(ordered, 'phases', desired, actual)];
}
