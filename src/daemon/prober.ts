// The daemon's overlay probes: every --probe-interval, a bounded number of
// peers (round robin) each get the same probe `ovlnet doctor` sends (DF at
// the overlay MTU, to the peer's VTEP or pod gateway), one after another and
// never faster than MAX_PROBES_PER_SECOND. Results go to metrics, to /peers
// and, when a peer goes unreachable or comes back, to one log line. Nothing
// here feeds /healthz or /readyz.
import type { Snapshot } from '../engine/cycle.js';
import { ping, pingOverhead } from '../host/ping.js';
import { probePlan } from '../doctor/probe-plan.js';
import type { Logger } from './logger.js';
import type { DaemonMetrics } from './metrics.js';
import { countUnreachable, peersJSON, pickRound, recordProbe, syncTargets, type PeerProbeState, type ProbeRecord } from './peer-probes.js';
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
  private payload = 0;
  private cursor = 0;
  private timer: unknown;
  private running = false;
  private stopped = false;
  private readonly probe: ProbeFn;

  constructor(private readonly o: ProberOptions) {
    this.probe = o.probe ?? ((target, payload) => ping(o.netns, target, { payload, dontFragment: true, waitS: 1 }));
  }

  /** The peers and probe size of the last successful cycle's plan. */
  update(snap: Pick<Snapshot, 'desired' | 'cluster'>): void {
    const plan = probePlan(snap);
    const targets = snap.desired.peers.map((p) => ({ name: p.node.name, target: plan.targetOf(p.node).text }));
    this.payload = plan.mtu - (targets[0] ? pingOverhead(targets[0].target) : 28);
    this.states = syncTargets(this.states, targets);
    this.o.metrics.peersUnreachable.set(countUnreachable(this.states.values()));
    if (this.timer === undefined && !this.stopped) this.schedule(0);
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
    m.peersUnreachable.set(countUnreachable(this.states.values()));
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
