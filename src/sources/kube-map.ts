// Pure half of the Kubernetes source: Node objects (as the API returns them)
// to RawNodes, and the annotations this node publishes. Kept apart from
// kube.ts so it can be tested without the Kubernetes client library, and so
// kube.ts stays the only file importing it.
import { backendOf } from '../backends/registry.js';
import { UsageError } from '../errors.js';
import { parseIP, parsePrefix, type IP } from '../model/ip.js';
import { nonUnicastMACReason, parseMAC } from '../model/mac.js';
import type { BackendConfig, BackendType, RawNode } from '../model/types.js';
import type { BackendData as PublishedData } from '../backends/types.js';

export const DEFAULT_ANNOTATION_PREFIX = 'flannel.alpha.coreos.com';
/** Where flannel's manifest keeps net-conf.json (older installs: kube-system). */
export const CONFIGMAP_NAME = 'kube-flannel-cfg';
export const CONFIGMAP_NAMESPACES = ['kube-flannel', 'kube-system'];
export const NETCONF_KEY = 'net-conf.json';

/** The parts of a v1 Node ovlnet reads; everything else is ignored. */
export interface KubeNode {
  metadata?: { name?: string; annotations?: Record<string, string> | null; resourceVersion?: string };
  spec?: { podCIDR?: string; podCIDRs?: string[] | null } | null;
}

export interface AnnotationKeys {
  subnetManager: string;
  backendData: string;
  backendType: string;
  publicIP: string;
  publicIPOverwrite: string;
  publicIPv6: string;
  backendV6Data: string;
}

/**
 * Annotation names for a prefix, with flannel's rules (pkg/subnet/kube/annotations.go):
 * no slash: `PREFIX/name`; one slash: `PREFIX-name` (or `PREFIXname` when it ends in `/` or `-`).
 */
export function annotationKeys(prefix: string = DEFAULT_ANNOTATION_PREFIX): AnnotationKeys {
  let p = prefix;
  const slashes = p.split('/').length - 1;
  if (slashes > 1) throw new UsageError(`--annotation-prefix ${JSON.stringify(prefix)}: at most one "/" is allowed`);
  if (slashes === 0) p += '/';
  if (!p.endsWith('/') && !p.endsWith('-')) p += '-';
  if (!/^(?:[a-z0-9_-]+\.)+[a-z0-9_-]+\/(?:[a-z0-9_-]+-)?$/.test(p) || p.length > 253) {
    throw new UsageError(`--annotation-prefix ${JSON.stringify(prefix)}: expected a DNS name, optionally followed by /NAME (e.g. ${DEFAULT_ANNOTATION_PREFIX})`);
  }
  return {
    subnetManager: `${p}kube-subnet-manager`,
    backendData: `${p}backend-data`,
    backendType: `${p}backend-type`,
    publicIP: `${p}public-ip`,
    publicIPOverwrite: `${p}public-ip-overwrite`,
    publicIPv6: `${p}public-ipv6`,
    backendV6Data: `${p}backend-v6-data`,
  };
}

/** A node name fit for a message: API names are DNS subdomains, but quote anything else. */
function label(name: unknown): string {
  return typeof name === 'string' && /^[a-z0-9A-Z][a-z0-9A-Z._-]{0,252}$/.test(name) ? name : JSON.stringify(name);
}

/**
 * The node's IPv4 pod subnet: the first IPv4 entry of spec.podCIDRs (dual
 * stack lists one per family), else spec.podCIDR. A malformed value is
 * returned as is, so validation names it; undefined when there is no IPv4 one.
 */
export function ipv4PodCIDR(node: KubeNode): string | undefined {
  const list = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
  const v4 = list.find((c) => parsePrefix(c)?.family === 4);
  if (v4 !== undefined) return v4;
  return list.find((c) => parsePrefix(c) === undefined);
}

