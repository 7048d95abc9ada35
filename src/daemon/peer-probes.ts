// The daemon's view of each peer from its overlay probes: which peers a
// round probes (round robin, a bounded number), how one probe's outcome
// changes a peer's state, and the /peers answer. Pure.

export interface ProbeTarget {
  name: string;
  /** The address probed through the overlay. */
  target: string;
}

export type PeerReach = 'unknown' | 'reachable' | 'unreachable';

export interface PeerProbeState extends ProbeTarget {
  state: PeerReach;
  /** When the current state began (ms). */
  since?: number;
  lastProbeAt?: number;
  rttMs?: number;
  /** Failed probes in a row. */
  failures: number;
  lastError?: string;
}

/**
 * A peer's state with every field written, always in this order: one hidden
 * class for all of them. Spreading one state into the next (`{ ...s, x }`)
 * gave each of 10 000 peers a V8 map and descriptor array of its own, about
 * 2 MB of the daemon's live heap.
 */
export function peerState(s: PeerProbeState): PeerProbeState {
  return { name: s.name, target: s.target, state: s.state, since: s.since, lastProbeAt: s.lastProbeAt, rttMs: s.rttMs, failures: s.failures, lastError: s.lastError };
}

/** A peer not probed yet. */
export function unknownPeer(t: ProbeTarget): PeerProbeState {
  return peerState({ name: t.name, target: t.target, state: 'unknown', failures: 0 });
}

/** Failed probes in a row before a peer counts as unreachable: one lost packet is not an outage. */
export const FAILURES_UNREACHABLE = 2;

/** Keeps the state of peers whose target did not change; new peers start unknown, gone ones are dropped. */
export function syncTargets(prev: Map<string, PeerProbeState>, targets: ProbeTarget[]): Map<string, PeerProbeState> {
  const next = new Map<string, PeerProbeState>();
  for (const t of targets) {
    const p = prev.get(t.name);
    next.set(t.name, p && p.target === t.target ? p : unknownPeer(t));
  }
  return next;
}

/** The next `n` names after `cursor`, wrapping around, each at most once. */
export function pickRound(names: string[], cursor: number, n: number): { picked: string[]; cursor: number } {
  if (!names.length) return { picked: [], cursor: 0 };
  const count = Math.min(n, names.length);
  const start = cursor % names.length;
  const picked = Array.from({ length: count }, (_, i) => names[(start + i) % names.length]);
  return { picked, cursor: (start + count) % names.length };
}

export interface ProbeRecord {
  ok: boolean;
  rttMs?: number;
  error?: string;
}

/** The peer's state after one probe, and whether it just went unreachable or came back. */
export function recordProbe(s: PeerProbeState, r: ProbeRecord, now: number): { state: PeerProbeState; change?: 'unreachable' | 'reachable' } {
  if (r.ok) {
    const state = peerState({ ...s, state: 'reachable', failures: 0, lastProbeAt: now, rttMs: r.rttMs, lastError: undefined, since: s.state === 'reachable' ? s.since : now });
    return { state, ...(s.state === 'unreachable' ? { change: 'reachable' as const } : {}) };
  }
  const failures = s.failures + 1;
  const down = failures >= FAILURES_UNREACHABLE;
  const state = peerState({
    ...s, failures, lastProbeAt: now, lastError: r.error,
    state: down ? 'unreachable' : s.state, since: down && s.state !== 'unreachable' ? now : s.since,
  });
  return { state, ...(down && s.state !== 'unreachable' ? { change: 'unreachable' as const } : {}) };
}

export function countUnreachable(states: Iterable<PeerProbeState>): number {
  let n = 0;
  for (const s of states) if (s.state === 'unreachable') n++;
  return n;
}

/** The /peers answer. */
export function peersJSON(states: Iterable<PeerProbeState>, intervalMs: number) {
  const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    version: 1,
    probeIntervalMs: intervalMs,
    peers: [...states].map((s) => ({
      name: s.name, target: s.target, state: s.state, since: iso(s.since), lastProbe: iso(s.lastProbeAt),
      rttMs: s.rttMs, failures: s.failures, ...(s.lastError ? { lastError: s.lastError } : {}),
    })),
  };
}
