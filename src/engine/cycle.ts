// One reconcile cycle, composed from the pure stages and the host I/O:
//   source -> validate -> plan -> read host -> diff -> guard -> write -> verify.
// Used by plan/diff/apply and by the daemon. Decisions live in the stages;
// this file only wires them together.
import { backendOf } from '../backends/registry.js';
import { familyOf } from '../backends/ruleset.js';
import type { TxOffloadMode } from '../backends/vxlan/offload.js';
import { GuardError, HostError, PermissionError } from '../errors.js';
import type { ActualState, Change, ClusterState, DesiredState, NetfilterRuleEntry, NetworkConfig, Problem, SysctlEntry } from '../model/types.js';
import { iptablesHasRandomFully } from '../host/read.js';
import { realHost } from '../host/real.js';
import { KIND_LIST } from '../kinds/index.js';
import type { Failure } from '../host/write.js';
import { fdbDevicesFor, podNetworks, policyFor } from './devices.js';
import { planFrom, type PlanTrace } from './desired.js';
import type { Host, ReadScope } from './host.js';
import type { HostScope } from './fingerprint.js';
import type { PlanDelta } from './incremental.js';
import { devicesFirst, writePhasesFor } from './phases.js';
import { diff, type DiffResult } from '../reconcile/diff.js';
import { checkMassDeletion, type GuardVerdict, type MaxDelete } from '../reconcile/guard.js';
import { orderChanges } from '../reconcile/order.js';
import { diffNetfilter, forwardPolicyProblems } from '../reconcile/netfilter.js';
import { nodeAddresses, ownershipFor } from '../reconcile/ownership.js';
import { programmedCheck } from '../reconcile/programmed.js';
import type { Source } from '../sources/types.js';
import { validateConfig, type ValidatedCluster } from '../validate/index.js';

export interface CycleOptions {
  netns?: string;
  node?: string;
  publicIP?: string;
  /** daemon --public-ipv6: the IPv6 address a dual-stack registration publishes. */
  publicIPv6?: string;
  iface?: string;
  /**
   * This host's own underlay address when the local node publishes a
   * public-ip-overwrite (found by the daemon's registration); without it the
   * plan picks the address flannel would (--iface's, else the default route's).
   */
  localAddress?: string;
  /** plan only (engine/plan-snapshot.ts): the local public IP need not be on this host. */
  offline?: boolean;
  hostname?: string;
  /** --disable-tx-offload; default auto (by kernel release). */
  txOffload?: TxOffloadMode;
  /** The kernel release `auto` decides on; default os.release(). */
  kernelRelease?: string;
  /** --ip-masq: plan, diff and apply flannel's masquerade rules. */
  ipMasq?: boolean;
  /** MASQUERADE --random-fully: false with --ip-masq-fully-random-disable; undefined asks iptables (withHostFacts). */
  masqRandomFully?: boolean;
  /** --iptables-forward-rules: flannel's FORWARD accept rules (the CLI's default is on; here, off unless asked). */
  forwardRules?: boolean;
}

export interface Snapshot {
  /** What the source gave (an incremental snapshot, engine/incremental.ts: the last full read's config and flags, no nodes). */
  state: ClusterState;
  cluster: ValidatedCluster;
  desired: DesiredState;
  actual: ActualState;
  result: DiffResult;
  /** Everything worth a warning: source warnings, skipped nodes, unplannable peers, conflicts. */
  problems: Problem[];
  /** The host this snapshot was read from; apply and verify write and re-read it. */
  host: Host;
  /** The peers programmed now when the snapshot knows it already (an incremental one does); else countOwnedPeers counts the routes. */
  ownedPeers?: number;
  /** What the plan was made of, when asked for (the daemon's incremental planner). */
  trace?: PlanTrace;
  /** An incremental snapshot's change from the plan before it (engine/incremental.ts). */
  delta?: PlanDelta;
}

/** Reads the source and the host, plans and diffs. Never writes. */
export async function snapshot(source: Source, opts: CycleOptions, state?: ClusterState, host: Host = realHost(opts.netns), trace?: PlanTrace): Promise<Snapshot> {
  if (state) {
    const { kernel } = await host.read({ kernel: { fdbDevices: fdbDevicesFor(state) } });
    return snapshotFrom(state, kernel!, opts, host, trace);
  }
  // The host read starts before the source is read and parsed: links,
  // routes and neighbours do not depend on it (only the fdb read waits for
  // the device names), so `ip` answers while the cluster file is parsed.
  await host.ready?.();
  let devices!: (names: string[]) => void;
  const reading = host.read({ kernel: { fdbDevices: new Promise<string[]>((resolve) => (devices = resolve)) } });
  const loading = source.load();
  // A source that fails leaves the fdb unread (an empty list: nothing to ask bridge).
  loading.then((s) => devices(fdbDevicesFor(s)), () => devices([]));
  // Both failing: the source's error is the one reported, as when the reads were in turn.
  reading.catch(() => undefined);
  state = await loading;
  const { kernel } = await reading;
  return snapshotFrom(state, kernel!, opts, host, trace);
}

