// The daemon's overlay probes: every --probe-interval, a bounded number of
// peers (round robin) each get the same probe `ovlnet doctor` sends (DF at
// the overlay MTU, to the peer's VTEP or pod gateway), one after another and
// never faster than MAX_PROBES_PER_SECOND. Results go to metrics, to /peers
// and, when a peer goes unreachable or comes back, to one log line. Nothing
// here feeds /healthz or /readyz.
import type { Snapshot } from '../engine/cycle.js';
import { ping, pingOverhead } from '../host/ping.js';
import { probePlan, type ProbePlan } from '../doctor/probe-plan.js';
import type { PlanDelta } from '../engine/incremental.js';
import type { DesiredState } from '../model/types.js';
import type { Logger } from './logger.js';
import type { DaemonMetrics } from './metrics.js';
import { countUnreachable, peersJSON, pickRound, recordProbe, syncTargets, unknownPeer, type PeerProbeState, type ProbeRecord } from './peer-probes.js';
import type { Clock } from './scheduler.js';

/** Peers probed per round: with the rate below, a round ends well within a 10 s interval. */
export const PEERS_PER_ROUND = 8;
export const MAX_PROBES_PER_SECOND = 4;

export type ProbeFn = (target: string, payload: number) => Promise<ProbeRecord>;

export interface ProberOptions {
  netns?: string;
  intervalMs: number;
  clock: Clock;
  log: Logger;
  metrics: DaemonMetrics;
  /** The probe; default: one ping with DF set, answered within 1 s. */
  probe?: ProbeFn;
}

export class Prober {
  private states = new Map<string, PeerProbeState>();
  /** The plan the states follow, and how its peers are probed. */
  private planned?: { desired: DesiredState; plan: ProbePlan };
  private payload = 0;
  private cursor = 0;
  private timer: unknown;
  private running = false;
  private stopped = false;
  private readonly probe: ProbeFn;

  constructor(private readonly o: ProberOptions) {
    this.probe = o.probe ?? ((target, payload) => ping(o.netns, target, { payload, dontFragment: true, waitS: 1 }));
  }

  /**
   * The peers and probe size of the last successful cycle's plan. An
   * incremental plan's delta from the plan given here before touches only
   * its peers (the device, and so the probe plan, is the same); any other
   * plan is taken whole.
   */
  update(snap: Pick<Snapshot, 'desired' | 'cluster' | 'delta'>): void {
    const d = snap.delta;
    if (d && this.planned && d.since === this.planned.desired) this.follow(d.peers, this.planned.plan);
    else this.take(snap);
    this.planned = { desired: snap.desired, plan: this.planned?.plan ?? probePlan(snap) };
    const first = this.states.values().next().value as PeerProbeState | undefined;
    this.payload = this.planned.plan.mtu - (first ? pingOverhead(first.target) : 28);
    if (this.timer === undefined && !this.stopped) this.schedule(0);
  }

  private take(snap: Pick<Snapshot, 'desired' | 'cluster'>): void {
    const plan = probePlan(snap);
    this.planned = { desired: snap.desired, plan };
    const targets = snap.desired.peers.map((p) => ({ name: p.node.name, target: plan.targetOf(p.node).text }));
    this.states = syncTargets(this.states, targets);
    this.o.metrics.peersUnreachable.set(countUnreachable(this.states.values()));
  }

  /** syncTargets for the touched peers alone: each leaves its place and, while a peer, goes last (as in the new plan's peers). */
  private follow(touched: PlanDelta['peers'], plan: ProbePlan): void {
    let recount = false;
    for (const [name, p] of touched) {
      const was = this.states.get(name);
      this.states.delete(name);
      const target = p && plan.targetOf(p.node).text;
      if (target !== undefined) this.states.set(name, was && was.target === target ? was : unknownPeer({ name, target }));
      if (was?.state === 'unreachable' && this.states.get(name) !== was) recount = true;
    }
    if (recount) this.o.metrics.peersUnreachable.set(countUnreachable(this.states.values()));
  }

  private schedule(ms: number): void {
    this.timer = this.o.clock.setTimeout(() => void this.round(), ms);
  }

  /** One round; the next is scheduled from its start, so a slow round does not drift the rate upwards. */
  private async round(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    const started = this.o.clock.now();
    try {
      const { picked, cursor } = pickRound([...this.states.keys()], this.cursor, PEERS_PER_ROUND);
      this.cursor = cursor;
      const gap = 1000 / MAX_PROBES_PER_SECOND;
      for (const [i, name] of picked.entries()) {
        if (this.stopped) return;
        if (i > 0) await new Promise<void>((r) => this.o.clock.setTimeout(r, gap));
        const s = this.states.get(name);
        if (!s) continue; // left the plan meanwhile
        const r = await this.probe(s.target, this.payload).catch((e: Error): ProbeRecord => ({ ok: false, error: e.message }));
        this.record(name, r);
      }
    } finally {
      this.running = false;
      if (!this.stopped) this.schedule(Math.max(0, this.o.intervalMs - (this.o.clock.now() - started)));
    }
  }

  private record(name: string, r: ProbeRecord): void {
    const s = this.states.get(name);
    if (!s) return;
    const now = this.o.clock.now();
    const { state, change } = recordProbe(s, r, now);
    this.states.set(name, state);
    const m = this.o.metrics;
    m.probes.inc({ result: r.ok ? 'ok' : 'failed' });
    if (r.ok && r.rttMs !== undefined) m.probeRtt.observe(r.rttMs / 1000);
    // The count moves only when a peer goes unreachable or comes back: not a walk over every peer per probe.
    if (change) m.peersUnreachable.set(countUnreachable(this.states.values()));
    if (change === 'unreachable') {
      this.o.log.warn('peer unreachable through the overlay', { peer: name, target: s.target, failures: state.failures, error: r.error, hint: `ovlnet doctor --peer ${name}` });
    } else if (change === 'reachable') {
      this.o.log.info('peer reachable again through the overlay', { peer: name, target: s.target, down_ms: now - (s.since ?? now) });
    }
  }

  peers() {
    return peersJSON(this.states.values(), this.o.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
  }
}
