// Kernel drift between resyncs: the monitors' events (host/monitor.ts) go to
// the reconciler's kernel model (kernel-events.ts) between cycles (queued
// while one runs, since the model is rebuilt by it), and a lost or changed
// object of the plan asks for a cycle at once, within the rate limit of
// drift.ts. When the events leave a device of the plan in doubt (kernel-events.ts
// `check`), the host's devices are read first and that read is followed like
// an event; repairs and host reads asked for meanwhile wait for it, so a
// device being deleted is repaired once, as deleted, not first as a flush
// of its entries. Decides only: the monitors, the reconciler, the scheduler
// and the read are passed in.
import type { KernelEvent } from '../host/parse-monitor.js';
import type { DesiredState, HostLink } from '../model/types.js';
import { RepairPolicy, DEFAULT_REPAIR_LIMIT, type RepairLimit } from './drift.js';
import { ownedFrom, type Owned, type Repair, type WatchEvent } from './kernel-events.js';
import type { Logger } from './logger.js';
import type { DaemonMetrics } from './metrics.js';
import { formatDuration } from './duration.js';

/** Cycles after which repairs given up on are tried again: the periodic resync and SIGHUP. */
const RESUMING_REASONS = new Set(['resync', 'sighup']);
/** A cycle waits at most this long for a device read under way (settled). */
const SETTLE_MAX_MS = 2000;
/** Objects named in one log line; the rest are counted. */
const MAX_LISTED = 10;

export interface KernelWatchOptions {
  log: Logger;
  metrics: DaemonMetrics;
  now(): number;
  limit?: RepairLimit;
  /** The resync interval, named in the give-up warning. */
  intervalMs: number;
  /** Applies events to the kernel model (Reconciler.followKernel); only called between cycles. */
  follow(events: WatchEvent[], owned: Owned): { repairs: Repair[]; check: string[] };
  /** Reads the host's devices (links and addresses); without it, a device in doubt is a host read. */
  readDevices?(): Promise<ReadonlyMap<string, HostLink>>;
  /** Runs a repair cycle soon (the scheduler's notify). */
  repair(): void;
  /** Runs a cycle that reads the host soon: events were lost (the scheduler's notify). */
  reread(): void;
}

export class KernelWatch {
  private readonly policy: RepairPolicy;
  private readonly limit: RepairLimit;
  private inCycle = false;
  /** Queued during a cycle, parsed only if no kernel read of the cycle supersedes them (host/monitor.ts MonitorBatch). */
  private queued: Array<WatchEvent[] | (() => KernelEvent[])> = [];
  /** Events were lost during the running cycle, after its last kernel read (if any). */
  private lostInCycle = false;
  private desired?: DesiredState;
  /** What `desired` holds, made when the first event needs it (an incremental plan answers from its own key counts). */
  private owned?: Owned;
  /** Kernel reads started (hostRead): a device read that one started after is superseded by it. */
  private reads = 0;
  /** The device read under way, and the devices to read once it is done. */
  private checking = false;
  private checkNext = new Set<string>();
  /** A repair cycle and a host read asked for while a device read is under way: asked for after it. */
  private held = { repair: false, reread: false };
  /** Waiting for the device read to be followed (settled). */
  private waiting: Array<() => void> = [];
  /** Events that came during the device read: followed after its answer. */
  private deferred: Array<WatchEvent[] | (() => KernelEvent[])> = [];
  /**
   * Events queued for the next cycle although none runs: the device read found
   * a device gone, and its repair cycle's kernel read supersedes them unparsed
   * (its flush: thousands of lines). Later events queue behind them, in order.
   */
  private parked = false;
  /** Objects the running cycle found changed again after its write (changedAfterWrite). */
  private changedInCycle: Repair[] = [];

  constructor(private readonly o: KernelWatchOptions) {
    this.limit = o.limit ?? DEFAULT_REPAIR_LIMIT;
    this.policy = new RepairPolicy(this.limit);
  }

  /** The plan of the last successful cycle: what ovlnet owns. */
  planned(desired: DesiredState): void {
    if (desired === this.desired) return;
    this.desired = desired;
    this.owned = undefined;
  }

  /** Kernel events, or how to parse them. */
  events(events: WatchEvent[] | (() => KernelEvent[])): void {
    if (this.inCycle || this.parked) {
      this.queued.push(events);
      return;
    }
    if (this.checking) {
      this.deferred.push(events);
      return;
    }
    const parsed = typeof events === 'function' ? events() : events;
    if (parsed.length) this.handle(parsed);
  }

  cycleStarted(): void {
    this.inCycle = true;
    this.parked = false;
  }

  /**
   * The running cycle starts a read of the kernel (links, routes,
   * neighbours, fdb): the events queued so far happened before it, so that
   * read holds what they say. A cycle's model is its last kernel read (the
   * verify's, or the snapshot's when nothing was written) or none, so it
   * needs none of them. The first cycle at 5 000 peers queued the ~15 000
   * echoes of its own write and followed them after its verify: seconds of CPU.
   */
  hostRead(): void {
    this.reads++;
    if (!this.inCycle) return;
    // Events waiting for a device read came before this read too.
    this.deferred = [];
    this.queued = [];
    this.lostInCycle = false;
  }

  /**
   * Events were lost (the kernel dropped a burst, a monitor restarted):
   * the host must be read. Between cycles at once; during one, after it,
   * unless it reads the kernel from here on (the same rule as hostRead: the
   * first write at 5 000 peers overflows the monitors, and its verify read
   * made the second full cycle that followed redundant).
   */
  lost(): void {
    if (this.inCycle) {
      this.lostInCycle = true;
      return;
    }
    // The lost events may have been a device's deletion (its flush overflows
    // the monitors): its state is read first, so the host read that follows
    // repairs it as deleted, from the model.
    // (A read under way already: the host read waits for it, and reads what it misses.)
    const devices = this.desired ? [this.desired.device, this.desired.device6].filter((d) => d !== undefined) : [];
    if (devices.length && this.o.readDevices && !this.checking) this.check(devices);
    this.reread();
  }

