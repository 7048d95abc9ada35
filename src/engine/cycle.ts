// One reconcile cycle, composed from the pure stages and the host I/O:
//   source -> validate -> plan -> read host -> diff -> guard -> write -> verify.
// Used by plan/diff/apply and by the daemon. Decisions live in the stages;
// this file only wires them together.
import { vxlanDevices } from '../backends/index.js';
import type { TxOffloadMode } from '../backends/offload.js';
import { familyOf } from '../backends/ruleset.js';
import { GuardError, HostError, PermissionError } from '../errors.js';
import type { ActualState, Change, ClusterState, DesiredState, NetfilterRuleEntry, NetworkConfig, Problem, SysctlEntry } from '../model/types.js';
import { isIpBatchChange, toPhases } from '../host/commands.js';
import { renderRestore } from '../host/iptables.js';
import { iptablesHasRandomFully, readNetfilter, readNetfilterIfInstalled, writeNetfilter } from '../host/netfilter.js';
import { readOffload, writeOffload } from '../host/offload.js';
import { requireNetAdmin } from '../host/privilege.js';
import { readHost } from '../host/read.js';
import { readSysctl, writeSysctl } from '../host/sysctl.js';
import { sysctlPath } from '../host/sysctl-text.js';
import { fdbDevicesFor, podNetworks, policyFor } from './devices.js';
import { planFrom } from './desired.js';
import { writePhases, type Failure } from '../host/write.js';
import { diff, type DiffResult } from '../reconcile/diff.js';
import { checkMassDeletion, type GuardVerdict, type MaxDelete } from '../reconcile/guard.js';
import { diffNetfilter, forwardPolicyProblems } from '../reconcile/netfilter.js';
import { orderChanges } from '../reconcile/order.js';
import { nodeAddresses, ownershipFor } from '../reconcile/ownership.js';
import { programmedCheck } from '../reconcile/programmed.js';
import type { Source } from '../sources/types.js';
import { validateConfig, type ValidatedCluster } from '../validate/index.js';

export interface CycleOptions {
  netns?: string;
  node?: string;
  publicIP?: string;
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
  state: ClusterState;
  cluster: ValidatedCluster;
  desired: DesiredState;
  actual: ActualState;
  result: DiffResult;
  /** Everything worth a warning: source warnings, skipped nodes, unplannable peers, conflicts. */
  problems: Problem[];
}

/** Reads the source and the host, plans and diffs. Never writes. */
export async function snapshot(source: Source, opts: CycleOptions, state?: ClusterState): Promise<Snapshot> {
  state ??= await source.load();
  return snapshotFrom(state, await readHost(opts.netns, fdbDevicesFor(state)), opts);
}

/** Plans and diffs against `actual`, a complete host read (fdb included: readHost with fdbDevicesFor). */
export async function snapshotFrom(state: ClusterState, actual: ActualState, opts: CycleOptions): Promise<Snapshot> {
  opts = await withHostFacts(opts);
  const config = validateConfig(state.config, { addrs: [...actual.links.values()].flatMap((l) => l.addrs) });
  // Only vxlan devices have forwarding entries; the udp TUN is owned as a device.
  const policy = policyFor(config);
  const isProgrammed = programmedCheck(actual, config, policy);
  const { cluster, desired, problems } = planFrom(state, actual, opts, isProgrammed, config);
  const skipped = await readExtras(desired, actual, opts.netns);
  if (opts.forwardRules === false) skipped.push(...await forwardPolicyCheck(config, actual, opts.netns));
  const result = diff(desired, actual, policy);
  return { state, cluster, desired, actual, result, problems: [...problems, ...skipped, ...result.conflicts] };
}

/** Turned off, the FORWARD rules are not planned; whether the host drops forwarded traffic is still worth a warning. */
async function forwardPolicyCheck(config: NetworkConfig, actual: ActualState, netns: string | undefined): Promise<Problem[]> {
  const families = [...new Set([config.network.family, ...(config.ipv6 ? [6 as const] : [])])];
  const unread = families.filter((f) => !actual.netfilter?.[`${f}/filter`]);
  const tables = { ...actual.netfilter, ...(unread.length ? await readNetfilterIfInstalled(netns, unread) : {}) };
  return forwardPolicyProblems(tables, families);
}

const isRule = (e: { kind: string }): e is NetfilterRuleEntry => e.kind === 'nat' || e.kind === 'filter';

/**
 * The daemon's --iptables-resync check: the planned iptables rules against
 * a fresh read of their tables only (one iptables-save per family), as
 * flanneld re-checks its rules every few seconds. Never writes.
 */
export async function netfilterDrift(desired: DesiredState, netns: string | undefined): Promise<Change[]> {
  const rules = desired.entries.filter(isRule);
  if (!rules.length) return [];
  return diffNetfilter(rules, await readNetfilter(netns, [...new Set(rules.map(familyOf))])).changes;
}

/** Options with what only the host can say filled in: whether iptables takes --random-fully (only asked under --ip-masq). */
export async function withHostFacts(opts: CycleOptions): Promise<CycleOptions> {
  if (!opts.ipMasq || opts.masqRandomFully !== undefined) return opts;
  return { ...opts, masqRandomFully: await iptablesHasRandomFully() };
}

/**
 * The host state only some plans need, read once per cycle and only then
 * (no-op cycles stay cheap). Returns what could not be checked: without
 * iptables (an nftables-only host), or without root (diff reads without
 * privileges), the FORWARD rules, which are on unless turned off, are dropped
 * from the plan with a warning; --ip-masq, asked for, fails instead.
 */
