// What `ovlnet cleanup` removes, decided from a host snapshot. Pure.
//
// ovlnet's objects are indistinguishable from flannel's except for the marks
// ovlnet leaves, so only proof counts:
//  - routes: protocol 244 (ovlnet's), in the main table;
//  - devices: as their backend decides (backends/<name>/cleanup.ts: a vxlan
//    device by the routes through it, the operator's flags or the source's
//    VNI; the udp TUN when persistent and carrying ovlnet routes only);
//  - iptables rules (masquerade, FORWARD accept), in both families: those with
//    the comment ovlnet writes (or wrote); chains FLANNEL-POSTRTG and
//    FLANNEL-FWD only when nothing else is left in them and nothing foreign
//    jumps to them;
//  - the subnet file: when it is a subnet.env and either named explicitly
//    (--subnet-file) or marked by ovlnet (a comment mentioning ovlnet).
import { RULE_SETS } from '../backends/netfilter.js';
import { isJumpTo, isOwnSpec, tableId } from '../backends/ruleset.js';
import { BACKEND_LIST } from '../backends/registry.js';
import { chainRules, type RuleSetCleanup } from '../host/iptables.js';
import { OVLNET_ROUTE_PROTO, vxlanDeviceName, vxlanDeviceNameV6 } from '../model/keys.js';
import type { ActualState, Change, HostRoute, NetfilterState, Problem, RouteEntry } from '../model/types.js';

/** Kernel-made routes (an address's connected prefix) say nothing about who owns a device. */
const KERNEL_PROTO = 2;

export interface SubnetFileInfo {
  path: string;
  /** The file's text; undefined when there is no such file. */
  text?: string;
  /** Named with --subnet-file. */
  explicit: boolean;
}

export interface CleanupInput {
  actual: ActualState;
  /** The nat and filter tables of both families; undefined when iptables is not installed (then ovlnet never wrote rules). */
  netfilter?: NetfilterState;
  /** --vni: remove flannel.<vni> whatever carries it. */
  vni?: number;
  /** The VNI the source configures, when a source was read. */
  sourceVni?: number;
  allFlannelDevices?: boolean;
  subnetFile?: SubnetFileInfo;
}

export interface CleanupPlan {
  /** Route and device deletions, in the order they run. */
  changes: Change[];
  /** Per rule set and family, the rules and chains to remove (empty ones included). */
  netfilter: RuleSetCleanup[];
  /** The subnet file to delete. */
  subnetFile?: string;
  /** What looked like ovlnet's but stays, and why. */
  kept: Problem[];
}

function routeEntry(r: HostRoute): RouteEntry {
  // Odd shapes (no gateway, no device) are deleted by destination and protocol alone.
  return { kind: 'route', dst: r.dst, via: r.via, dev: r.dev!, onlink: r.onlink, proto: r.proto };
}

/** Every line is KEY=VALUE with a FLANNEL_ key, a comment or blank: flannel's subnet.env format. */
export function isSubnetEnv(text: string): boolean {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return lines.length > 0 && lines.every((l) => /^FLANNEL_[A-Z0-9_]+=/.test(l));
}

export function hasOvlnetMark(text: string): boolean {
  return text.split('\n').some((l) => /^\s*#.*\bovlnet\b/.test(l));
}

function planNetfilter(tables: NetfilterState | undefined): RuleSetCleanup[] {
  const out: RuleSetCleanup[] = [];
  for (const family of [4, 6] as const) {
    for (const set of RULE_SETS) {
      const table = tables?.[tableId(family, set.table)];
      if (!table) continue;
      const own = (spec: string) => isOwnSpec(set, spec);
      // Only the set's chain and its hook: a rule elsewhere with the same comment is not one ovlnet writes.
      const rules = table.rules
        .filter((r) => (r.chain === set.chain || (r.chain === set.hook && isJumpTo(set, r.spec))) && own(r.spec))
        .map((r) => ({ kind: set.table, ...(family === 6 ? { family: 6 as const } : {}), chain: r.chain, spec: r.spec }));
      const foreignJump = table.rules.some((r) => !own(r.spec) && isJumpTo(set, r.spec));
      const deleteChain = table.chains.includes(set.chain) && rules.length > 0 && chainRules(table, set.chain).every(own) && !foreignJump;
      out.push({ set, family, rules, deleteChain });
    }
  }
  return out;
}

export function planCleanup(input: CleanupInput): CleanupPlan {
  const { actual } = input;
  const changes: Change[] = [];
  const kept: Problem[] = [];

  const ours = actual.routes.filter((r) => r.proto === OVLNET_ROUTE_PROTO);
  for (const r of ours) {
    changes.push({ action: 'delete', kind: 'route', key: `route:${r.dst.text}`, actual: routeEntry(r) });
  }

  // Each backend says which of its devices are ovlnet's.
  const foreignOn = (dev: string) => actual.routes.filter((r) => r.dev === dev && r.proto !== OVLNET_ROUTE_PROTO && r.proto !== KERNEL_PROTO);
  const ctx = { actual, ours, foreignOn, vni: input.vni, sourceVni: input.sourceVni, allFlannelDevices: input.allFlannelDevices, changes, kept };
  for (const b of BACKEND_LIST) b.cleanup?.(ctx);
  if (input.vni !== undefined && !actual.links.has(vxlanDeviceName(input.vni)) && !actual.links.has(vxlanDeviceNameV6(input.vni))) {
    kept.push({ subject: `--vni ${input.vni}`, message: `no device ${vxlanDeviceName(input.vni)} on this host` });
  }

  const netfilter = planNetfilter(input.netfilter);
  for (const c of netfilter) {
    if (c.rules.length && !c.deleteChain && c.rules.some((r) => r.chain === c.set.chain)) {
      kept.push({ subject: chainName(c), message: 'kept: it holds rules not ovlnet\'s, or a foreign rule jumps to it; only ovlnet\'s rules are removed' });
    }
  }

  let subnetFile: string | undefined;
  const f = input.subnetFile;
  if (f && f.text !== undefined) {
    if (!isSubnetEnv(f.text)) {
      kept.push({ subject: `subnet file ${f.path}`, message: 'kept: not a subnet.env (only FLANNEL_* lines expected)' });
    } else if (f.explicit || hasOvlnetMark(f.text)) {
      subnetFile = f.path;
    } else {
      kept.push({ subject: `subnet file ${f.path}`, message: 'kept: not written by ovlnet (no ovlnet comment; flannel writes the same file); name it with --subnet-file to remove it' });
    }
  }
  return { changes, netfilter, subnetFile, kept };
}

/** `nat chain FLANNEL-POSTRTG`, `ip6 filter chain FLANNEL-FWD`. */
export function chainName(c: RuleSetCleanup): string {
  return `${c.family === 6 ? 'ip6 ' : ''}${c.set.table} chain ${c.set.chain}`;
}

/** Nothing left to remove: what a verifying re-read must find. */
export function isClean(p: CleanupPlan): boolean {
  return p.changes.length === 0 && p.netfilter.every((c) => c.rules.length === 0 && !c.deleteChain) && p.subnetFile === undefined;
}
