// One daemon cycle: register (once), read the source, snapshot, apply, write
// the subnet file. It reuses src/engine/cycle.ts for the decisions and adds
// what a long-running process needs: failure classification by stage, log
// lines that say what changed, metrics, and the "first success" signal.
// A source error returns before anything is read from or written to the
// kernel: the data plane stays exactly as it is.
import { GuardError, HostError, PermissionError } from '../errors.js';
import { applySnapshot, countOwnedPeers, snapshot, snapshotFrom, verifyWritten, type ApplyResult, type CycleOptions, type Snapshot } from '../engine/cycle.js';
import { BACKEND_LIST } from '../backends/registry.js';
import type { Host } from '../engine/host.js';
import { realHost } from '../host/real.js';
import { peerCount, type ActualState, type Change, type ClusterState, type Problem } from '../model/types.js';
import type { MaxDelete } from '../reconcile/guard.js';
import type { Registration, Source, SourceUpdate } from '../sources/types.js';
import { newPlanTrace } from '../engine/desired.js';
import { IncrementalPlan } from '../engine/incremental.js';
import { readFileIfExists, writeFileAtomic } from '../host/files.js';
import { deviceFirstChanges, deviceFirstPhases, withoutWritten } from './device-first.js';
import { applyToActual, shareWithPlan, unmodelled } from './kernel-model.js';
import { applyKernelEvents, ownedFrom, type Owned, type Repair, type WatchEvent } from './kernel-events.js';
import type { KernelEvent } from '../host/parse-monitor.js';
import { FailureStreak, type Logger } from './logger.js';
import type { DaemonDeleteGuard } from './delete-guard.js';
import type { CycleResult, DaemonMetrics, Stage } from './metrics.js';
import { renderSubnetEnv, subnetEnvFor } from './subnet-env.js';
import { logApplied, ProblemLog } from './cycle-log.js';
import { describeChange, SYMBOL } from '../render/describe.js';
import { registrationLogFields } from '../sources/registration.js';

export interface ReconcilerOptions {
  source: Source;
  cycle: CycleOptions;
  maxDelete: MaxDelete;
  /** The --max-delete guard over a sliding window, and --force (delete-guard.ts). */
  deleteGuard?: DaemonDeleteGuard;
  /** flannel's subnet.env; undefined or '' = do not write one. */
  subnetFile?: string;
  leaseTTLSeconds?: number;
  log: Logger;
  metrics: DaemonMetrics;
  now?: () => number;
  /** Where the kernel is read and written; default the real host of cycle.netns (tests: a fake). */
  host?: Host;
  /** Called after every successful cycle; `first` on the first one. */
  onSuccess?: (info: { first: boolean; snap: Snapshot }) => void;
  /** Asks for another event cycle soon (the scheduler's notify): a device vanished under a repair's write. */
  repairSoon?: () => void;
  /** Devices an event cycle wrote and its verify read found changed again: drift for the kernel watch (its rate limit). */
  changedAfterWrite?: (repairs: Repair[]) => void;
  /** The host's devices, read as the daemon started: the first registration takes its VTEP MACs from them instead of reading. */
  linksAtStart?: Promise<ActualState['links']>;
}

/** What ip and bridge say when a write names a device that is not there. */
const MISSING_DEVICE = /Cannot find device|No such device|unknown ifindex/;

/**
 * Cycles run for source events ('watch') or kernel events alone ('kernel';
 * 'kernel-monitor': some were lost) diff against the kernel model and keep
 * the source's cached state.
 */
function isEventReason(reason: string): boolean {
  return reason === 'watch' || reason === 'kernel' || reason === LOST_EVENTS;
}

/** The kernel dropped events (a monitor's buffer overflowed, or it restarted): the model is checked with a read after the cycle. */
const LOST_EVENTS = 'kernel-monitor';

const isKernelReason = (reason: string) => reason === 'kernel' || reason === LOST_EVENTS;

