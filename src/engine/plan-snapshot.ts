// The plan-only cycle: source -> validate -> plan, with only the host state
// the plan depends on. `ovlnet plan` prints the desired state, never a diff,
// so reading and diffing every route, neighbour and fdb entry on the host
// (30 000 of them on a converged 10 000-peer node) was most of its cost and
// made it slower the more the host already held.
//
// What a plan needs from the host:
//   - links and addresses, always: the underlay device and its MTU, the local
//     node by this host's addresses, the host-network overlap checks;
//   - the main routing table, only for vxlan DirectRouting (which peers are
//     on-link). Known from the config before the host is read, so it is read
//     in the same `ip -batch` as the addresses;
//   - routes, neighbours and fdb, only to settle overlapping subnets in favour
//     of a programmed peer. Whether any subnets overlap is known only after
//     validation, so validation runs first with a probe that answers "not
//     programmed" and notes that it was asked; when it was, the host is read
//     whole (as `diff` would) and the pure stages run again with the real
//     answer. Overlaps are rare, and a plan with them costs what it did before.
// The public IP a registering source (etcd, Kubernetes) publishes is chosen
// by that source, from its own host read, before this runs.
//
// Diff conflicts (a foreign route holding a peer's subnet) are the diff's
// business: `ovlnet diff` and `apply` report them; a plan does not.
import { backendOf } from '../backends/registry.js';
import { HostError, PermissionError } from '../errors.js';
import type { ActualState, ClusterState, DesiredState, Node, Problem } from '../model/types.js';
import { iptablesHasRandomFully, readForeignMainRoutes, readHost, readPlanHost, type PlanHost } from '../host/read.js';
import { loadRunner } from '../host/exec.js';
import { fdbDevicesFor, policyFor } from './devices.js';
import { planFrom } from './desired.js';
import { programmedCheck } from '../reconcile/programmed.js';
import type { Source } from '../sources/types.js';
import { validateConfig, type ValidatedCluster } from '../validate/index.js';
// Types only: cycle.ts brings in the write path (diff, batches, netfilter), which a plan never runs.
import type { CycleOptions } from './cycle.js';

export interface PlanSnapshot {
  state: ClusterState;
  cluster: ValidatedCluster;
  desired: DesiredState;
  /** Source warnings, skipped nodes, unplannable peers (and a host that could not be read). */
  problems: Problem[];
  /** What was read of the host: nothing (unreadable), addresses, addresses and routes, or all of it. */
  read: HostRead;
}

export type { PlanHost };
export { planFrom };
export { foreignMainRoutes } from '../host/read.js';

export type HostRead = 'none' | 'addrs' | 'addrs+routes' | 'all';

/**
 * Whether the plan of this config depends on the host's routing table (vxlan
 * DirectRouting's on-link test), from the source's config as given (validated
 * again, with the host's addresses, once the host is read). Pure.
 */
export function planNeedsRoutes(state: ClusterState): boolean {
  try {
    const config = validateConfig(state.config);
    return backendOf(config).plansFromRoutes(config);
  } catch {
    return false; // planFrom reports the config error
  }
}

/** An isProgrammed that answers "no" and remembers that it was asked. */
function probe(): { check: (n: Node) => boolean; asked: () => boolean } {
  let asked = false;
  return { check: () => ((asked = true), false), asked: () => asked };
}

function cannotRead(e: unknown, opts: CycleOptions): Problem {
  const where = opts.netns ? `network namespace ${opts.netns}` : 'this host';
  return { subject: 'host', message: `cannot read ${where} (${(e as Error).message}); planned as for an empty host` };
}

/** A host that can not be read is planned as an empty one (a plan needs no root and no iproute2). */
function unreadable(e: unknown): boolean {
  return e instanceof HostError || e instanceof PermissionError;
}

/** The two host reads a plan may make; the real ones by default, fakes in tests. */
export interface PlanReads {
  /** Links and addresses, and the main table when `withRoutes`. */
  planHost(withRoutes: boolean): Promise<PlanHost>;
  /** The whole host, as `diff` reads it. */
  wholeHost(): Promise<ActualState>;
}

/**
 * `links`: the links and addresses, when their read was started before the
 * source was loaded (planSnapshot); the main table, if the plan needs it, is
 * then a read of its own beside it.
 */
export function hostReads(netns: string | undefined, state: ClusterState, links?: Promise<PlanHost>): PlanReads {
  return {
    planHost: (withRoutes) => {
      if (!links) return readPlanHost(netns, withRoutes);
      if (!withRoutes) return links;
      return Promise.all([links, readForeignMainRoutes(netns)]).then(([l, routes]) => ({ links: l.links, routes }));
    },
    wholeHost: () => readHost(netns, fdbDevicesFor(state)),
  };
}

/**
 * Reads the source and what the plan needs of the host, and plans. Never
 * writes. Same desired state and problems as `snapshot` (minus the diff's
 * conflicts), for a fraction of the reading.
 */
export async function planSnapshot(source: Source, opts: CycleOptions, state?: ClusterState): Promise<PlanSnapshot> {
  let links: Promise<PlanHost> | undefined;
  if (!state) {
    // Links and addresses do not depend on the source: `ip` answers while the
    // cluster file is read and parsed. An error is planWithReads' to report
    // (a source that fails first is reported instead).
    await loadRunner();
    links = readPlanHost(opts.netns, false);
    links.catch(() => undefined);
    state = await source.load();
  }
  if (opts.ipMasq && opts.masqRandomFully === undefined) opts = { ...opts, masqRandomFully: await iptablesHasRandomFully() };
  return planWithReads(state, opts, hostReads(opts.netns, state, links));
}

/** planSnapshot with the host reads given: decides which to make, and plans. */
export async function planWithReads(state: ClusterState, opts: CycleOptions, reads: PlanReads): Promise<PlanSnapshot> {
  const fail = (e: unknown): PlanSnapshot => {
    if (!unreadable(e)) throw e;
    const snap = planFrom(state, { links: new Map() }, opts, () => false);
    snap.problems.unshift(cannotRead(e, opts));
    return { ...snap, read: 'none' };
  };
  const withRoutes = planNeedsRoutes(state);
  let host: PlanHost;
  try {
    host = await reads.planHost(withRoutes);
  } catch (e) {
    return fail(e);
  }
  const p = probe();
  const first = planFrom(state, host, opts, p.check);
  if (!p.asked()) return { ...first, read: withRoutes ? 'addrs+routes' : 'addrs' };
  // Overlapping subnets: settle them as diff and apply do, with the whole host.
  let actual: ActualState;
  try {
    actual = await reads.wholeHost();
  } catch (e) {
    return fail(e);
  }
  const config = first.cluster.config;
  return { ...planFrom(state, actual, opts, programmedCheck(actual, config, policyFor(config))), read: 'all' };
}