async function readExtras(desired: DesiredState, actual: ActualState, netns: string | undefined): Promise<Problem[]> {
  actual.offload = undefined;
  for (const dev of [desired.device, desired.device6]) {
    const features = desired.entries.flatMap((e) => (e.kind === 'offload' && e.dev === dev ? [e.feature] : []));
    if (!features.length || !dev || !actual.links.has(dev)) continue;
    (actual.offload ??= []).push(...await readOffload(netns, dev, features));
  }
  // Sysctl settings are read with the host (a kernel model keeps them: an event cycle reads nothing).
  if (actual.sysctl === undefined) {
    const pinned = desired.entries.filter((e): e is SysctlEntry => e.kind === 'sysctl' && actual.links.has(e.dev));
    if (pinned.length) actual.sysctl = await readSysctl(netns, pinned);
  }
  // Tables already in `actual` (the daemon's kernel model) are not read again.
  const families = [...new Set(desired.entries.filter(isRule).map(familyOf))].filter((f) => !actual.netfilter?.[`${f}/filter`]);
  try {
    if (families.length) actual.netfilter = { ...actual.netfilter, ...await readNetfilter(netns, families) };
  } catch (e) {
    const unreadable = (e instanceof HostError && / not found in PATH/.test(e.message)) || e instanceof PermissionError;
    if (!unreadable || desired.entries.some((x) => x.kind === 'nat')) throw e;
    desired.entries = desired.entries.filter((x) => x.kind !== 'filter');
    actual.netfilter = undefined;
    const why = e instanceof PermissionError ? 'reading iptables needs root' : (e as Error).message;
    return [{ subject: '--iptables-forward-rules', message: `${why}: flannel's FORWARD accept rules are not checked (a FORWARD policy of DROP would drop pod traffic); --iptables-forward-rules=false silences this` }];
  }
  return [];
}

/** Writes the changes ip/bridge batches can not carry: sysctl settings, offload features, then iptables rules (one restore per family). */
async function writeExtras(snap: Snapshot, changes: Change[], netns: string | undefined): Promise<Failure[]> {
  const failures: Failure[] = [];
  const sysctls = changes.filter((c) => c.kind === 'sysctl' && c.desired?.kind === 'sysctl');
  if (sysctls.length) {
    const failed = await writeSysctl(netns, sysctls.map((c) => c.desired as SysctlEntry));
    for (const c of sysctls) {
      const e = c.desired as SysctlEntry;
      const message = failed.get(e);
      if (message) failures.push({ change: c, line: `sysctl -w ${sysctlPath(e)}=${e.value}`, message });
    }
  }
  for (const c of changes) {
    if (c.kind !== 'offload' || !c.desired || c.desired.kind !== 'offload') continue;
    const message = await writeOffload(netns, c.desired);
    if (message) failures.push({ change: c, line: `ethtool -K ${c.desired.dev} ${c.desired.feature} ${c.desired.enabled ? 'on' : 'off'}`, message });
  }
  for (const family of ruleFamilies(changes)) {
    const mine = changes.filter((c) => isRule(c) && familyOf((c.desired ?? c.actual) as NetfilterRuleEntry) === family);
    const desired = snap.desired.entries.filter(isRule).filter((e) => familyOf(e) === family);
    const message = await writeNetfilter(netns, family, renderRestore(desired, mine));
    // One transaction: it failed for every rule.
    if (message) for (const c of mine) failures.push({ change: c, line: `${family === 6 ? 'ip6tables' : 'iptables'}-restore --noflush`, message });
  }
  return failures;
}

function ruleFamilies(changes: Change[]): Array<4 | 6> {
  return [...new Set(changes.filter(isRule).map((c) => familyOf((c.desired ?? c.actual) as NetfilterRuleEntry)))];
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

/** Peers programmed now: ovlnet's routes, and the routes flanneld left that ovlnet inherits. */
export function countOwnedPeers(snap: Snapshot): number {
  const policy = ownershipFor([snap.desired.device, snap.desired.device6], undefined, podNetworks(snap.cluster.config));
  const nodeIPs = nodeAddresses(snap.desired);
  return snap.actual.routes.filter((r) => policy.ownsRoute(r) || policy.inheritsRoute(r, nodeIPs)).length;
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
  requireNetAdmin();
  const ordered = orderChanges(changes);
  const written = await writePhases(toPhases(ordered.filter(isIpBatchChange)), opts.netns);
  const extra = ordered.filter((c) => !isIpBatchChange(c));
  const failures = [...written.failures, ...(extra.length ? await writeExtras(snap, extra, opts.netns) : [])];
  // One ethtool per feature change, one sysctl for all settings, one iptables-restore per family for all rules.
  const processes = written.processes + extra.filter((c) => c.kind === 'offload').length + (extra.some((c) => c.kind === 'sysctl') ? 1 : 0) +
    ruleFamilies(extra).length;
  const failed = new Set(failures.map((f) => f.change));
  const applied = changes.filter((c) => !failed.has(c));
  if (opts.verify === false) return { applied, failures, remaining: [], guard, processes };
  return { applied, failures, remaining: (await verifyWritten(snap, opts.netns)).remaining, guard, processes };
}

/**
 * What the kernel does not hold of the plan just written: the whole host read
 * again and diffed against the same desired state. Not planned again: the
 * question is whether the kernel took what was written, and the plan, from
 * the same source and config, is what was written (a plan that the new host
 * state would change is the next cycle's business). Also returns that read,
 * which the daemon keeps as its model of the kernel.
 */
export async function verifyWritten(snap: Snapshot, netns: string | undefined): Promise<{ remaining: Change[]; host: ActualState }> {
  const host = await readHost(netns, vxlanDevices(snap.cluster.config));
  await readExtras(snap.desired, host, netns);
  return { remaining: diff(snap.desired, host, policyFor(snap.cluster.config)).changes, host };
}