/** A source read: the whole state (load), or what changed (update). */
interface SourceRead {
  state?: ClusterState;
  update?: SourceUpdate;
}

class StageError extends Error {
  constructor(readonly stage: Stage, override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
  }
}

function messageOf(e: unknown): string {
  const err = e as Error & { hint?: string };
  return err?.message ?? String(e);
}

export class Reconciler {
  private readonly o: ReconcilerOptions;
  private readonly now: () => number;
  private readonly host: Host;
  private readonly sourceStreak: FailureStreak;
  private readonly cycleStreak: FailureStreak;
  private registration?: Registration;
  private readonly problems: ProblemLog;
  private subnetFileText?: string;
  /**
   * The kernel as last read in full plus what was written since (see
   * kernel-model.ts); undefined whenever it is in doubt, and then the next
   * cycle reads the host.
   */
  private model?: ActualState;
  /** Objects of the plan (kinds keys) the kernel lost since the last cycle, from its events. */
  private lost = new Set<string>();
  /**
   * The last plan, kept for event cycles to update peer by peer
   * (engine/incremental.ts); only alongside the kernel model, and dropped
   * with it.
   */
  private plan?: IncrementalPlan;
  /** Set by a write that failed because a device vanished under it (vanishedUnder). */
  private vanished?: { model: ActualState; devices: string[] };
  lastSuccessAt?: number;
  private linksAtStart?: Promise<ActualState['links']>;

  constructor(o: ReconcilerOptions) {
    this.o = o;
    this.linksAtStart = o.linksAtStart;
    this.now = o.now ?? Date.now;
    this.host = o.host ?? realHost(o.cycle.netns);
    this.sourceStreak = new FailureStreak(o.log, 'source', this.now);
    this.cycleStreak = new FailureStreak(o.log, 'cycle', this.now);
    this.problems = new ProblemLog(o.log);
  }

  /**
   * Kernel events seen between cycles (kernel-watch.ts): the model follows
   * them (kernel-events.ts); returns the objects of the plan to write again,
   * and the devices whose state a read of the host's devices must tell.
   */
  followKernel(events: WatchEvent[], owned: Owned): { repairs: Repair[]; check: string[] } {
    const r = applyKernelEvents(this.model, events, owned);
    if (r.unknown) this.o.log.debug('kernel model: the next cycle reads the host', { why: r.unknown });
    this.model = r.model;
    // An incremental cycle plans only what the source touched: the kernel's losses are named to it.
    for (const x of r.repairs) this.lost.add(x.object);
    return { repairs: r.repairs, check: r.check };
  }

  get registered(): Registration | undefined {
    return this.registration;
  }

  /** Whether the next cycle caused only by source events can skip reading the host. */
  get hasKernelModel(): boolean {
    return this.model !== undefined;
  }

