// When the daemon runs a cycle. Pure: time comes from an injected clock, the
// cycle itself is an injected function, so the rules below are unit-tested
// with a fake clock.
//
//  - An event schedules a cycle `coalesceMs` later (a few ms); every event
//    until then joins that cycle (a burst of writes is one cycle, and the
//    latency of the first event is bounded). Source events alone wait
//    `sourceCoalesceMs`: a source hands over a change whole (an etcd watch
//    message, a Node event, a file the watch saw settle), so the wait is
//    only latency (5 of the 10 ms an etcd change took to reach the kernel);
//    kernel events come as a stream of lines (a device's flush) and keep
//    the longer wait.
//  - Cycles never overlap: events during a cycle run one more cycle right
//    after it (after the same coalescing), all of them in that one cycle.
//  - Event cycles take at most about half the time: after an event cycle
//    (one run for source events only) that took d ms, the next event cycle
//    starts no sooner than min(d, maxEventGapMs) after it ended. A single
//    event after a quiet spell, or after a resync, is not delayed; a source
//    that fires continuously (a busy watch) gets every other slice of time,
//    its events merged, instead of back-to-back cycles.
//  - After a successful cycle the next full resync is `intervalMs` later.
//    Every cycle moves that deadline; its timer is not set again each time
//    (a single-peer change ran one timer off and two on: the event's and the
//    resync's): it fires at the deadline it was set for, and when the
//    deadline has moved on since, it is set for the rest.
//  - After a failed cycle the retry waits with capped exponential backoff:
//    backoffInitialMs, x2 each failure, at most backoffMaxMs. A source event
//    still runs a cycle right away (it is usually the fix), and force() (SIGHUP)
//    runs one now and restarts the backoff.

export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle): void;
}

/** A timer of 0 ms runs in the event loop's next check phase (setImmediate): Node's own 0 ms timer waits 1 ms. */
type RealTimer = { timeout: NodeJS.Timeout } | { immediate: NodeJS.Immediate };

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms): RealTimer => (ms <= 0 ? { immediate: setImmediate(fn) } : { timeout: setTimeout(fn, ms) }),
  clearTimeout: (h) => {
    const t = h as RealTimer;
    if ('immediate' in t) clearImmediate(t.immediate);
    else clearTimeout(t.timeout);
  },
};

export interface SchedulerOptions {
  intervalMs: number;
  coalesceMs?: number;
  /** The wait when only source events ('watch') ask for the cycle (default: coalesceMs). */
  sourceCoalesceMs?: number;
  /** Cap of the pause after a cycle before an event cycle (see above). */
  maxEventGapMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Runs one cycle; resolves true on success. A rejection counts as a failure. */
  run(reasons: string[]): Promise<boolean>;
  clock?: Clock;
}

export const DEFAULT_COALESCE_MS = 5;
/**
 * What the daemon passes as sourceCoalesceMs: the events that arrived in
 * the same turn of the event loop (the changes of one etcd watch message,
 * one Node event) make one cycle, which starts right after that turn.
 */
export const DEFAULT_SOURCE_COALESCE_MS = 0;
export const DEFAULT_MAX_EVENT_GAP_MS = 1000;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

