// Fingerprints of the two states a set of changes is computed from, so a
// saved plan (engine/saved-plan.ts) can tell, at apply time, whether the
// source or the host moved since. Pure: the state in, a sha256 out.
//
// Order never matters (a source listing its nodes in another order, a kernel
// dumping its routes in another order is the same state), and neither do
// values that move without changing the plan: a lease's expiry (renewed every
// few hours), a node's origin (its index in the file).
import { createHash } from 'node:crypto';
import { prefixesOverlap, type Prefix } from '../model/ip.js';
import type { ActualState, Node, NodeFamily, NetworkConfig } from '../model/types.js';
import type { OwnershipPolicy } from '../reconcile/ownership.js';

/**
 * A value as canonical JSON: typed values (IP, Prefix, MAC) as their text,
 * object keys sorted, Maps as sorted [key, value] pairs, arrays sorted by
 * their canonical text unless `ordered` says their order means something.
 */
export function canonical(v: unknown, ordered = false): string {
  if (v === undefined || v === null) return 'null';
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (typeof v !== 'object') return JSON.stringify(v);
  if ('text' in v && typeof (v as { text: unknown }).text === 'string') return JSON.stringify((v as { text: string }).text);
  if (v instanceof Map) return canonical([...v.entries()].map(([k, x]) => [String(k), x]));
  if (v instanceof Set) return canonical([...v]);
  if (Array.isArray(v)) {
    const items = v.map((x) => canonical(x));
    return `[${(ordered ? items : items.sort()).join(',')}]`;
  }
  const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k], k === 'rules')}`).join(',')}}`;
}

export function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function family(f: NodeFamily): object {
  return { publicIP: f.publicIP, subnet: f.subnet, vtepMAC: f.vtepMAC };
}

/** The validated cluster a plan is computed from: the network config and every node's addresses (not its expiry or origin). */
export function sourceFingerprint(cluster: { config: NetworkConfig; nodes: readonly Node[] }): string {
  const nodes = cluster.nodes.map((n) => ({ name: n.name, ...family(n), v6: n.v6 ? family(n.v6) : undefined }));
  return sha256(canonical({ config: cluster.config, nodes }));
}

/**
 * What of the host a plan depends on. From the network config only, not from
 * the nodes: when only the nodes moved, the host is compared on the same
 * ground and the refusal names the source alone.
 */
export interface HostScope {
  /** The ownership policy the diff ran with (engine/devices.ts policyFor). */
  policy: OwnershipPolicy;
  /** The devices the plan creates (they may not exist yet, or be foreign). */
  devices: ReadonlyArray<string | undefined>;
  /** The cluster's pod networks: every planned route, foreign route in the way and route flanneld left is inside them. */
  podNetworks: readonly Prefix[];
}

/**
 * The kernel state the diff looked at: the plan's devices, the routes that
 * are ovlnet's or inside the pod networks (flanneld's, or in the way of a
 * planned one), the neighbours,
 * fdb entries, offload features and settings of owned devices, and the
 * iptables tables that were read. A route another program adds elsewhere
 * (a default route, a docker bridge) does not move it.
 */
export function hostFingerprint(actual: ActualState, scope: HostScope): string {
  const { policy } = scope;
  const devices = new Set(scope.devices.filter((d): d is string => d !== undefined));
  const ownsDev = (dev: string | undefined) => dev !== undefined && (devices.has(dev) || policy.ownsDevice(dev));
  return sha256(canonical({
    links: [...actual.links.values()].filter((l) => ownsDev(l.name)),
    routes: actual.routes.filter((r) => policy.ownsRoute(r) || scope.podNetworks.some((n) => prefixesOverlap(n, r.dst))),
    neighbors: actual.neighbors.filter((n) => ownsDev(n.dev)),
    fdb: actual.fdb.filter((f) => ownsDev(f.dev)),
    offload: actual.offload?.filter((o) => ownsDev(o.dev)),
    sysctl: actual.sysctl,
    netfilter: actual.netfilter,
  }));
}