  /**
   * Runs one cycle; true when the host ends up matching the plan. Never throws.
   *
   * A cycle caused only by source events ('watch') or kernel events
   * ('kernel', kernel-watch.ts) diffs against the kernel model and writes
   * the delta: no host read, no verify. Every other cycle
   * (start, resync, retry, SIGHUP) and any cycle without a model reads the
   * host, writes, verifies with a second read, and takes that read as the new
   * model. A failed or unverified cycle drops the model.
   */
  async run(reasons: string[]): Promise<boolean> {
    const started = this.now();
    const { log, metrics } = this.o;
    let result: CycleResult = 'failed';
    const lost = this.lost;
    this.lost = new Set();
    // Events were lost: with repairs to make (a device's flush overflows the
    // monitors), the model is used for them (fast), then checked with a host
    // read; with none, the host is read first.
    const lostEvents = reasons.includes(LOST_EVENTS);
    const model = reasons.every(isEventReason) && (!lostEvents || lost.size > 0) ? this.model : undefined;
    const plan = model ? this.plan : undefined;
    // Whatever happens below, the model is only trusted again if the cycle says so.
    this.model = undefined;
    this.plan = undefined;
    try {
      // A deleted device first, before its thousands of entries are planned (kernel events alone: device-first.ts).
      const early = model && plan && reasons.every(isKernelReason) ? await this.deviceBack(model, plan, lost) : [];
      const tDevice = this.now();
      const read = await this.readSource(reasons, plan !== undefined);
      const tSource = this.now();
      const { snap, incremental } = await this.plans(read, model, plan, lost, lostEvents);
      if (early.length) snap.result = { ...snap.result, changes: withoutWritten(snap.result.changes, early) };
      const tSnap = this.now();
      this.problems.report(snap.problems);
      metrics.peers.set(peerCount(snap.desired));
      metrics.drift.set(snap.result.changes.length);
      metrics.conflicts.set(snap.result.conflicts.length);
      const r = await this.apply(snap, model !== undefined);
      if (early.length) r.applied = [...early, ...r.applied];
      const tWrite = this.now();
      let next: ActualState | undefined;
      let reread = false;
      if (model && !lostEvents && (r.failures.length || !unmodelled(snap.actual, r.applied))) {
        next = r.failures.length ? undefined : applyToActual(snap.actual, r.applied);
      } else if (model ? !r.failures.length : r.applied.length || r.failures.length) {
        // A write the model can not follow (a device re-created: kernel-events.ts),
        // or a model that missed events, is verified like a full cycle's write,
        // and that read is the model again.
        if (model) log.debug('kernel model: reading the host after the write', { why: lostEvents ? 'the kernel dropped events' : unmodelled(snap.actual, r.applied) });
        const after = await this.verify(snap);
        reread = true;
        r.remaining = after.remaining;
        if (model && !r.failures.length && r.remaining.length && this.o.changedAfterWrite && r.remaining.every((c) => c.kind === 'link')) {
          // Another writer set the device again between this write and this read (an agent
          // undoing ovlnet's MTU as fast as ovlnet sets it): not a failed write, and not to be
          // retried outside the repair limit. The read is the model; the change is drift.
          log.info('kernel drift: changed again before the repair was verified', { objects: r.remaining.map((c) => c.key) });
          // Named to the next cycle as followKernel names an event's objects; the watch decides whether one runs.
          for (const c of r.remaining) this.lost.add(c.key);
          this.o.changedAfterWrite(r.remaining.map((c) => ({ kind: c.kind, object: c.key, what: 'changed' })));
          r.remaining = [];
        }
        next = r.failures.length || r.remaining.length ? undefined : after.host;
      } else {
        next = snap.actual;
      }
      const ms = this.now() - started;
      if (r.failures.length && model && incremental) this.vanished = this.vanishedUnder(snap, r, plan!);
      logApplied(this.o.log, this.o.metrics, r, ms, reasons, model !== undefined, this.vanished !== undefined);
      if (log.enabled('debug')) {
        log.debug('cycle stages', {
          reason: reasons, host: model ? 'model' : 'read', plan: incremental ? 'incremental' : 'full', device_ms: early.length ? tDevice - started : undefined, source_ms: tSource - tDevice, plan_ms: tSnap - tSource, write_ms: tWrite - tSnap,
          verify_ms: this.now() - tWrite, rss_mb: Math.round(process.memoryUsage.rss() / 1e6),
        });
      }
      metrics.unconverged.set(r.remaining.length);
      if (r.failures.length) {
        const f = r.failures[0];
        throw new StageError('write', new Error(`${r.failures.length} change(s) failed, first: ${describeChange(f.change)}: ${f.message}`));
      }
      if (r.remaining.length) {
        throw new StageError('verify', new Error(`${r.remaining.length} change(s) still needed after writing, first: ${SYMBOL[r.remaining[0].action]} ${describeChange(r.remaining[0])}`));
      }
      // An incremental cycle changes peers only: the subnet file (this node's config) stays as written.
      if (!incremental) await this.writeSubnetFile(snap);
      // The host as read holds its own copy of every planned address: share the plan's.
      if (next && !incremental) next = shareWithPlan(next, snap.desired.entries);
      this.model = next;
      if (r.applied.length === 0) {
        log.debug('cycle: in sync', { reason: reasons, peers: peerCount(snap.desired), in_sync: snap.result.inSync, duration_ms: ms, host: model ? 'model' : 'read' });
      }
      result = 'ok';
      const first = this.lastSuccessAt === undefined;
      this.lastSuccessAt = this.now();
      metrics.lastSuccess.set(this.lastSuccessAt / 1000);
      metrics.ready.set(1);
      this.cycleStreak.ok();
      this.o.onSuccess?.({ first, snap });
      if (next) {
        // Seeding the plan after a full cycle takes 100-200 ms at 5 000
        // peers: let what onSuccess started (the ready line, READY=1) go
        // first. Still inside this cycle, so no other cycle runs before it.
        if (!incremental) await new Promise((resolve) => setImmediate(resolve));
        this.keepPlan(snap, next, incremental ? plan : undefined, r.applied, reread);
      }
      return true;
    } catch (e) {
      this.model = undefined;
      const v = this.vanished;
      this.vanished = undefined;
      if (v) {
        // The device went between the kernel's flush events and its own (the
        // monitors report them apart, or lost the latter): its deletion is
        // modelled and repaired next, as if its event had come first.
        log.info('kernel drift: the device vanished under the write; writing it again', { devices: v.devices });
        for (const _ of v.devices) metrics.kernelRepairs.inc({ kind: 'link' });
        this.model = v.model;
        this.plan = plan;
        this.o.repairSoon?.();
        // An expected race, handled: not an error an operator should be paged for (the write's failures are above at info).
        return false;
      }
      const se = e instanceof StageError ? e : new StageError('validate', e);
      if (se.stage === 'guard') result = 'refused';
      metrics.errors.inc({ stage: se.stage });
      const cause = se.cause as { hint?: string };
      const fields = { stage: se.stage, reason: reasons, hint: cause?.hint };
      if (se.stage === 'source' || se.stage === 'register') {
        this.sourceStreak.fail(messageOf(se.cause), { ...fields, kernel: 'left as it is' });
      } else if (se.stage === 'guard') {
        // Refused cycles are loud: the source probably lost most of the cluster.
        this.cycleStreak.fail(`REFUSED: ${messageOf(se.cause)}`, { ...fields, kernel: 'left as it is' });
      } else {
        this.cycleStreak.fail(`${se.stage}: ${messageOf(se.cause)}`, fields);
      }
      return false;
    } finally {
      const secs = (this.now() - started) / 1000;
      metrics.cycles.inc({ result });
      metrics.cycleDuration.observe({ result }, secs);
    }
  }