/** The node's IPv6 pod subnet (dual stack, IPv6-only): the first IPv6 entry of spec.podCIDRs, else spec.podCIDR. */
export function ipv6PodCIDR(node: KubeNode): string | undefined {
  const list = node.spec?.podCIDRs?.length ? node.spec.podCIDRs : node.spec?.podCIDR ? [node.spec.podCIDR] : [];
  return list.find((c) => parsePrefix(c)?.family === 6);
}

export interface BackendData {
  /** The VtepMAC as published (unvalidated), when there is one. */
  vtepMAC?: unknown;
  /** The whole object as published (unvalidated), for the backend's own fields (wireguard: PublicKey, Port). */
  data?: Record<string, unknown>;
  /** Why the annotation could not be read, when it could not. */
  error?: string;
}

/** flannel writes `{"VNI":1,"VtepMAC":"…"}` for vxlan, `{"PublicKey":"…","Port":51820}` for wireguard and `null` for host-gw. */
export function parseBackendData(text: string | undefined): BackendData {
  if (text === undefined || text === '' || text === 'null') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { error: 'is not valid JSON' };
  }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return { error: 'is not a JSON object' };
  const data = v as Record<string, unknown>;
  return { vtepMAC: data.VtepMAC, data };
}

export interface MappedNodes {
  nodes: RawNode[];
  warnings: string[];
  leftOut: Array<{ name: string; reason: string }>;
  /** Nodes whose public IP is their public-ip-overwrite annotation. */
  overwritten: string[];
}

/** Nodes to RawNodes; nodes flannel would ignore are left out with one warning each. */
export function nodesToRaw(items: readonly KubeNode[], keys: AnnotationKeys): MappedNodes {
  const nodes: RawNode[] = [];
  const warnings: string[] = [];
  const leftOut: Array<{ name: string; reason: string }> = [];
  const overwritten: string[] = [];
  const skip = (name: string | undefined, who: string, why: string) => {
    warnings.push(`${who}: ${why}; left out`);
    if (typeof name === 'string') leftOut.push({ name, reason: `${who}: ${why}` });
  };
  const sorted = [...items].sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
  for (const n of sorted) {
    const name = n.metadata?.name;
    const who = `Node ${label(name)}`;
    const ann = n.metadata?.annotations ?? {};
    if (ann[keys.subnetManager] !== 'true') {
      skip(name, who, `no annotation ${keys.subnetManager}="true" (not yet published by flannel or ovlnet)`);
      continue;
    }
    const subnet = ipv4PodCIDR(n);
    // An IPv6-only node is kept: whether it fits is the validation's call, which knows the network.
    const subnet6 = ipv6PodCIDR(n);
    if (subnet === undefined && subnet6 === undefined) {
      const has = n.spec?.podCIDRs?.length || n.spec?.podCIDR;
      skip(name, who, has ? 'no IPv4 or IPv6 entry in spec.podCIDRs' : 'no spec.podCIDR assigned');
      continue;
    }
    const data = parseBackendData(ann[keys.backendData]);
    if (data.error) {
      skip(name, who, `annotation ${keys.backendData} ${data.error}`);
      continue;
    }
    const data6 = parseBackendData(ann[keys.backendV6Data]);
    if (data6.error) {
      skip(name, who, `annotation ${keys.backendV6Data} ${data6.error}`);
      continue;
    }
    const overwrite = ann[keys.publicIPOverwrite];
    if (overwrite !== undefined && overwrite !== '' && typeof name === 'string') overwritten.push(name);
    nodes.push({
      origin: who,
      name,
      publicIP: overwrite !== undefined && overwrite !== '' ? overwrite : ann[keys.publicIP],
      subnet,
      vtepMAC: data.vtepMAC,
      backendType: ann[keys.backendType],
      ...defined({ publicIPv6: ann[keys.publicIPv6], ipv6Subnet: subnet6, vtepMACv6: data6.vtepMAC, backendData: data.data, backendDataV6: data6.data }),
    });
  }
  return { nodes, warnings, leftOut, overwritten };
}

