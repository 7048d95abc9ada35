// The daemon: wires the source, its watch, the scheduler, the reconciler,
// the metrics server, systemd readiness and the signals together.
// Resolves with the exit code when told to stop.
import type { Server } from 'node:http';
import { netfilterDrift, plannedRules, type CycleOptions } from '../engine/cycle.js';
import { peerCount, type DesiredState, type NetfilterRuleEntry } from '../model/types.js';
import { describeChange, SYMBOL } from '../render/describe.js';
import type { MaxDelete } from '../reconcile/guard.js';
import type { Source } from '../sources/types.js';
import { formatDuration } from './duration.js';
import { health, readiness } from './health.js';
import { DataPlaneRunner } from './dataplane.js';
import { compactHeap } from './heap-compact.js';
import { FailureStreak, type Logger } from './logger.js';
import { DaemonMetrics } from './metrics.js';
import { DaemonDeleteGuard } from './delete-guard.js';
import { DEFAULT_DELETE_WINDOW_MS } from '../reconcile/delete-window.js';
import { SystemdNotifier } from './notify.js';
import { Prober } from './prober.js';
import { Reconciler } from './reconciler.js';
import { KernelWatch } from './kernel-watch.js';
import type { RepairLimit } from './drift.js';
import { KernelMonitor } from '../host/monitor.js';
import { BatchWriters } from '../host/batch-writer.js';
import { realHost } from '../host/real.js';
import { DEFAULT_SOURCE_COALESCE_MS, Scheduler, realClock, type Clock } from './scheduler.js';
import { startServer, stopServer, type ListenAddr } from './server.js';

export interface DaemonOptions {
  /**
   * The source, or how to open it: then it is opened once the kernel
   * monitors (and, for a source that registers, a read of the host's
   * devices) are started, so those processes run on another core while the
   * source's client library loads (etcd: ~0.25 s of CPU).
   */
  source: Source | (() => Promise<Source>);
  /** The source registers this node (its VTEP MACs are read from the host's devices). */
  registers?: boolean;
  cycle: CycleOptions;
  intervalMs: number;
  maxDelete: MaxDelete;
  /** The sliding window of the --max-delete guard. */
  maxDeleteWindowMs?: number;
  /** Let the first cycle the --max-delete guard refuses through. */
  force?: boolean;
  subnetFile?: string;
  leaseTTLSeconds?: number;
  metricsAddr?: ListenAddr;
  version: string;
  /** --probe-interval in ms; 0 = no overlay probes. */
  probeIntervalMs?: number;
  /** Kubernetes: set the Node's NetworkUnavailable condition to False once converged (flanneld's default). */
  setNodeNetworkUnavailable?: boolean;
  /** --iptables-resync: re-check the planned iptables rules this often (flannel's default 5 s); 0 = only with each cycle. */
  iptablesResyncMs?: number;
  /** --repair-limit: kernel-event repairs of one object per window before giving up until the resync (drift.ts). */
  repairLimit?: RepairLimit;
}

export interface DaemonDeps {
  log: Logger;
  notifier?: SystemdNotifier;
  clock?: Clock;
  /** Where signals come from (process). */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/** Stopping must end within 2 s: this much for the running cycle, the rest for closing. */
const STOP_CYCLE_MS = 1200;
const STOP_CLOSE_MS = 500;

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

function within<T>(p: Promise<T>, ms: number): Promise<'done' | 'timeout'> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => 'done' as const, () => 'done' as const),
    new Promise<'timeout'>((r) => { t = setTimeout(() => r('timeout'), ms); }),
  ]).finally(() => clearTimeout(t));
}