  /**
   * An event cycle with a kept plan applies the source's delta to it; any
   * fallback (logged at debug) and every other cycle plan in full.
   */
  private async plans(read: SourceRead, model: ActualState | undefined, plan: IncrementalPlan | undefined, lost: ReadonlySet<string>, whole: boolean): Promise<{ snap: Snapshot; incremental: boolean }> {
    const delta = read.update?.delta;
    if (plan && model && delta) {
      // A model that missed events: the whole plan is diffed against it, not only what changed.
      const r = plan.apply(delta, model, this.cycleOptions(), lost, whole);
      if ('snap' in r) return { snap: r.snap, incremental: true };
      this.o.log.debug('incremental plan: planning in full', { why: r.fallback });
    } else if (plan) {
      this.o.log.debug('incremental plan: planning in full', { why: 'the source did not say which nodes changed' });
    }
    let state = read.state;
    if (!state) {
      try {
        state = await read.update!.state();
      } catch (e) {
        this.o.metrics.sourceUp.set(0);
        throw new StageError('source', e);
      }
    }
    return { snap: await this.snapshot(state, model), incremental: false };
  }

  /**
   * When every failure of a model cycle's write says its device is missing
   * and the device is one of the plan's: the model without it (and what the
   * kernel dropped with it), the device named as lost. Else undefined.
   */
  private vanishedUnder(snap: Snapshot, r: ApplyResult, plan: IncrementalPlan): { model: ActualState; devices: string[] } | undefined {
    const planned = new Set([snap.desired.device, snap.desired.device6].filter((d) => d !== undefined));
    const devices = new Set<string>();
    for (const f of r.failures) {
      const dev = (f.change.desired ?? f.change.actual) as { dev?: string };
      if (!MISSING_DEVICE.test(f.message) || !dev.dev || !planned.has(dev.dev) || !snap.actual.links.has(dev.dev)) return undefined;
      devices.add(dev.dev);
    }
    const after = applyToActual(snap.actual, r.applied);
    if (!after || !plan) return undefined;
    const events: KernelEvent[] = [...devices].map((name) => ({ kind: 'link', deleted: true, name, index: after.links.get(name)!.index, up: false }));
    const gone = applyKernelEvents(after, events, ownedFrom(snap.desired));
    if (!gone.model) return undefined;
    for (const x of gone.repairs) this.lost.add(x.object);
    plan.follow(r.applied, gone.model, true);
    return { model: gone.model, devices: [...devices] };
  }

