// The one validation layer between every source and every backend.
import type { IP } from '../model/ip.js';
import type { ClusterState, NetworkConfig, Node, Problem, ValidCluster } from '../model/types.js';
import { validateConfig, type HostNetworks } from './config.js';
import { findLocalNode, type LocalSelector } from './local.js';
import { validateNode } from './nodes.js';
import { resolveOverlaps } from './overlaps.js';

export interface ValidateOptions extends LocalSelector {
  host?: HostNetworks;
  hostIPs?: IP[];
  /** Whether a node's subnet is already programmed on this host the way this node would be. */
  isProgrammed?: (n: Node) => boolean;
  /** The config, when the caller validated it already (to read the host in between). */
  config?: NetworkConfig;
  /** The source publishes VTEP MACs, so a vxlan node without one is invalid. */
  macRequired?: boolean;
}

export interface ValidatedCluster extends ValidCluster {
  local: Node;
}

export function validateCluster(state: ClusterState, opts: ValidateOptions = {}): ValidatedCluster {
  const config = opts.config ?? validateConfig(state.config, opts.host);
  const problems: Problem[] = state.warnings.map((w) => ({ subject: 'source', message: w }));
  const valid: Node[] = [];
  const skipped = new Map<string, string>((state.leftOut ?? []).map((l) => [l.name, l.reason]));
  const seenNames = new Set<string>();
  for (const raw of state.nodes) {
    const { node, problem } = validateNode(raw, config, opts.macRequired ?? state.macRequired ?? !state.namedNodes);
    if (problem) {
      problems.push(problem);
      if (typeof raw.name === 'string') skipped.set(raw.name, `${problem.subject}: ${problem.message}`);
      continue;
    }
    if (seenNames.has(node!.name)) {
      problems.push({ subject: `node ${node!.name} (${raw.origin}).name`, message: 'duplicate name; left out' });
      continue;
    }
    seenNames.add(node!.name);
    valid.push(node!);
  }
  const local = findLocalNode(valid, opts, state.namedNodes, skipped);
  const { kept, problems: overlapProblems } = resolveOverlaps(valid, local, opts.isProgrammed ?? (() => false));
  problems.push(...overlapProblems);
  const keptSet = new Set(kept);
  return { config, nodes: valid.filter((n) => keptSet.has(n)), problems, local };
}

export { validateConfig } from './config.js';