  /**
   * Resolves once no device read is under way (its answer followed): a
   * cycle about to start waits for it, so that a repair scheduled by the
   * first events of a device's deletion does not write to the device the
   * read is about to find gone.
   */
  settled(): Promise<void> {
    if (!this.checking) return Promise.resolve();
    return new Promise((resolve) => {
      // Never longer than this: a read that hangs must not stop the cycles (the resync among them).
      const timer = setTimeout(resolve, SETTLE_MAX_MS);
      timer.unref?.();
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private reread(): void {
    if (this.checking) this.held.reread = true;
    else this.o.reread();
  }

  private repair(): void {
    if (this.checking) this.held.repair = true;
    else this.o.repair();
  }

  /** Reads the host's devices for `names`; the answer is followed as an event, unless a kernel read started since supersedes it. */
  private check(names: readonly string[]): void {
    if (!this.o.readDevices) {
      this.reread();
      return;
    }
    if (this.checking) {
      for (const n of names) this.checkNext.add(n);
      return;
    }
    this.checking = true;
    const since = this.reads;
    const started = this.o.now();
    const done = (read?: ReadonlyMap<string, HostLink>) => {
      this.checking = false;
      this.o.log.debug('kernel drift: read the devices', { devices: [...names], duration_ms: this.o.now() - started, superseded: (read && this.reads !== since) || undefined });
      const { repair, reread } = this.held;
      this.held = { repair: false, reread: false };
      const deferred = this.deferred;
      this.deferred = [];
      let gone = false;
      if (read && this.reads === since) {
        if (this.inCycle) this.queued.push([{ kind: 'devices', links: read, names }]);
        else gone = this.handle([{ kind: 'devices', links: read, names }]).some((r) => r.kind === 'link' && r.what === 'deleted');
      } else if (!read) this.o.reread();
      if (gone && !this.inCycle) {
        // What they say of the device is in the model (it is gone with everything on it); the rest waits for the repair cycle, in order.
        this.parked = true;
        this.queued.push(...deferred);
      } else {
        for (const d of deferred) this.events(d);
      }
      if (repair) this.repair();
      if (reread) this.reread();
      // Resolved now, not after the reads asked for meanwhile: the cycle goes on with what this one found.
      const waiting = this.waiting;
      this.waiting = [];
      for (const w of waiting) w();
      const next = [...this.checkNext];
      this.checkNext.clear();
      if (next.length) this.check(next);
    };
    this.o.readDevices().then(done, (e: unknown) => {
      this.o.log.info('kernel drift: reading the devices failed; reading the host', { error: (e as Error)?.message ?? String(e) });
      done();
    });
  }

  cycleEnded(reasons: readonly string[]): void {
    this.inCycle = false;
    if (this.lostInCycle) {
      this.lostInCycle = false;
      this.reread();
    }
    if (reasons.some((r) => RESUMING_REASONS.has(r))) {
      const was = this.policy.resume();
      if (was.length) this.o.log.info('kernel drift: repairing again after the resync', { objects: was.slice(0, MAX_LISTED), count: was.length });
    }
    const q = this.queued.flatMap((e) => (typeof e === 'function' ? e() : e));
    this.queued = [];
    if (q.length) this.handle(q);
    const changed = this.changedInCycle;
    this.changedInCycle = [];
    if (changed.length) this.decide(changed);
  }

  /**
   * Objects the running cycle wrote and its verify read found changed again
   * (another writer between the write and the read): drift like an event's,
   * repaired or given up on under the same limit, after the cycle.
   */
  changedAfterWrite(repairs: Repair[]): void {
    if (this.inCycle) this.changedInCycle.push(...repairs);
    else this.decide(repairs);
  }

  /** Follows `events`; returns the repairs asked for (within the rate limit). */
  private handle(events: WatchEvent[]): Repair[] {
    // Before the first successful cycle nothing is planned: the cycles running anyway read the host.
    if (!this.desired) return [];
    this.owned ??= ownedFrom(this.desired);
    const { repairs, check } = this.o.follow(events, this.owned);
    if (check.length) this.check(check);
    return this.decide(repairs);
  }

  /** Each repair within the rate limit, or given up on with a warning; returns those asked for. */
  private decide(repairs: Repair[]): Repair[] {
    const now = this.o.now();
    const repairing: Repair[] = [];
    for (const r of repairs) {
      const verdict = this.policy.decide(r.object, now);
      if (verdict === 'repair') {
        repairing.push(r);
        this.o.metrics.kernelRepairs.inc({ kind: r.kind });
      } else if (verdict === 'give-up') {
        this.o.metrics.kernelRepairsGivenUp.inc({ kind: r.kind });
        this.o.log.warn(`kernel drift: giving up repairing ${r.object}: ${r.what} ${this.limit.maxRepairs + 1} times within ${formatDuration(this.limit.windowMs)}, another agent seems to undo ovlnet's writes`, {
          object: r.object, hint: `ovlnet writes it again at the next resync (within ${formatDuration(this.o.intervalMs)}) or on SIGHUP; find what removes it`,
        });
      }
    }
    if (!repairing.length) return repairing;
    this.o.log.info('kernel drift: repairing', { objects: repairing.slice(0, MAX_LISTED).map((r) => `${r.what} ${r.object}`), count: repairing.length });
    this.repair();
    return repairing;
  }
}
