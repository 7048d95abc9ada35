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
//  - masquerade rules: those with ovlnet's comment; chain FLANNEL-POSTRTG
//    only when nothing else is left in it and nothing foreign jumps to it;
//  - the subnet file: when it is a subnet.env and either named explicitly
//    (--subnet-file) or marked by ovlnet (a comment mentioning ovlnet).
import { MASQ_CHAIN } from '../backends/masq.js';
import { UDP_DEVICE } from '../backends/udp.js';
import { isOvlnetSpec, chainRules, type NatCleanup } from '../host/iptables.js';
import { entryKey, OVLNET_ROUTE_PROTO, vxlanDeviceName, vxlanDeviceNameV6 } from '../model/keys.js';
import type { ActualState, Change, HostRoute, NatRuleEntry, NatState, Problem, RouteEntry } from '../model/types.js';
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