  /** A deleted device of the plan and its addresses, written at once (device-first.ts); returns what was written. */
  private async deviceBack(model: ActualState, plan: IncrementalPlan, lost: ReadonlySet<string>): Promise<Change[]> {
    const changes = deviceFirstChanges(model, plan, lost);
    if (!changes.length) return [];
    try {
      const { failures } = await this.host.write(deviceFirstPhases(changes, model));
      return changes.filter((c) => !failures.some((f) => f.change === c));
    } catch (e) {
      throw new StageError('write', e);
    }
  }

  /** After a successful cycle with a kernel model: the plan to update on the next event (seeded anew after a full one). */
  private keepPlan(snap: Snapshot, next: ActualState, plan: IncrementalPlan | undefined, applied: Change[], reread: boolean): void {
    if (plan) {
      plan.follow(applied, next, reread);
      this.plan = plan;
      return;
    }
    if (!snap.trace) return;
    const seeded = IncrementalPlan.seed(snap, this.cycleOptions(), next);
    if ('fallback' in seeded) this.o.log.debug('incremental plan: none kept', { why: seeded.fallback });
    else {
      this.plan = seeded;
      // The kernel watch asks the plan which objects are planned, instead of building a set of every entry's key.
      snap.desired.entryKeys = seeded.entryKeys;
    }
  }

  private async readSource(reasons: string[], wantDelta: boolean): Promise<SourceRead> {
    const { source, metrics, log } = this.o;
    if (source.register && !this.registration) {
      try {
        const [existingVtepMAC, existingVtepMACv6] = await this.existingVtepMACs();
        this.registration = await source.register({
          netns: this.o.cycle.netns,
          nodeName: this.o.cycle.node,
          publicIP: this.o.cycle.publicIP,
          publicIPv6: this.o.cycle.publicIPv6,
          iface: this.o.cycle.iface,
          subnetFile: this.o.subnetFile || undefined,
          leaseTTLSeconds: this.o.leaseTTLSeconds,
          existingVtepMAC,
          existingVtepMACv6,
        });
        log.info('registered this node', registrationLogFields(source.uri, this.registration));
      } catch (e) {
        metrics.sourceUp.set(0);
        throw new StageError('register', e);
      }
    }
    // Kernel events alone changed nothing in the source: the kept plan is
    // repaired against the model without reading it (a watch event since
    // would have made this a 'watch' cycle too).
    if (wantDelta && reasons.every(isKernelReason)) {
      return { update: { delta: { upserts: [], deletes: [] }, state: () => source.load() } };
    }
    try {
      // Only a cycle caused by watch events alone may use what the watch kept; the others re-read the source.
      const read: SourceRead = wantDelta && source.update ? { update: await source.update() } : { state: await source.load({ fresh: !reasons.every(isEventReason) }) };
      metrics.sourceUp.set(1);
      this.sourceStreak.ok({ source: source.uri });
      return read;
    } catch (e) {
      metrics.sourceUp.set(0);
      throw new StageError('source', e);
    }
  }

