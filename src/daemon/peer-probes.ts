// The daemon's view of each peer from its overlay probes: which peers a
// round probes (round robin, a bounded number), how one probe's outcome
// changes a peer's state, and the /peers answer. Pure.
//
// A dual-stack peer is probed on each family it has, with a state per
// family: its IPv6 overlay can be broken while its IPv4 one works (a
// separate device, MTU and route), and one probe would hide that.
import type { ProbePlan } from '../doctor/probe-plan.js';
import { pingOverhead } from '../host/ping.js';
import type { Family } from '../model/ip.js';
import type { Node } from '../model/types.js';

export interface ProbeTarget {
  name: string;
  family: Family;
  /** The address probed through the overlay. */
  target: string;
  /** Bytes of ping payload: the family's overlay MTU less its IP and ICMP headers (sent with DF). */
  payload: number;
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
  return {
    name: s.name, family: s.family, target: s.target, payload: s.payload, state: s.state,
    since: s.since, lastProbeAt: s.lastProbeAt, rttMs: s.rttMs, failures: s.failures, lastError: s.lastError,
  };
}

/** A peer not probed yet. */
export function unknownPeer(t: ProbeTarget): PeerProbeState {
  return peerState({ name: t.name, family: t.family, target: t.target, payload: t.payload, state: 'unknown', failures: 0 });
}

/** Failed probes in a row before a peer counts as unreachable: one lost packet is not an outage. */
export const FAILURES_UNREACHABLE = 2;

/** A probe state's key: one per peer and family. */
export function stateKey(t: Pick<ProbeTarget, 'name' | 'family'>): string {
  return `${t.name}/${t.family}`;
}

/** What a peer is probed at: each family it has, the plan's first half (flannel.1, or the only one) first. */
export function targetsOf(n: Node, plan: ProbePlan): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  const add = (ip: { family: Family; text: string } | undefined, mtu: number) => {
    if (ip && !out.some((t) => t.family === ip.family)) out.push({ name: n.name, family: ip.family, target: ip.text, payload: mtu - pingOverhead(ip.text) });
  };
  add(plan.targetOf(n), plan.mtu);
  if (plan.second) add(plan.second.targetOf(n), plan.second.mtu);
  return out;
}

/** Keeps the state of peer families whose target did not change; new ones start unknown, gone ones are dropped. */
export function syncTargets(prev: Map<string, PeerProbeState>, targets: ProbeTarget[]): Map<string, PeerProbeState> {
  const next = new Map<string, PeerProbeState>();
  for (const t of targets) next.set(stateKey(t), kept(prev.get(stateKey(t)), t));
  return next;
}

/** The state `p` had for target `t`, when it was of the same address (the payload follows the plan's MTU), else a new one. */
export function kept(p: PeerProbeState | undefined, t: ProbeTarget): PeerProbeState {
  if (!p || p.target !== t.target) return unknownPeer(t);
  return p.payload === t.payload ? p : peerState({ ...p, payload: t.payload });
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

/** Peers with a family unreachable, by name: a peer down on both families is one unreachable peer. */
export function countUnreachable(states: Iterable<PeerProbeState>): number {
  const names = new Set<string>();
  for (const s of states) if (s.state === 'unreachable') names.add(s.name);
  return names.size;
}

/** The /peers answer: one entry per peer and family (`family` added to version 1's fields; a single-stack peer has one). */
export function peersJSON(states: Iterable<PeerProbeState>, intervalMs: number) {
  const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    version: 1,
    probeIntervalMs: intervalMs,
    peers: [...states].map((s) => ({
      name: s.name, family: s.family, target: s.target, state: s.state, since: iso(s.since), lastProbe: iso(s.lastProbeAt),
      rttMs: s.rttMs, failures: s.failures, ...(s.lastError ? { lastError: s.lastError } : {}),
    })),
  };
}