/**
 * Plans and diffs against `actual`: a complete host read (fdb included: the
 * devices of fdbDevicesFor), or the daemon's kernel model.
 */
export async function snapshotFrom(state: ClusterState, actual: ActualState, opts: CycleOptions, host: Host = realHost(opts.netns), trace?: PlanTrace): Promise<Snapshot> {
  opts = await withHostFacts(opts);
  const config = validateConfig(state.config, { addrs: [...actual.links.values()].flatMap((l) => l.addrs) });
  // Only vxlan devices have forwarding entries; the udp TUN is owned as a device.
  const policy = policyFor(config);
  const isProgrammed = programmedCheck(actual, config, policy);
  const { cluster, desired, problems } = planFrom(state, actual, opts, isProgrammed, config, trace);
  const skipped = await readExtras(host, desired, actual, opts.forwardRules === false ? forwardFamiliesOf(config) : []);
  const result = diff(desired, actual, policy);
  return { state, cluster, desired, actual, result, problems: [...problems, ...skipped, ...result.conflicts], host, ...(trace ? { trace } : {}) };
}

const isRule = (e: { kind: string }): e is NetfilterRuleEntry => e.kind === 'nat' || e.kind === 'filter';

/**
 * The daemon's --iptables-resync check: the planned iptables rules against
 * a fresh read of their tables only (one iptables-save per family), as
 * flanneld re-checks its rules every few seconds. Never writes.
 */
/** The plan's iptables rules (what netfilterDrift compares). */
export function plannedRules(desired: DesiredState): NetfilterRuleEntry[] {
  return desired.entries.filter(isRule);
}

/** `rules`: the plan's rules when the caller kept them (the daemon's, across incremental plans, whose rules never change). */
export async function netfilterDrift(desired: DesiredState, netns: string | undefined, host: Host = realHost(netns), rules = plannedRules(desired)): Promise<Change[]> {
  if (!rules.length) return [];
  const { netfilter } = await host.read({ netfilter: { families: [...new Set(rules.map(familyOf))] } });
  return diffNetfilter(rules, netfilter).changes;
}

/** Options with what only the host can say filled in: whether iptables takes --random-fully (only asked under --ip-masq). */
export async function withHostFacts(opts: CycleOptions): Promise<CycleOptions> {
  if (!opts.ipMasq || opts.masqRandomFully !== undefined) return opts;
  return { ...opts, masqRandomFully: await iptablesHasRandomFully() };
}

/** The iptables families whose tables the plan's rules need read (the daemon's kernel model may hold them already). */
function ruleFamilies(desired: DesiredState, actual: ActualState): Array<4 | 6> {
  return [...new Set(desired.entries.filter(isRule).map(familyOf))].filter((f) => !actual.netfilter?.[`${f}/filter`]);
}

/** A promise whose rejection is handled where it is awaited, not as an unhandled one if an earlier read throws first. */
function started<T>(p: Promise<T> | undefined): Promise<T> | undefined {
  p?.catch(() => undefined);
  return p;
}

/**
 * The host state only some plans need, read once per cycle and only then
 * (no-op cycles stay cheap). Returns what could not be checked: without
 * iptables (an nftables-only host), or without root (diff reads without
 * privileges), the FORWARD rules, which are on unless turned off, are dropped
 * from the plan with a warning; --ip-masq, asked for, fails instead.
 * `forwardFamilies`: with the FORWARD rules turned off, the families whose
 * FORWARD policy is checked (forwardPolicyProblems). The reads are separate
 * processes that do not depend on each other: they run at once, and their
 * answers are taken in the order they were read in turn before.
 */
