// Prometheus metrics, on a registry of our own (nothing global). Every name
// is listed in docs/daemon.md "Metrics"; keep the two in step.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { KINDS } from '../kinds/index.js';
import type { Action } from '../model/types.js';

export const STAGES = ['register', 'source', 'validate', 'host', 'guard', 'write', 'verify', 'subnet-file', 'watch'] as const;
export type Stage = (typeof STAGES)[number];

export type CycleResult = 'ok' | 'failed' | 'refused';

// Every kind and action, so each ovlnet_changes_applied_total series exists
// from the start (a rate() over a series that appears later misses its first
// increase). The kinds come from their registry; the actions are a record
// over the type, so a new action fails to compile until listed.
const ACTIONS: Record<Action, true> = { add: true, change: true, delete: true, replace: true };

/** The kinds kernel events can repair (daemon/kernel-events.ts). */
const REPAIRED_KINDS = ['link', 'route', 'neigh', 'fdb'] as const;

export class DaemonMetrics {
  readonly registry = new Registry();
  readonly cycles: Counter<'result'>;
  readonly cycleDuration: Histogram<'result'>;
  readonly changes: Counter<'kind' | 'action'>;
  readonly errors: Counter<'stage'>;
  readonly peers: Gauge;
  readonly drift: Gauge;
  readonly unconverged: Gauge;
  readonly conflicts: Gauge;
  readonly lastSuccess: Gauge;
  readonly sourceUp: Gauge;
  readonly ready: Gauge;
  readonly removedInWindow: Gauge;
  readonly info: Gauge<'version' | 'source'>;
  readonly peersUnreachable: Gauge;
  readonly probes: Counter<'result' | 'family'>;
  readonly probeRtt: Histogram;
  readonly kernelRepairs: Counter<'kind'>;
  readonly kernelRepairsGivenUp: Counter<'kind'>;
  readonly kernelMonitorRestarts: Counter<'tool'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.cycles = new Counter({ name: 'ovlnet_cycles_total', help: 'Reconcile cycles run, by result (ok, failed, refused by the --max-delete guard).', labelNames: ['result'], registers });
    this.cycleDuration = new Histogram({
      name: 'ovlnet_cycle_duration_seconds', help: 'Duration of reconcile cycles (read source and host, diff, write, verify).',
      labelNames: ['result'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    });
    this.changes = new Counter({ name: 'ovlnet_changes_applied_total', help: 'Kernel changes applied, by kind (link, addr, neigh, fdb, route) and action (add, change, delete, replace).', labelNames: ['kind', 'action'], registers });
    this.errors = new Counter({ name: 'ovlnet_errors_total', help: `Errors by stage (${STAGES.join(', ')}).`, labelNames: ['stage'], registers });
    this.peers = new Gauge({ name: 'ovlnet_peers', help: 'Peers in the plan of the last cycle that read the source.', registers });
    this.drift = new Gauge({ name: 'ovlnet_drift_entries', help: 'Changes the last cycle found needed before writing (0 = the kernel matched the plan).', registers });
    this.unconverged = new Gauge({ name: 'ovlnet_unconverged_entries', help: 'Changes still needed after the last write (failed or not verified).', registers });
    this.conflicts = new Gauge({ name: 'ovlnet_route_conflicts', help: 'Desired routes held by a foreign route and left alone, in the last cycle.', registers });
    this.lastSuccess = new Gauge({ name: 'ovlnet_last_success_timestamp_seconds', help: 'Unix time of the last successful cycle (0 before the first).', registers });
    this.sourceUp = new Gauge({ name: 'ovlnet_source_up', help: '1 when the last attempt to read the cluster state source succeeded, else 0.', registers });
    this.ready = new Gauge({ name: 'ovlnet_ready', help: 'What /readyz answers, at scrape time: 1 after a successful cycle within 3 intervals with every data plane up, else 0.', registers });
    this.removedInWindow = new Gauge({ name: 'ovlnet_peers_removed_in_window', help: 'Peers removed within the last --max-delete-window (the guard refuses past its limit).', registers });
    this.info = new Gauge({ name: 'ovlnet_build_info', help: 'Always 1; labels name the version and the kind of source (file, etcd, kube).', labelNames: ['version', 'source'], registers });
    this.peersUnreachable = new Gauge({ name: 'ovlnet_peers_unreachable', help: 'Peers whose last overlay probes (--probe-interval) failed twice or more in a row, on either address family (a peer counted once).', registers });
    this.probes = new Counter({ name: 'ovlnet_probes_total', help: 'Overlay probes sent to peers, by result (ok, failed) and address family (4, 6).', labelNames: ['result', 'family'], registers });
    this.probeRtt = new Histogram({
      name: 'ovlnet_probe_rtt_seconds', help: 'Round trip of answered overlay probes.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers,
    });
    this.kernelRepairs = new Counter({ name: 'ovlnet_kernel_repairs_total', help: 'Objects of the plan the kernel lost or another writer changed, written again at once on the kernel event, by kind.', labelNames: ['kind'], registers });
    this.kernelRepairsGivenUp = new Counter({ name: 'ovlnet_kernel_repairs_given_up_total', help: 'Objects ovlnet stopped repairing until the next resync: lost again past the repair rate limit, by kind.', labelNames: ['kind'], registers });
    this.kernelMonitorRestarts = new Counter({ name: 'ovlnet_kernel_monitor_restarts_total', help: 'Restarts of the kernel event monitors after they exited, by tool (ip, bridge).', labelNames: ['tool'], registers });
    // Make every series visible from the start, so alerts on absent() are not needed.
    for (const r of ['ok', 'failed', 'refused'] as const) {
      this.cycles.inc({ result: r }, 0);
      this.cycleDuration.zero({ result: r });
    }
    for (const kind of Object.keys(KINDS)) for (const action of Object.keys(ACTIONS)) this.changes.inc({ kind, action }, 0);
    this.peers.set(0);
    this.drift.set(0);
    this.unconverged.set(0);
    this.conflicts.set(0);
    for (const s of STAGES) this.errors.inc({ stage: s }, 0);
    for (const r of ['ok', 'failed'] as const) for (const family of ['4', '6']) this.probes.inc({ result: r, family }, 0);
    this.peersUnreachable.set(0);
    for (const kind of REPAIRED_KINDS) {
      this.kernelRepairs.inc({ kind }, 0);
      this.kernelRepairsGivenUp.inc({ kind }, 0);
    }
    for (const tool of ['ip', 'bridge'] as const) this.kernelMonitorRestarts.inc({ tool }, 0);
    this.lastSuccess.set(0);
    this.sourceUp.set(0);
    this.ready.set(0);
    if (opts.defaultMetrics) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names three gauges *_total, which promtool (rightly) flags:
      // only counters end in _total. The same counts by type remain, as
      // nodejs_active_handles, nodejs_active_requests, nodejs_active_resources.
      for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(n);
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
