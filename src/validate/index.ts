// The one validation layer between every source and every backend.
import { backendOf } from '../backends/registry.js';
import type { IP } from '../model/ip.js';
import type { ClusterState, NetworkConfig, Node, Problem, RawNode, ValidCluster } from '../model/types.js';
import { validateConfig, type HostNetworks } from './config.js';
import { findLocalNode, type LocalSelector } from './local.js';
import { validateNode, type NodeCheck } from './nodes.js';
import { resolveSharedMACs } from './macs.js';
import { resolveOverlaps } from './overlaps.js';

export interface ValidateOptions extends LocalSelector {
  host?: HostNetworks;
  hostIPs?: IP[];
  /** Whether a node's subnet is already programmed on this host the way this node would be. */
  isProgrammed?: (n: Node) => boolean;
  /** The same for a node's IPv6 half (dual stack), given as a Node whose first family is its IPv6 one. */
  isProgrammed6?: (n: Node) => boolean;
  /** The config, when the caller validated it already (to read the host in between). */
  config?: NetworkConfig;
  /** The source publishes VTEP MACs, so a vxlan node without one is invalid. */
  macRequired?: boolean;
  /** Told each source node's own check, in source order (the daemon's incremental planner keeps them). */
  onNode?: (raw: RawNode, check: NodeCheck) => void;
}

export interface ValidatedCluster extends ValidCluster {
  local: Node;
}

export function validateCluster(state: ClusterState, opts: ValidateOptions = {}): ValidatedCluster {
  const config = opts.config ?? validateConfig(state.config, opts.host);
  const problems: Problem[] = [...state.warnings, ...(state.config.warnings ?? [])].map((w): Problem => ({ subject: 'source', message: w, code: 'source-warning' }));
  if (!config.ipv6 && config.network.family === 4 && state.config.ipv6Network !== undefined && state.config.enableIPv6 === undefined) {
    problems.push({ subject: `${state.config.origin}: IPv6Network`, message: 'set without EnableIPv6: true; IPv6 stays off, as in flannel' });
  }
  const valid: Node[] = [];
  const skipped = new Map<string, string>((state.leftOut ?? []).map((l) => [l.name, l.reason]));
  const seenNames = new Set<string>();
  for (const raw of state.nodes) {
    const check = validateNode(raw, config, opts.macRequired ?? state.macRequired ?? !state.namedNodes);
    opts.onNode?.(raw, check);
    const { node, problem } = check;
    if (problem) {
      problems.push(problem);
      if (typeof raw.name === 'string') skipped.set(raw.name, `${problem.subject}: ${problem.message}`);
      continue;
    }
    if (seenNames.has(node!.name)) {
      problems.push({ subject: `node ${node!.name} (${raw.origin}).name`, message: 'duplicate name; left out', code: 'duplicate-name', node: node!.name, field: 'name', value: node!.name });
      continue;
    }
    seenNames.add(node!.name);
    valid.push(node!);
  }
  const local = findLocalNode(valid, opts, state.namedNodes, skipped);
  const isProgrammed = opts.isProgrammed ?? (() => false);
  const overlaps = resolveOverlaps(valid, local, isProgrammed);
  problems.push(...overlaps.problems);
  let kept = overlaps.kept;
  // The fdb is keyed by MAC: of the nodes kept, those sharing one are settled like overlaps
  // (for a backend whose peers are reached by their VTEP MAC).
  const byMAC = backendOf(config).needsVtepMAC;
  if (byMAC) {
    const m = resolveSharedMACs(kept, local, isProgrammed);
    kept = m.kept;
    problems.push(...m.problems);
  }
  if (!config.ipv6 && kept.length === valid.length) return { config, nodes: valid, problems, local };
  const keptSet = new Set(kept);
  if (config.ipv6) {
    // IPv6 subnets overlap among themselves, by the same rule; a node whose
    // IPv6 subnet loses is left out whole, so it is never half reachable.
    const view = new Map<Node, Node>();
    for (const n of kept) if (n.v6) view.set({ ...n, ...n.v6 }, n);
    const localView = [...view].find(([, n]) => n === local)?.[0];
    const isProgrammed6 = opts.isProgrammed6 ?? (() => false);
    const r6 = resolveOverlaps([...view.keys()], localView, isProgrammed6);
    problems.push(...r6.problems.map((p) => ({ ...p, subject: p.subject.replace(/\.subnet$/, '.ipv6Subnet') })));
    const m6 = byMAC ? resolveSharedMACs(r6.kept, localView, isProgrammed6, 'vtepMACv6') : r6;
    if (byMAC) problems.push(...m6.problems);
    const kept6 = new Set(m6.kept);
    for (const [v, n] of view) if (!kept6.has(v)) keptSet.delete(n);
  }
  return { config, nodes: valid.filter((n) => keptSet.has(n)), problems, local };
}

export { validateConfig } from './config.js';
