// What `ovlnet cleanup` removes, decided from a host snapshot. Pure.
//
// ovlnet's objects are indistinguishable from flannel's except for the marks
// ovlnet leaves, so only proof counts:
//  - routes: protocol 244 (ovlnet's), in the main table;
//  - vxlan devices named flannel.<VNI>: removed when one of
//      a. --all-flannel-devices, or --vni <VNI> names it (the operator says so);
//      b. ovlnet routes go through it and no foreign route does;
//      c. the source says ovlnet uses this VNI and no foreign route goes through it;
//    otherwise kept (it may be flannel's), with the reason;
//  - iptables rules (masquerade, FORWARD accept), in both families: those with
//    the comment ovlnet writes (or wrote); chains FLANNEL-POSTRTG and
//    FLANNEL-FWD only when nothing else is left in them and nothing foreign
//    jumps to them;
//  - the subnet file: when it is a subnet.env and either named explicitly
//    (--subnet-file) or marked by ovlnet (a comment mentioning ovlnet).
import { RULE_SETS } from '../backends/netfilter.js';
import { isJumpTo, isOwnSpec, tableId } from '../backends/ruleset.js';
import { UDP_DEVICE } from '../backends/udp.js';
import { chainRules, type RuleSetCleanup } from '../host/iptables.js';
import { entryKey, OVLNET_ROUTE_PROTO, vxlanDeviceName, vxlanDeviceNameV6 } from '../model/keys.js';
import type { ActualState, Change, HostRoute, NetfilterState, Problem, RouteEntry } from '../model/types.js';
import { actualLink } from './diff.js';

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

// flannel.<VNI>, and flannel-v6.<VNI> of dual-stack and IPv6-only clusters.
const FLANNEL_DEV_RE = /^flannel(?:-v6)?\.([0-9]{1,8})$/;

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

  for (const l of actual.links.values()) {
    const m = FLANNEL_DEV_RE.exec(l.name);
    if (!m || l.kind !== 'vxlan') continue;
    const vni = Number(m[1]);
    const foreign = actual.routes.filter((r) => r.dev === l.name && r.proto !== OVLNET_ROUTE_PROTO && r.proto !== KERNEL_PROTO);
    const ovlnetRoutes = ours.some((r) => r.dev === l.name);
    let reason: string | undefined;
    if (input.allFlannelDevices) reason = '--all-flannel-devices';
    else if (input.vni === vni) reason = `--vni ${vni}`;
    else if (foreign.length === 0 && ovlnetRoutes) reason = 'carries ovlnet routes';
    else if (foreign.length === 0 && input.sourceVni === vni) reason = 'the source configures this VNI';
    if (!reason) {
      const why = foreign.length
        ? `${foreign.length} route${foreign.length === 1 ? '' : 's'} not ovlnet's use it (e.g. ${foreign[0].dst.text}, protocol ${foreign[0].proto}): it may be flannel's`
        : 'no ovlnet route uses it: it may be flannel\'s';
      kept.push({ subject: `link ${l.name}`, message: `kept: ${why}; remove it with --vni ${vni}` });
      continue;
    }
    const link = actualLink(actual, l.name);
    if (link && typeof link !== 'string') {
      changes.push({ action: 'delete', kind: 'link', key: `link:${l.name}`, actual: link, detail: reason });
    }
  }
  // The udp backend's persistent TUN: flanneld's own is not persistent, so a
  // persistent flannel0 carrying ovlnet routes (and no foreign one) is ovlnet's.
  const tun = actual.links.get(UDP_DEVICE);
  if (tun?.tun) {
    const foreign = actual.routes.filter((r) => r.dev === tun.name && r.proto !== OVLNET_ROUTE_PROTO && r.proto !== KERNEL_PROTO);
    const reason = input.allFlannelDevices ? '--all-flannel-devices'
      : tun.tun.persist && foreign.length === 0 && ours.some((r) => r.dev === tun.name) ? 'persistent TUN carrying ovlnet routes' : undefined;
    if (reason) {
      changes.push({ action: 'delete', kind: 'tun', key: entryKey({ kind: 'tun', name: tun.name, mtu: tun.mtu, up: tun.up }), actual: { kind: 'tun', name: tun.name, mtu: tun.mtu, up: tun.up }, detail: reason });
    } else {
      kept.push({ subject: `link ${tun.name}`, message: 'kept: not a persistent TUN carrying ovlnet routes only (it may be flanneld\'s); remove it with --all-flannel-devices' });
    }
  }
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
