// Validate and plan against a view of the host: the stage plan, diff, apply
// and the daemon share. Pure.
import { hostname as osHostname, release as osRelease } from 'node:os';
import { plan, resolveUnderlay } from '../backends/index.js';
import { overwriteLocalAddress } from '../backends/underlay.js';
import { shouldDisableTxOffload } from '../backends/vxlan/offload.js';
import { parseIP, type IP } from '../model/ip.js';
import type { ClusterState, DesiredState, Entry, NetworkConfig, Node, Problem, RawNode } from '../model/types.js';
import type { PlanInput } from '../backends/types.js';
import type { NodeCheck } from '../validate/nodes.js';
import type { PlanHost } from '../host/read.js';
import { validateCluster, validateConfig, type ValidatedCluster } from '../validate/index.js';
import type { CycleOptions } from './cycle.js';

/**
 * What a plan was made of, for the daemon's incremental planner
 * (engine/incremental.ts): each source node's own check, each peer's own
 * entries, and the planner's input, so one peer can be planned again alone.
 * Filled by planFrom when given.
 */
export interface PlanTrace {
  checks: Array<{ raw: RawNode; check: NodeCheck }>;
  peerEntries: Map<Node, Entry[]>;
  input?: PlanInput;
}

export function newPlanTrace(): PlanTrace {
  return { checks: [], peerEntries: new Map() };
}

export interface Planned {
  state: ClusterState;
  cluster: ValidatedCluster;
  desired: DesiredState;
  /** Source warnings, skipped nodes, unplannable peers. */
  problems: Problem[];
}

/**
 * Validates and plans against `host`. Pure. `isProgrammed` answers for nodes
 * whose subnet overlaps another's (and only those are asked). `validConfig`:
 * the config, when the caller validated it against the same host already.
 */
export function planFrom(state: ClusterState, host: PlanHost, opts: CycleOptions, isProgrammed: (n: Node) => boolean, validConfig?: NetworkConfig, trace?: PlanTrace): Planned {
  const addrs = [...host.links.values()].flatMap((l) => l.addrs);
  const config = validConfig ?? validateConfig(state.config, { addrs });
  const hostIPs: IP[] = addrs.map((a) => a.addr);
  const cluster = validateCluster(state, {
    config,
    name: opts.node ?? state.localName,
    hostname: opts.hostname ?? osHostname(),
    publicIP: opts.publicIP,
    hostIPs,
    isProgrammed,
    // A node's IPv6 half is given as a node of its own: the same check applies.
    isProgrammed6: isProgrammed,
    onNode: trace ? (raw, check) => trace.checks.push({ raw, check }) : undefined,
  });
  // A public-ip-overwrite is only published: the device binds to this host's own address.
  const overwritten = family4(cluster.local.publicIP) && state.publicIPOverwritten?.includes(cluster.local.name);
  const local = overwritten ? overwriteLocalAddress(host.links, host.routes, cluster.local.publicIP, opts.iface, parseIP(opts.localAddress)) : undefined;
  const underlay = resolveUnderlay(host.links, local ?? cluster.local.publicIP, opts.iface, opts.offline ?? false);
  if (local) underlay.local = local;
  const hostOptions = {
    disableTxOffload: shouldDisableTxOffload(opts.txOffload ?? 'auto', opts.kernelRelease ?? osRelease()),
    ipMasq: opts.ipMasq ?? false,
    masqRandomFully: opts.masqRandomFully ?? true,
    forwardRules: opts.forwardRules ?? false,
  };
  const input = { cluster, underlay, routes: host.routes, host: hostOptions };
  const desired = plan(trace ? { ...input, peerEntries: trace.peerEntries } : input);
  if (trace) trace.input = input;
  if (local) desired.underlay = { ...desired.underlay, local };
  return { state, cluster, desired, problems: [...cluster.problems, ...desired.problems] };
}

const family4 = (ip: IP) => ip.family === 4;
