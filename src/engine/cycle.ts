// One reconcile cycle, composed from the pure stages and the host I/O:
//   source -> validate -> plan -> read host -> diff -> guard -> write -> verify.
// Used by plan/diff/apply and by the daemon. Decisions live in the stages;
// this file only wires them together.
import { backendOf } from '../backends/registry.js';
import type { TxOffloadMode } from '../backends/vxlan/offload.js';
import { GuardError } from '../errors.js';
import type { ActualState, Change, ClusterState, DesiredState, Problem } from '../model/types.js';
import { realHost } from '../host/real.js';
import type { Failure } from '../host/write.js';
import { fdbDevicesFor, policyFor } from './devices.js';
import { planFrom } from './desired.js';
import type { Host, ReadScope } from './host.js';
import { writePhasesFor } from './phases.js';
import { diff, type DiffResult } from '../reconcile/diff.js';
import { checkMassDeletion, type GuardVerdict, type MaxDelete } from '../reconcile/guard.js';
import { orderChanges } from '../reconcile/order.js';
import { ownershipFor } from '../reconcile/ownership.js';
import { programmedCheck } from '../reconcile/programmed.js';
import type { Source } from '../sources/types.js';
import { validateConfig, type ValidatedCluster } from '../validate/index.js';

export interface CycleOptions {
  netns?: string;
  node?: string;
  publicIP?: string;
  iface?: string;
  /** plan only (engine/plan-snapshot.ts): the local public IP need not be on this host. */
  offline?: boolean;
  hostname?: string;
  /** --disable-tx-offload; default auto (by kernel release). */
  txOffload?: TxOffloadMode;
  /** The kernel release `auto` decides on; default os.release(). */
  kernelRelease?: string;
  /** --ip-masq: plan, diff and apply flannel's masquerade rules. */
  ipMasq?: boolean;
}

export interface Snapshot {
  state: ClusterState;
  cluster: ValidatedCluster;
  desired: DesiredState;
  actual: ActualState;
  result: DiffResult;
  /** Everything worth a warning: source warnings, skipped nodes, unplannable peers, conflicts. */
  problems: Problem[];
  /** The host this snapshot was read from; apply and verify write and re-read it. */
  host: Host;
}

/** Reads the source and the host, plans and diffs. Never writes. */
export async function snapshot(source: Source, opts: CycleOptions, state?: ClusterState, host: Host = realHost(opts.netns)): Promise<Snapshot> {
  state ??= await source.load();
  const { kernel } = await host.read({ kernel: { fdbDevices: fdbDevicesFor(state) } });
  return snapshotFrom(state, kernel!, opts, host);
}

/**
 * Plans and diffs against `actual`: a complete host read (fdb included: the
 * devices of fdbDevicesFor), or the daemon's kernel model.
 */
export async function snapshotFrom(state: ClusterState, actual: ActualState, opts: CycleOptions, host: Host = realHost(opts.netns)): Promise<Snapshot> {
  const config = validateConfig(state.config, { addrs: [...actual.links.values()].flatMap((l) => l.addrs) });
  // Only vxlan devices have forwarding entries; the udp TUN is owned as a device.
  const policy = policyFor(config);
  const isProgrammed = programmedCheck(actual, config, policy);
  const { cluster, desired, problems } = planFrom(state, actual, opts, isProgrammed, config);
  await readExtras(host, desired, actual);
  const result = diff(desired, actual, policy);
  return { state, cluster, desired, actual, result, problems: [...problems, ...result.conflicts], host };
}

/** The host state only some plans need, read once per cycle and only then (no-op cycles stay cheap). */
async function readExtras(host: Host, desired: DesiredState, actual: ActualState): Promise<void> {
  const scope: ReadScope = {};
  const offload: Array<{ dev: string; features: string[] }> = [];
  for (const dev of [desired.device, desired.device6]) {
    const features = desired.entries.flatMap((e) => (e.kind === 'offload' && e.dev === dev ? [e.feature] : []));
    if (!features.length || !dev || !actual.links.has(dev)) continue;
    offload.push({ dev, features });
  }
  if (offload.length) scope.offload = offload;
  if (desired.entries.some((e) => e.kind === 'nat')) scope.nat = 'required';
  const r = scope.offload || scope.nat ? await host.read(scope) : {};
  actual.offload = r.offload;
  actual.nat = r.nat;
}

export interface ApplyOptions extends CycleOptions {
  maxDelete: MaxDelete;
  force?: boolean;
  /**
   * Re-read the host after writing and report what is still missing (default
   * true). The daemon skips it on cycles caused only by a source event: the
   * diff was taken against a fresh host read, and the next full resync
   * verifies anyway, while the re-read doubles the cost of the cycle.
   */
  verify?: boolean;
}

export interface ApplyResult {
  applied: Change[];
  failures: Failure[];
  /** Changes still needed after the write, from the verifying re-read. */
  remaining: Change[];
  guard: GuardVerdict;
  processes: number;
}

export function countOwnedPeers(snap: Snapshot): number {
  const policy = ownershipFor([snap.desired.device, snap.desired.device6]);
  return snap.actual.routes.filter((r) => policy.ownsRoute(r)).length;
}

/** Writes the snapshot's changes, then (unless told not to) re-reads the host to verify. */
export async function applySnapshot(snap: Snapshot, opts: ApplyOptions): Promise<ApplyResult> {
  const changes = snap.result.changes;
  const guard = checkMassDeletion(changes, countOwnedPeers(snap), opts.maxDelete);
  if (guard.refused && !opts.force) {
    throw new GuardError(
      `refusing to remove ${guard.removing} of ${guard.current} peers (more than the ${guard.allowed} allowed by --max-delete); nothing was changed`,
      'check the source (a wrong prefix or an emptied file?); rerun with --force to allow it once',
    );
  }
  if (changes.length === 0) return { applied: [], failures: [], remaining: [], guard, processes: 0 };
  const phases = writePhasesFor(orderChanges(changes), snap.desired.entries, snap.actual);
  const { failures, processes } = await snap.host.write(phases);
  const failed = new Set(failures.map((f) => f.change));
  const applied = changes.filter((c) => !failed.has(c));
  if (opts.verify === false) return { applied, failures, remaining: [], guard, processes };
  return { applied, failures, remaining: (await verifyWritten(snap)).remaining, guard, processes };
}

/**
 * What the kernel does not hold of the plan just written: the whole host read
 * again and diffed against the same desired state. Not planned again: the
 * question is whether the kernel took what was written, and the plan, from
 * the same source and config, is what was written (a plan that the new host
 * state would change is the next cycle's business). Also returns that read,
 * which the daemon keeps as its model of the kernel.
 */
export async function verifyWritten(snap: Snapshot): Promise<{ remaining: Change[]; host: ActualState }> {
  const { kernel } = await snap.host.read({ kernel: { fdbDevices: backendOf(snap.cluster.config).fdbDevices(snap.cluster.config) } });
  await readExtras(snap.host, snap.desired, kernel!);
  return { remaining: diff(snap.desired, kernel!, policyFor(snap.cluster.config)).changes, host: kernel! };
}
