// What `ovlnet cleanup` removes, decided from a host snapshot. Pure.
//
// ovlnet's objects are indistinguishable from flannel's except for the marks
// ovlnet leaves, so only proof counts:
//  - routes: protocol 244 (ovlnet's), in the main table;
//  - devices: as their backend decides (backends/<name>/cleanup.ts: a vxlan
//    device by the routes through it, the operator's flags or the source's
//    VNI; the udp TUN when persistent and carrying ovlnet routes only);
//  - masquerade rules: those with ovlnet's comment; chain FLANNEL-POSTRTG
//    only when nothing else is left in it and nothing foreign jumps to it;
//  - the subnet file: when it is a subnet.env and either named explicitly
//    (--subnet-file) or marked by ovlnet (a comment mentioning ovlnet).
import { MASQ_CHAIN } from '../backends/masq.js';
import { BACKEND_LIST } from '../backends/registry.js';
import { isOvlnetSpec, chainRules, type NatCleanup } from '../host/iptables.js';
import { OVLNET_ROUTE_PROTO, vxlanDeviceName, vxlanDeviceNameV6 } from '../model/keys.js';
import type { ActualState, Change, HostRoute, NatRuleEntry, NatState, Problem, RouteEntry } from '../model/types.js';

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
  /** The nat table; undefined when iptables is not installed (then ovlnet never wrote rules). */
  nat?: NatState;
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
  nat: NatCleanup;
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

function planNat(nat: NatState | undefined): NatCleanup {
  if (!nat) return { rules: [], deleteChain: false };
  const rules: NatRuleEntry[] = nat.rules
    .filter((r) => isOvlnetSpec(r.spec))
    .map((r) => ({ kind: 'nat', chain: r.chain, spec: r.spec }));
  const inChain = chainRules(nat, MASQ_CHAIN);
  const foreignJump = nat.rules.some((r) => !isOvlnetSpec(r.spec) && new RegExp(`(^| )-[jg] ${MASQ_CHAIN}( |$)`).test(r.spec));
  const deleteChain = nat.chains.includes(MASQ_CHAIN) && rules.length > 0 && inChain.every(isOvlnetSpec) && !foreignJump;
  return { rules, deleteChain };
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

  const nat = planNat(input.nat);
  if (nat.rules.length && !nat.deleteChain && nat.rules.some((r) => r.chain === MASQ_CHAIN)) {
    kept.push({ subject: `nat chain ${MASQ_CHAIN}`, message: 'kept: it holds rules not ovlnet\'s, or a foreign rule jumps to it; only ovlnet\'s rules are removed' });
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
  return { changes, nat, subnetFile, kept };
}

/** Nothing left to remove: what a verifying re-read must find. */
export function isClean(p: CleanupPlan): boolean {
  return p.changes.length === 0 && p.nat.rules.length === 0 && !p.nat.deleteChain && p.subnetFile === undefined;
}