/** The fields whose value is not undefined: IPv4-only nodes map exactly as before dual stack. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** What matters to ovlnet in a Node; a change elsewhere (status heartbeats) needs no reconcile. */
export function relevantKey(n: KubeNode, keys: AnnotationKeys): string {
  const ann = n.metadata?.annotations ?? {};
  return JSON.stringify([
    n.spec?.podCIDR ?? null,
    n.spec?.podCIDRs ?? null,
    ...Object.values(keys).map((k) => ann[k] ?? null),
  ]);
}

export interface Publication {
  publicIP: string;
  backendType: BackendType;
  /** The backend block (vxlan's VNI); absent: the backend's defaults. */
  backend?: BackendConfig;
  vtepMAC?: string;
  /** Dual stack: the IPv6 half (public-ipv6, backend-v6-data). */
  publicIPv6?: string;
  vtepMACv6?: string;
  /** The BackendData the backend made from the host (wireguard's public key and port), per family: it wins. */
  local?: { data?: PublishedData; data6?: PublishedData };
}

/** The annotation values this node publishes, as flannel writes them. */
export function publishedAnnotations(p: Publication, keys: AnnotationKeys): Record<string, string> {
  const config = p.backend ?? { type: p.backendType };
  const data = (mac: string | undefined, local: PublishedData | undefined) => JSON.stringify(local ?? backendOf(p.backendType).leaseData(config, mac) ?? null);
  return {
    [keys.backendData]: data(p.vtepMAC, p.local?.data),
    [keys.backendType]: p.backendType,
    [keys.publicIP]: p.publicIP,
    [keys.subnetManager]: 'true',
    ...(p.publicIPv6 ? { [keys.publicIPv6]: p.publicIPv6, [keys.backendV6Data]: data(p.vtepMACv6, p.local?.data6) } : {}),
  };
}

/**
 * A strategic-merge patch holding only the annotations that differ (what
 * flannel's two-way merge patch produces); undefined when all are current.
 */
export function annotationPatch(current: Record<string, string> | null | undefined, want: Record<string, string>): { metadata: { annotations: Record<string, string> } } | undefined {
  const changed: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) if (current?.[k] !== v) changed[k] = v;
  return Object.keys(changed).length ? { metadata: { annotations: changed } } : undefined;
}

/** The published VtepMAC of a node (of its IPv6 half with family 6), when it is a usable unicast MAC. */
export function publishedVtepMAC(node: KubeNode, keys: AnnotationKeys, family: 4 | 6 = 4): string | undefined {
  const key = family === 4 ? keys.backendData : keys.backendV6Data;
  const mac = parseMAC(parseBackendData(node.metadata?.annotations?.[key] ?? undefined).vtepMAC);
  return mac && !nonUnicastMACReason(mac) ? mac.text : undefined;
}

/** The public IP the operator pinned with the public-ip-overwrite annotation, if valid. */
export function overwrittenPublicIP(node: KubeNode, keys: AnnotationKeys): IP | undefined {
  const ip = parseIP(node.metadata?.annotations?.[keys.publicIPOverwrite]);
  return ip?.family === 4 ? ip : undefined;
}

/** Kubernetes metav1.Time: RFC 3339 in UTC, whole seconds. */
export function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The status patch flanneld sends once its network is up (kube.go
 * CompleteLease): condition NetworkUnavailable=False, reason FlannelIsUp.
 * Strategic merge: conditions merge by type, the others stay.
 */
export function networkUpPatch(now: Date): { status: { conditions: Array<Record<string, string>> } } {
  const t = kubeTime(now);
  return {
    status: {
      conditions: [{
        type: 'NetworkUnavailable', status: 'False', reason: 'FlannelIsUp', message: 'Flannel is running on this node',
        lastTransitionTime: t, lastHeartbeatTime: t,
      }],
    },
  };
}