  /** The MACs of the flannel.N and flannel-v6.N vxlan devices already on the host, so a restart publishes the same ones. */
  private async existingVtepMACs(): Promise<[string | undefined, string | undefined]> {
    const early = this.linksAtStart;
    this.linksAtStart = undefined;
    try {
      const links = await (early ?? this.host.read({ kernel: { fdbDevices: [] } }).then((r) => r.kernel!.links));
      // The backend is not known before the source is read: any backend's data on this host.
      const data = BACKEND_LIST.map((b) => b.hostLeaseData?.(links)).filter((d) => d !== undefined);
      return [data.find((d) => d.vtepMAC)?.vtepMAC, data.find((d) => d.vtepMACv6)?.vtepMACv6];
    } catch {
      return [undefined, undefined];
    }
  }

  private cycleOptions(): CycleOptions {
    // The registration found our public IP; --node/--public-ip still win. The
    // node it holds (etcd: its lease) is the local node, so a stray entry with
    // this host's public IP cannot take it over.
    const node = this.o.cycle.node ?? this.registration?.localNode;
    return { ...this.o.cycle, node, publicIP: this.o.cycle.publicIP ?? this.registration?.publicIP, localAddress: this.registration?.localAddress };
  }

  /** A full snapshot (host read) without a model; against the model (no host read) with one. */
  private async snapshot(state: ClusterState, model: ActualState | undefined): Promise<Snapshot> {
    try {
      const opts = this.cycleOptions();
      // Traced (for the incremental plan) only when the source can give deltas.
      const trace = this.o.source.update ? newPlanTrace() : undefined;
      return await (model ? snapshotFrom(state, model, opts, this.host, trace) : snapshot(this.o.source, opts, state, this.host, trace));
    } catch (e) {
      throw new StageError(e instanceof HostError || e instanceof PermissionError ? 'host' : 'validate', e);
    }
  }

  /**
   * Writes without applySnapshot's own verify: the daemon verifies with a read it keeps as the model.
   * An event cycle (`fromModel`) writes devices first: a deleted device is back before its entries are
   * rendered (the cycles deviceBack does not serve: device-first.ts says which).
   */
  private async apply(snap: Snapshot, fromModel: boolean): Promise<ApplyResult> {
    try {
      const { force } = this.o.deleteGuard?.before(snap.result.changes, countOwnedPeers(snap)) ?? { force: false };
      const r = await applySnapshot(snap, { ...this.cycleOptions(), maxDelete: this.o.maxDelete, verify: false, force, devicesFirst: fromModel });
      this.o.deleteGuard?.after(r.applied, r.guard.refused);
      return r;
    } catch (e) {
      throw new StageError(e instanceof GuardError ? 'guard' : 'write', e);
    }
  }

  /** Re-reads the host after a write: what is still needed, and the host as it now is. */
  private async verify(snap: Snapshot): Promise<{ remaining: Change[]; host: ActualState }> {
    try {
      return await verifyWritten(snap);
    } catch (e) {
      throw new StageError(e instanceof HostError || e instanceof PermissionError ? 'host' : 'verify', e);
    }
  }

  private async writeSubnetFile(snap: Snapshot): Promise<void> {
    const path = this.o.subnetFile;
    if (!path) return;
    try {
      const text = renderSubnetEnv(subnetEnvFor(snap.cluster.config, snap.desired, this.o.cycle.ipMasq ?? false));
      this.subnetFileText ??= await readFileIfExists(path);
      if (text === this.subnetFileText) return;
      await writeFileAtomic(path, text);
      this.subnetFileText = text;
      this.o.log.info('wrote subnet file', { path, subnet: snap.desired.local.subnet.text });
    } catch (e) {
      this.subnetFileText = undefined;
      throw new StageError('subnet-file', new Error(`${path}: ${messageOf(e)}`));
    }
  }
}
