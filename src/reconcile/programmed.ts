// Whether a node's subnet is already programmed on this host as that node
// would have it (the backend's rule: backends/<name>/index.ts `programmed`).
// Used to settle subnet overlaps in favour of the working peer.
import { backendOf } from '../backends/registry.js';
import type { ProgrammedIndex } from '../backends/types.js';
import { entryKey } from '../kinds/index.js';
import type { ActualState, NetworkConfig, Node } from '../model/types.js';
import type { OwnershipPolicy } from './ownership.js';

export function programmedCheck(actual: ActualState, config: NetworkConfig, policy: OwnershipPolicy): (n: Node) => boolean {
  const rule = backendOf(config).programmed;
  // A backend that programs nothing per node: every peer looks the same to the kernel.
  if (!rule) return () => false;
  // Only overlapping subnets ever ask, so the indexes are built on the first
  // question, not on every cycle (three maps of every route, neighbour and
  // fdb entry on the host: measurable at 10 000 peers, and usually unused).
  // `actual` is read then, so it must not change in between (it does not:
  // callers build it, then validate).
  let index: ProgrammedIndex | undefined;
  const build = (): ProgrammedIndex => {
    const routes = new Map<string, { via?: string; dev?: string }>();
    for (const r of actual.routes) if (policy.ownsRoute(r)) routes.set(r.dst.text, { via: r.via?.text, dev: r.dev });
    const neigh = new Map<string, string>();
    for (const n of actual.neighbors) neigh.set(`${n.dev}/${n.ip.text}`, n.mac.text);
    const fdb = new Set(actual.fdb.map(entryKey));
    return { routes, neigh, fdb };
  };
  return (n: Node) => rule((index ??= build()), n);
}