/** The delay before retry number `failures` (1 = the first retry). */
export function backoffDelay(failures: number, initialMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  const exp = Math.min(failures - 1, 30);
  return Math.min(maxMs, initialMs * 2 ** exp);
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly coalesceMs: number;
  private readonly sourceCoalesceMs: number;
  private readonly maxEventGapMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly runCycle: (reasons: string[]) => Promise<boolean>;

  /** The timer of the next event cycle (events, forces, the start) and when it is due. */
  private timer: TimerHandle | undefined;
  private eventAt = Infinity;
  /** The next resync or retry, if no cycle runs before it; Infinity while a cycle runs. */
  private deadlineAt = Infinity;
  /** The deadline's timer and the time it was set for (at or before deadlineAt; see above). */
  private deadlineTimer: TimerHandle | undefined;
  private deadlineTimerAt = Infinity;
  /** Why the next cycle runs: the events and forces since the last one. */
  private reasons = new Set<string>();
  /** The deadline's reason (resync, retry) when no event asked for the cycle. */
  private timerReason = 'resync';
  private running: Promise<void> | undefined;
  private rerun = false;
  private forcePending = false;
  private lastStartAt = -Infinity;
  private lastEndAt = -Infinity;
  /** The pause the last cycle imposes on the next event cycle (see above). */
  private lastGapMs = 0;
  private stopped = false;
  private started = false;
  /** Consecutive failed cycles. */
  failures = 0;
  /** Cycles run so far. */
  cycles = 0;

  constructor(o: SchedulerOptions) {
    this.clock = o.clock ?? realClock;
    this.intervalMs = o.intervalMs;
    this.coalesceMs = o.coalesceMs ?? DEFAULT_COALESCE_MS;
    this.sourceCoalesceMs = o.sourceCoalesceMs ?? this.coalesceMs;
    this.maxEventGapMs = o.maxEventGapMs ?? DEFAULT_MAX_EVENT_GAP_MS;
    this.backoffInitialMs = o.backoffInitialMs ?? Math.min(1000, o.intervalMs);
    this.backoffMaxMs = Math.max(o.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS, this.backoffInitialMs);
    this.runCycle = o.run;
  }

  /** Runs the first cycle now. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.scheduleAt(this.clock.now(), 'start');
  }

  /** A source event: run a cycle soon, together with every other event until then. */
  notify(reason = 'watch'): void {
    if (!this.started || this.stopped) return;
    if (this.running) {
      this.reasons.add(reason);
      this.rerun = true;
      return;
    }
    this.scheduleAt(this.eventDueAt([...this.reasons, reason]), reason);
  }

  /** When a cycle for events with these reasons (and any already waiting) is due. */
  private eventDueAt(reasons: readonly string[]): number {
    const coalesce = reasons.every((r) => r === 'watch') ? this.sourceCoalesceMs : this.coalesceMs;
    return Math.max(this.clock.now() + coalesce, this.lastEndAt + this.lastGapMs);
  }

  /** Runs a cycle now (after the current one) and restarts the backoff: SIGHUP. */
  force(reason = 'forced'): void {
    if (!this.started || this.stopped) return;
    this.failures = 0;
    if (this.running) {
      this.reasons.add(reason);
      this.rerun = true;
      this.forcePending = true;
      return;
    }
    this.scheduleAt(this.clock.now(), reason);
  }

  /** When the next cycle is due (ms since epoch on the clock), Infinity if none. */
  get nextDueAt(): number {
    return Math.min(this.eventAt, this.deadlineAt);
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** When the running cycle started (clock ms); undefined when none runs. For liveness. */
  get runningSince(): number | undefined {
    return this.running ? this.lastStartAt : undefined;
  }

  /** No more cycles; resolves when the current one (if any) has finished. */
  stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    return this.running ?? Promise.resolve();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.eventAt = Infinity;
    if (this.deadlineTimer !== undefined) this.clock.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineTimerAt = Infinity;
    this.deadlineAt = Infinity;
  }

  /** Keeps the earliest of the due times; event reasons accumulate. */
  private scheduleAt(at: number, reason: string): void {
    if (reason === 'resync' || reason === 'retry') {
      // A cycle due sooner makes this deadline moot: the end of that cycle sets the next one.
      if (at >= this.nextDueAt) return;
      this.timerReason = reason;
      this.deadlineAt = at;
      this.armDeadline();
      return;
    }
    this.reasons.add(reason);
    if (at >= this.eventAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.eventAt = at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
  }

  /** Sets the deadline's timer unless one set earlier is still to fire (it sets itself again then). */
  private armDeadline(): void {
    if (this.deadlineTimer !== undefined) {
      if (this.deadlineTimerAt <= this.deadlineAt) return;
      this.clock.clearTimeout(this.deadlineTimer);
    }
    const at = this.deadlineAt;
    this.deadlineTimerAt = at;
    this.deadlineTimer = this.clock.setTimeout(() => this.deadlineFired(), Math.max(0, at - this.clock.now()));
  }

  private deadlineFired(): void {
    this.deadlineTimer = undefined;
    this.deadlineTimerAt = Infinity;
    if (this.stopped || this.deadlineAt === Infinity) return;
    if (this.deadlineAt > this.clock.now()) {
      this.armDeadline();
      return;
    }
    this.fire();
  }

  private fire(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.eventAt = Infinity;
    // A cycle runs: the deadline's timer may stay set (it finds no deadline, or a later one, when it fires).
    this.deadlineAt = Infinity;
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    const reasons = this.reasons.size ? [...this.reasons] : [this.timerReason];
    this.reasons.clear();
    this.rerun = false;
    this.forcePending = false;
    this.lastStartAt = this.clock.now();
    this.running = this.execute(reasons);
  }

  private async execute(reasons: string[]): Promise<void> {
    let ok = false;
    try {
      ok = await this.runCycle(reasons);
    } catch {
      ok = false;
    }
    this.cycles++;
    this.failures = ok ? 0 : this.failures + 1;
    this.running = undefined;
    this.lastEndAt = this.clock.now();
    this.lastGapMs = reasons.every((r) => r === 'watch') ? Math.min(this.lastEndAt - this.lastStartAt, this.maxEventGapMs) : 0;
    if (this.stopped) return;
    if (this.rerun) {
      // Events arrived during the cycle: one more, after the usual coalescing and gap.
      this.rerun = false;
      const pending = this.reasons.size ? [...this.reasons] : ['watch'];
      this.reasons.clear();
      const at = this.forcePending ? this.clock.now() : this.eventDueAt(pending);
      this.forcePending = false;
      for (const r of pending) this.scheduleAt(at, r);
    }
    const next = ok ? this.intervalMs : backoffDelay(this.failures, this.backoffInitialMs, this.backoffMaxMs);
    this.scheduleAt(this.clock.now() + next, ok ? 'resync' : 'retry');
  }
}
