// The udp backend's TUN device against the host's. Pure.
import { entryKey } from '../model/keys.js';
import type { ActualState, Change, TunEntry } from '../model/types.js';

export interface TunDiff {
  /** The change the device needs, if any. */
  change?: Change;
  /** The device is (re)created: everything on it is to be written again. */
  fresh: boolean;
}

/** Why the host's device can not be ours as it is, or undefined when it can. */
function unusable(l: NonNullable<ReturnType<ActualState['links']['get']>>): string | undefined {
  if (l.kind !== 'tun' || !l.tun) return `not a tun device (${l.kind ?? 'plain'})`;
  if (l.tun.type !== 'tun') return `a ${l.tun.type} device, not tun`;
  // A non-persistent device belongs to the process holding it (flanneld's own
  // flannel0): it vanishes with that process, and our routes with it.
  if (!l.tun.persist) return 'not persistent';
  if (l.tun.multiQueue) return 'multi-queue';
  return undefined;
}

export function diffTun(d: TunEntry, actual: ActualState): TunDiff {
  const key = entryKey(d);
  const l = actual.links.get(d.name);
  if (!l) return { change: { action: 'add', kind: 'tun', key, desired: d }, fresh: true };
  const why = unusable(l);
  if (why) return { change: { action: 'replace', kind: 'tun', key, desired: d, detail: why }, fresh: true };
  const a: TunEntry = { kind: 'tun', name: d.name, mtu: l.mtu, up: l.up };
  const modify: string[] = [];
  if (a.mtu !== d.mtu) modify.push(`mtu ${a.mtu} -> ${d.mtu}`);
  if (a.up !== d.up) modify.push(d.up ? 'down -> up' : 'up -> down');
  if (!modify.length) return { fresh: false };
  return { change: { action: 'change', kind: 'tun', key, desired: d, actual: a, detail: modify.join(', ') }, fresh: false };
}