async function readExtras(host: Host, desired: DesiredState, actual: ActualState, forwardFamilies: ReadonlyArray<4 | 6> = []): Promise<Problem[]> {
  const offload: Array<{ dev: string; features: string[] }> = [];
  for (const dev of [desired.device, desired.device6]) {
    const features = desired.entries.flatMap((e) => (e.kind === 'offload' && e.dev === dev ? [e.feature] : []));
    if (!features.length || !dev || !actual.links.has(dev)) continue;
    offload.push({ dev, features });
  }
  // Sysctl settings are read with the host (the daemon's kernel model keeps them: an event cycle reads nothing).
  const pinned = actual.sysctl === undefined ? desired.entries.filter((e): e is SysctlEntry => e.kind === 'sysctl' && actual.links.has(e.dev)) : [];
  // Tables already in `actual` (the daemon's kernel model) are not read again.
  const families = ruleFamilies(desired, actual);
  const forwardUnread = forwardFamilies.filter((f) => !actual.netfilter?.[`${f}/filter`] && !families.includes(f));
  const offloadRead = started(offload.length ? host.read({ offload }) : undefined);
  const sysctlRead = started(pinned.length ? host.read({ sysctl: pinned }) : undefined);
  const rulesRead = started(families.length ? host.read({ netfilter: { families } }) : undefined);
  const forwardRead = started(forwardUnread.length ? host.read({ netfilter: { families: forwardUnread, ifInstalled: true } }) : undefined);
  actual.offload = offloadRead ? (await offloadRead).offload : undefined;
  if (sysctlRead) actual.sysctl = (await sysctlRead).sysctl;
  // The kinds' own readers (WireGuard peers...), read by every snapshot (they have no kernel model).
  const problems: Problem[] = [];
  const readers = new Map(KIND_LIST.flatMap((k) => (k.reader ? [[k.reader.name, k.reader] as const] : [])));
  for (const [name, reader] of readers) {
    const scope = reader.scope(desired.entries, actual);
    if (!scope) continue;
    try {
      reader.store(actual, scope.ask === undefined ? undefined : (await host.read({ readers: { [name]: scope.ask } })).readers?.[name]);
    } catch (e) {
      // diff without root: some tools need CAP_NET_ADMIN even to read. The kind is then not judged.
      if (!(e instanceof PermissionError) || !reader.unprivileged) throw e;
      reader.store(actual, undefined, true);
      problems.push(reader.unprivileged);
    }
  }
  try {
    if (rulesRead) actual.netfilter = { ...actual.netfilter, ...(await rulesRead).netfilter };
  } catch (e) {
    const unreadable = (e instanceof HostError && / not found in PATH/.test(e.message)) || e instanceof PermissionError;
    if (!unreadable || desired.entries.some((x) => x.kind === 'nat')) throw e;
    desired.entries = desired.entries.filter((x) => x.kind !== 'filter');
    actual.netfilter = undefined;
    const why = e instanceof PermissionError ? 'reading iptables needs root' : (e as Error).message;
    problems.push({ subject: '--iptables-forward-rules', message: `${why}: flannel's FORWARD accept rules are not checked (a FORWARD policy of DROP would drop pod traffic); --iptables-forward-rules=false silences this` });
  }
  if (!forwardFamilies.length) return problems;
  const tables = { ...actual.netfilter, ...(forwardRead ? (await forwardRead).netfilter : undefined) };
  // A family the rules' read was to cover and did not (it failed): asked for now, as the check alone would.
  const late = forwardFamilies.filter((f) => !tables[`${f}/filter`] && !forwardUnread.includes(f));
  const lateRead = late.length ? (await host.read({ netfilter: { families: late, ifInstalled: true } })).netfilter : undefined;
  return [...problems, ...forwardPolicyProblems({ ...tables, ...lateRead }, forwardFamilies)];
}

/** Turned off, the FORWARD rules are not planned; whether the host drops forwarded traffic is still worth a warning: the families checked. */
function forwardFamiliesOf(config: NetworkConfig): Array<4 | 6> {
  return [...new Set([config.network.family, ...(config.ipv6 ? [6 as const] : [])])];
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
  /**
   * Write the devices and their addresses first, then the rest in a second
   * write (engine/phases.ts devicesFirst): the daemon's repair of a deleted
   * device brings the device back before rendering its thousands of entries.
   */
  devicesFirst?: boolean;
}

export interface ApplyResult {
  applied: Change[];
  failures: Failure[];
  /** Changes still needed after the write, from the verifying re-read. */
  remaining: Change[];
  guard: GuardVerdict;
  processes: number;
}

/** What a saved plan fingerprints of the host read (engine/fingerprint.ts): the scope the diff looked at. */
export function hostScope(snap: Pick<Snapshot, 'cluster' | 'desired'>): HostScope {
  const config = snap.cluster.config;
  return { policy: policyFor(config), devices: [snap.desired.device, snap.desired.device6], podNetworks: podNetworks(config) };
}

/** Peers programmed now: ovlnet's routes, and the routes flanneld left that ovlnet inherits. */
export function countOwnedPeers(snap: Snapshot): number {
  if (snap.ownedPeers !== undefined) return snap.ownedPeers;
  const policy = ownershipFor([snap.desired.device, snap.desired.device6], undefined, podNetworks(snap.cluster.config));
  const nodeIPs = nodeAddresses(snap.desired);
  // Other kinds' peers on ovlnet's devices count too (WireGuard peers): their deletions are what the guard counts there.
  let others = 0;
  for (const k of KIND_LIST) others += k.ownedPeers?.(snap.actual, policy) ?? 0;
  return snap.actual.routes.filter((r) => policy.ownsRoute(r) || policy.inheritsRoute(r, nodeIPs)).length + others;
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
  // The whole plan only for the kinds whose driver asks for it (an incremental snapshot builds it on demand).
  const ordered = orderChanges(changes);
  const parts = (opts.devicesFirst && devicesFirst(ordered)) || [ordered];
  const failures: Failure[] = [];
  let processes = 0;
  for (const part of parts) {
    const w = await snap.host.write(writePhasesFor(part, () => snap.desired.entries, snap.actual));
    failures.push(...w.failures);
    processes += w.processes;
  }
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