export async function runDaemon(o: DaemonOptions, deps: DaemonDeps): Promise<number> {
  const { log } = deps;
  const clock = deps.clock ?? realClock;
  const signals = deps.signals ?? process;
  const notifier = deps.notifier ?? new SystemdNotifier();
  const startedAt = clock.now();

  // Signals first: a SIGTERM during start-up must still end in exit 0.
  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => { finish = r; });
  let stopping = false;
  let stopWatch: (() => void) | undefined;
  let scheduler: Scheduler | undefined;
  let stopRulesCheck: (() => void) | undefined;
  let server: Server | undefined;
  let prober: Prober | undefined;
  let monitor: KernelMonitor | undefined;
  let source: Source | undefined = typeof o.source === 'function' ? undefined : o.source;
  // One ip and one bridge -batch process, kept open for every cycle's writes (batch-writer.ts).
  const writers = new BatchWriters(o.cycle.netns);
  // The backend's data plane (the udp forwarder); idle for other backends.
  const dataPlane = new DataPlaneRunner(log, o.cycle.netns, () => clock.now());
  const onHup = () => {
    if (stopping) return;
    log.info('SIGHUP: re-reading the source and resyncing');
    scheduler?.force('sighup');
  };
  const onStop = (sig: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${sig} again: exiting now`);
      finish(0);
      return;
    }
    stopping = true;
    void (async () => {
      log.info(`${sig}: stopping; routes and devices stay in place`);
      if (notifier.enabled) void notifier.send({ stopping: true, status: 'stopping' });
      stopWatch?.();
      prober?.stop();
      stopRulesCheck?.();
      monitor?.stop();
      if (scheduler) {
        if (scheduler.isRunning) log.info('waiting for the running cycle to finish');
        if ((await within(scheduler.stop(), STOP_CYCLE_MS)) === 'timeout') log.warn('abandoning the running cycle; the next start repairs whatever it left half done');
      }
      await within(Promise.all([source?.close(), server ? stopServer(server) : Promise.resolve()]), STOP_CLOSE_MS);
      dataPlane.close();
      writers.close();
      log.info('stopped', { cycles: scheduler?.cycles ?? 0 });
      finish(0);
    })();
  };
  /**
   * Between cycles (a full resync is every --interval, 10 s by default), the
   * iptables rules are re-read every --iptables-resync: a flush by another
   * tool (a firewall reload, Docker's restart) is repaired within seconds, as
   * flanneld does. Only a read and a pure diff; a drift forces a cycle.
   */
  const checkRulesEvery = (ms: number, desired: () => { desired: DesiredState; rules: NetfilterRuleEntry[] } | undefined): (() => void) => {
    const streak = new FailureStreak(log, 'iptables check', () => clock.now());
    let timer: unknown;
    let stopped = false;
    const tick = async () => {
      const d = desired();
      try {
        if (d && scheduler && !scheduler.isRunning) {
          const drift = await netfilterDrift(d.desired, o.cycle.netns, undefined, d.rules);
          streak.ok();
          if (drift.length && !stopped) {
            log.info('iptables rules drifted: resyncing', { changes: drift.slice(0, 5).map((c) => `${SYMBOL[c.action]} ${describeChange(c)}`), count: drift.length });
            scheduler.force('iptables');
          }
        }
      } catch (e) {
        streak.fail((e as Error).message, { hint: 'the rules are still checked with every cycle' }, 'warn');
      }
      if (!stopped) timer = clock.setTimeout(() => void tick(), ms);
    };
    timer = clock.setTimeout(() => void tick(), ms);
    return () => {
      stopped = true;
      clock.clearTimeout(timer);
    };
  };
  const handlers: Array<[NodeJS.Signals, (...a: any[]) => void]> = [['SIGTERM', onStop], ['SIGINT', onStop], ['SIGHUP', onHup]];
  for (const [s, f] of handlers) signals.on(s, f);

  try {
    const metrics = new DaemonMetrics({ defaultMetrics: o.metricsAddr !== undefined });
    // Started before the first cycle reads the host, so no change after that read goes unseen;
    // before the source opens, so the monitors start while its client loads. Events before
    // the kernel watch exists are dropped: the first cycle reads the host after them.
    let watching: KernelWatch | undefined;
    const monitorStreak = new FailureStreak(log, 'kernel monitor', () => clock.now());
    monitor = new KernelMonitor({
      netns: o.cycle.netns,
      onEvents: (batch) => {
        // The writers' cached device indexes die with a device.
        if (batch.linkDeleted) writers.renew();
        watching?.events(() => batch.events());
      },
      onExit: (_tool, why, retryMs) => monitorStreak.fail(why, { retry_ms: retryMs, hint: `kernel drift is repaired by the resync every ${formatDuration(o.intervalMs)} meanwhile` }, 'warn'),
      onLost: (tool) => {
        log.info('kernel monitor: the kernel dropped events in a burst; reading the host', { tool });
        watching?.lost();
      },
      onRestart: (tool) => {
        metrics.kernelMonitorRestarts.inc({ tool });
        monitorStreak.ok({ tool });
        // Events while it was down are lost: read the host.
        watching?.lost();
      },
    });
    const monitorsSpawned = monitor.start();
    const host = realHost(o.cycle.netns, writers);
    // What registration publishes the VTEP MACs from, read while the source opens.
    const linksAtStart = o.registers ? host.read({ kernel: { fdbDevices: [] } }).then((r) => r.kernel!.links) : undefined;
    linksAtStart?.catch(() => undefined);
    if (!source) {
      // A registering source's client (etcd, Kubernetes) keeps this thread busy
      // while it loads: the processes are spawned (a fork) before. The file
      // source opens at once; waiting would only delay it (40-110 ms, measured).
      if (o.registers) await monitorsSpawned;
      source = await (o.source as () => Promise<Source>)();
      if (stopping) await source.close();
    }
    const src = source;
    // The kind of source only: a URI may carry more than a metrics label should.
    metrics.info.set({ version: o.version, source: /^[a-z]+/.exec(src.uri)?.[0] ?? 'unknown' }, 1);

    log.info('starting', {
      version: o.version, source: src.uri, interval: formatDuration(o.intervalMs), netns: o.cycle.netns,
      node: o.cycle.node, subnet_file: o.subnetFile || undefined, systemd_notify: notifier.enabled || undefined,
    });

    if (o.probeIntervalMs) prober = new Prober({ netns: o.cycle.netns, intervalMs: o.probeIntervalMs, clock, log, metrics });

    let lastStatus = '';
    let readySent = false;
    const notifyFailure = new FailureStreak(log, 'systemd notification', () => clock.now());
    const sendStatus = (state: { ready?: boolean; status: string }) => {
      if (!notifier.enabled || (!state.ready && state.status === lastStatus)) return;
      lastStatus = state.status;
      void notifier.send(state).then((err) => (err ? notifyFailure.fail(err, { hint: 'is systemd-notify installed, and NotifyAccess=all set in the unit?' }, 'warn') : notifyFailure.ok()));
    };

    const deleteGuard = new DaemonDeleteGuard({ maxDelete: o.maxDelete, windowMs: o.maxDeleteWindowMs ?? DEFAULT_DELETE_WINDOW_MS, force: o.force ?? false, now: () => clock.now(), log });
    const networkUp = new NetworkUpMarker(src, o.setNodeNetworkUnavailable, log);
    // The last converged plan and its iptables rules: what the --iptables-resync check compares iptables
    // with. The rules are kept across incremental plans (those change peers only, and picking the rules
    // out of an incremental plan would build its whole entry list).
    let converged: { desired: DesiredState; rules: NetfilterRuleEntry[] } | undefined;
    // Kernel drift between resyncs: repaired from the kernel's events (kernel-watch.ts).
    const kernelWatch: KernelWatch = new KernelWatch({
      log, metrics, now: () => clock.now(), intervalMs: o.intervalMs, limit: o.repairLimit,
      follow: (events, owned) => reconciler.followKernel(events, owned),
      readDevices: () => host.read({ links: true }).then((r) => r.links!),
      repair: () => sched.notify('kernel'),
      reread: () => sched.notify('kernel-monitor'),
    });
    watching = kernelWatch;
    const reconciler = new Reconciler({
      // A read of the kernel supersedes the kernel events queued before it (kernel-watch.ts).
      host: { read: (scope) => { if (scope.kernel) kernelWatch.hostRead(); return host.read(scope); }, write: (phases) => host.write(phases) },
      source: src,
      linksAtStart,
      cycle: o.cycle,
      maxDelete: o.maxDelete,
      deleteGuard,
      subnetFile: o.subnetFile,
      leaseTTLSeconds: o.leaseTTLSeconds,
      log,
      metrics,
      now: () => clock.now(),
      repairSoon: () => sched.notify('kernel'),
      changedAfterWrite: (repairs) => kernelWatch.changedAfterWrite(repairs),
      onSuccess: ({ snap }) => {
        const rules = snap.delta && converged && snap.delta.since === converged.desired ? converged.rules : plannedRules(snap.desired);
        converged = { desired: snap.desired, rules };
        kernelWatch.planned(snap.desired);
        // Ready (log line, READY=1) only once every backend's data plane runs:
        // for udp that is the forwarder, started after the kernel part.
        prober?.update(snap);
        void dataPlane.sync(snap.cluster.config, snap.desired).then(() => {
          if (dataPlane.down) {
            sendStatus({ status: `not ready: ${dataPlane.down}` });
            return;
          }
          // The network is up: clear the Node's NetworkUnavailable condition (once).
          networkUp.after(snap);
          const status = `${peerCount(snap.desired)} peers in sync (${snap.desired.local.name} ${snap.desired.local.subnet.text})`;
          if (!readySent) {
            readySent = true;
            const cpu = process.cpuUsage();
            // cpu_ms: this process's CPU time until now (steadier than startup_ms on a shared host; bench/start.mjs).
            log.info('ready: first cycle converged', {
              peers: peerCount(snap.desired), node: snap.desired.local.name, subnet: snap.desired.local.subnet.text, startup_ms: clock.now() - startedAt,
              cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
            });
            sendStatus({ ready: true, status });
            // Once per start, the start's garbage being collectable now (heap-compact.ts): holds the
            // event loop 0.1-0.4 s at 10 000 peers; a change arriving meanwhile waits that long once.
            setImmediate(() => {
              const c = compactHeap();
              log.debug('heap compacted after the start', { ms: Math.round(c.ms), heap_mb_before: mb(c.heapBefore), heap_mb_after: mb(c.heapAfter) });
            });
          } else {
            sendStatus({ status });
          }
        });
      },
    });
    // Set while the source's watch waits for the end of the first cycle (watchResumesLoad).
    let watchAfterFirstCycle: (() => void) | undefined;
    const ready = () => readiness({ now: clock.now(), intervalMs: o.intervalMs, lastSuccessAt: reconciler.lastSuccessAt, dataPlaneDown: dataPlane.down });
    const sched = new Scheduler({
      intervalMs: o.intervalMs, clock, sourceCoalesceMs: DEFAULT_SOURCE_COALESCE_MS,
      run: async (reasons) => {
        // A device read under way (kernel-watch.ts) is followed before the cycle takes the model.
        await kernelWatch.settled();
        kernelWatch.cycleStarted();
        try {
          return await reconciler.run(reasons);
        } finally {
          kernelWatch.cycleEnded(reasons);
          const startWatch = watchAfterFirstCycle;
          watchAfterFirstCycle = undefined;
          startWatch?.();
        }
      },
    });

    if (o.metricsAddr) {
      const s = await startServer(o.metricsAddr, {
        metrics: async () => {
          metrics.ready.set(ready().ok ? 1 : 0);
          metrics.removedInWindow.set(deleteGuard.window.removedWithin());
          return { contentType: metrics.contentType, body: await metrics.text() };
        },
        health: () => health({
          now: clock.now(), startedAt, intervalMs: o.intervalMs, lastSuccessAt: reconciler.lastSuccessAt,
          runningSince: scheduler?.runningSince, nextDueAt: scheduler?.nextDueAt ?? Infinity,
        }),
        ready,
        ...(prober ? { peers: () => prober!.peers() } : {}),
      });
      server = s.server;
      if (stopping) await stopServer(server);
      else log.info('serving metrics', { address: s.address, paths: ['/metrics', '/healthz', '/readyz', '/peers'] });
    }

    if (!stopping) {
      const watchStreak = new FailureStreak(log, 'source watch', () => clock.now());
      const startWatch = () => {
        if (stopping || !src.watch) return;
        stopWatch = src.watch({
          onChange: () => {
            watchStreak.ok();
            sched.notify('watch');
          },
          onNotice: (message) => log.info(message, { source: src.uri }),
          onError: (e) => {
            metrics.errors.inc({ stage: 'watch' });
            watchStreak.fail(e.message, { hint: `changes are still picked up by the resync every ${formatDuration(o.intervalMs)}` }, 'warn');
          },
        });
      };
      // A watch that goes on from the first cycle's read misses nothing when
      // started after it, and lists nothing of its own at start (etcd: the
      // same 5 000 leases listed twice at once); others start before it.
      if (src.watch && src.watchResumesLoad) {
        watchAfterFirstCycle = startWatch;
      } else if (src.watch) {
        startWatch();
      } else {
        log.info('the source cannot be watched; relying on the periodic resync', { interval: formatDuration(o.intervalMs) });
      }
      scheduler = sched;
      sched.start();
      if (o.iptablesResyncMs) stopRulesCheck = checkRulesEvery(o.iptablesResyncMs, () => converged);
    }
    return await finished;
  } catch (e) {
    prober?.stop();
    monitor?.stop();
    writers.close();
    dataPlane.close();
    stopWatch?.();
    stopRulesCheck?.();
    await scheduler?.stop();
    if (server) await stopServer(server);
    await source?.close().catch(() => undefined);
    throw e;
  } finally {
    for (const [s, f] of handlers) signals.off(s, f);
  }
}

/**
 * Tells the source, once, that this node's network is up (flanneld clears the
 * Node's NetworkUnavailable condition; the scheduler keeps pods off a node
 * while it is True). After a converged cycle, so never before routes and
 * subnet.env exist; a failure is logged and retried after the next one.
 */
class NetworkUpMarker {
  private state: 'todo' | 'running' | 'done';

  constructor(private readonly source: Source, setNodeNetworkUnavailable: boolean | undefined, private readonly log: Logger) {
    this.state = setNodeNetworkUnavailable === false || !source.markNetworkUp ? 'done' : 'todo';
  }

  after(snap: { desired: { local: { name: string } } }): void {
    if (this.state !== 'todo') return;
    this.state = 'running';
    this.source.markNetworkUp!().then(() => {
      this.state = 'done';
      this.log.info('set the node condition NetworkUnavailable=False (reason FlannelIsUp)', { node: snap.desired.local.name });
    }, (e: Error & { hint?: string }) => {
      this.state = 'todo';
      this.log.warn(`cannot set the node condition NetworkUnavailable=False: ${e.message}`, { hint: e.hint, retry: 'after the next converged cycle' });
    });
  }
}
