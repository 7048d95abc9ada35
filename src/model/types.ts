// The data that flows through ovlnet, from the source's raw view to the
// changes applied to the kernel. Each stage has its own type so a value that
// was not validated can not reach the planner or the command renderer.
import type { IP, Prefix } from './ip.js';
import type { MAC } from './mac.js';

// ---- What a source returns: untrusted, not yet validated -------------------

export interface RawBackend {
  type?: unknown;
  vni?: unknown;
  port?: unknown;
  mtu?: unknown;
  directRouting?: unknown;
  gbp?: unknown;
  learning?: unknown;
  /**
   * The Backend object as the config gave it, for the fields only one backend
   * reads (WireGuard's PSK, ListenPort...): each backend picks its own keys,
   * case-insensitively as Go does, so a new backend needs no new field here.
   */
  fields?: Record<string, unknown>;
}

export interface RawConfig {
  network?: unknown;
  subnetLen?: unknown;
  subnetMin?: unknown;
  subnetMax?: unknown;
  /** Dual stack / IPv6-only (flannel's IPv6Network, EnableIPv6, EnableIPv4, IPv6SubnetLen). */
  ipv6Network?: unknown;
  enableIPv6?: unknown;
  enableIPv4?: unknown;
  ipv6SubnetLen?: unknown;
  /** flannel's IPv6SubnetMin/IPv6SubnetMax: the range the etcd registration allocates IPv6 subnets from. */
  ipv6SubnetMin?: unknown;
  ipv6SubnetMax?: unknown;
  backend?: RawBackend;
  /** Where the config came from, for messages ("cluster.yaml", "etcd /coreos.com/network/config"). */
  origin: string;
  /** Non-fatal findings while mapping it (e.g. a Backend flanneld would default differently). */
  warnings?: string[];
}

export interface RawNode {
  /** Where this node came from, for messages: `nodes[2]`, `lease 10.244.1.0-24`, `Node node-b`. */
  origin: string;
  name?: unknown;
  publicIP?: unknown;
  subnet?: unknown;
  vtepMAC?: unknown;
  /** The IPv6 half of a dual-stack (or IPv6-only) node. */
  publicIPv6?: unknown;
  ipv6Subnet?: unknown;
  vtepMACv6?: unknown;
  backendType?: unknown;
  /**
   * The node's published BackendData (etcd lease `BackendData`, Kubernetes
   * `backend-data` annotation; the file source builds one from a node's
   * `publicKey`), parsed JSON, unvalidated: the backend reads its own fields
   * (WireGuard: `PublicKey`, `Port`). `backendDataV6`: BackendV6Data.
   */
  backendData?: unknown;
  backendDataV6?: unknown;
  /** etcd leases: when the lease expires; null for a reservation (no TTL). */
  expiresAt?: Date | null;
}

export interface ClusterState {
  config: RawConfig;
  nodes: RawNode[];
  /** Non-fatal problems the source met while reading (malformed keys, ignored nodes). */
  warnings: string[];
  /** Whether nodes carry names (file, Kubernetes) or are found by public IP only (etcd). */
  namedNodes: boolean;
  /**
   * The source publishes VTEP MACs (Kubernetes annotations), so a vxlan node
   * without one is invalid even though nodes are named. Default: !namedNodes.
   */
  macRequired?: boolean;
  /**
   * Named nodes the source left out (also in warnings), so "which node is
   * this?" errors can say why instead of "not in the source".
   */
  leftOut?: Array<{ name: string; reason: string }>;
  /**
   * Names of nodes whose public IP is an operator's public-ip-overwrite
   * (Kubernetes): peers send to it, but it is not an address of the node
   * itself, so the local node's vxlan device and udp socket keep its own.
   */
  publicIPOverwritten?: string[];
  /**
   * The local node's name when the source knows it (Kubernetes: NODE_NAME,
   * else the pod's spec.nodeName from POD_NAME/POD_NAMESPACE, as flanneld);
   * --node still wins.
   */
  localName?: string;
}

// ---- Validated cluster -------------------------------------------------------

export type BackendConfig =
  | { type: 'vxlan'; vni: number; port: number; mtu?: number; directRouting: boolean; gbp?: boolean; learning?: boolean }
  | { type: 'host-gw' }
  | { type: 'udp'; port: number }
  | WireguardConfig;

/** flannel's wireguard backend block (pkg/backend/wireguard), validated. */
export interface WireguardConfig {
  type: 'wireguard';
  listenPort: number;
  listenPortV6: number;
  /** Backend.MTU: the underlay MTU the device's is derived from (as flannel); absent: the underlay device's. */
  mtu?: number;
  /** The pre-shared key; a Secret (backends/wireguard/keys.ts) that never prints. */
  psk?: { reveal(): string; toJSON(): string };
  /** Seconds; 0 = off. */
  keepalive: number;
  mode: 'separate' | 'auto' | 'ipv4' | 'ipv6';
}

export type BackendType = BackendConfig['type'];

/**
 * `network`/`subnetLen` describe the cluster's first family: IPv4, or IPv6 in
 * an IPv6-only cluster. `ipv6` is the second family of a dual-stack cluster.
 */
export interface NetworkConfig {
  network: Prefix;
  subnetLen: number;
  ipv6?: { network: Prefix; subnetLen: number };
  backend: BackendConfig;
}

/** One address family of a node: how it is reached and what it routes. */
export interface NodeFamily {
  publicIP: IP;
  subnet: Prefix;
  vtepMAC: MAC;
  /** The family's published BackendData (see RawNode.backendData), for the backend to read. */
  backendData?: unknown;
}

/**
 * publicIP/subnet/vtepMAC are the cluster's first family (see NetworkConfig);
 * `v6` is the IPv6 half in a dual-stack cluster, absent when the node has none.
 */
export interface Node extends NodeFamily {
  name: string;
  origin: string;
  expiresAt?: Date | null;
  v6?: NodeFamily;
}

export interface Problem {
  /** The node, field or object concerned, e.g. `node node-b (nodes[1]).publicIP`. */
  subject: string;
  /** For humans: what is wrong and what happened (left out, left as is). */
  message: string;
  /** For programs: what kind of problem (`invalid-node`, `overlapping-subnet`, `foreign-route` …; docs/output.md). */
  code?: ProblemCode;
  /** The node concerned, by name. */
  node?: string;
  /** The field concerned (`publicIP`, `subnet`, `vtepMAC`, `Backend.MTU` …). */
  field?: string;
  /** The offending value, as text. */
  value?: string;
  /** The nodes (or the object) it conflicts with. */
  conflictsWith?: string[];
  /** What to do about it. */
  hint?: string;
}

export type ProblemCode =
  | 'source-warning' | 'invalid-node' | 'duplicate-name' | 'duplicate-node' | 'overlapping-subnet' | 'duplicate-vtep-mac'
  | 'foreign-route' | 'config' | 'node' | 'host-unread' | 'kept' | 'warning';

export interface ValidCluster {
  config: NetworkConfig;
  nodes: Node[];
  /** Nodes left out, conflicts and other warnings; never fatal. */
  problems: Problem[];
}

// ---- Kernel objects (desired and actual share these shapes) ---------------

export interface LinkEntry {
  kind: 'link';
  name: string;
  vni: number;
  local: IP;
  underlay: string;
  port: number;
  learning: boolean;
  /** Group Based Policy extension (Backend.GBP); set only when on. The kernel can not change it on a live device. */
  gbp?: boolean;
  mtu: number;
  mac: MAC;
  up: boolean;
}

/** The udp backend's TUN device (persistent, no packet information header). */
export interface TunEntry {
  kind: 'tun';
  name: string;
  mtu: number;
  up: boolean;
}

export interface AddrEntry {
  kind: 'addr';
  dev: string;
  /** Address with its prefix length, e.g. 10.244.0.0/32. */
  addr: Prefix;
}

export interface NeighEntry {
  kind: 'neigh';
  dev: string;
  ip: IP;
  mac: MAC;
}

export interface FdbEntry {
  kind: 'fdb';
  dev: string;
  mac: MAC;
  dst: IP;
}

export interface RouteEntry {
  kind: 'route';
  dst: Prefix;
  /** Absent for a device route (the udp backend's network route through its TUN). */
  via?: IP;
  dev: string;
  onlink: boolean;
  /** Route protocol number; ovlnet's own routes carry OVLNET_ROUTE_PROTO. */
  proto: number;
}

/** A device offload feature ovlnet pins (the vxlan checksum workaround). */
export interface OffloadEntry {
  kind: 'offload';
  dev: string;
  /** ethtool feature name, e.g. tx-checksum-ip-generic. */
  feature: string;
  enabled: boolean;
}

/**
 * A per-device kernel setting ovlnet pins, /proc/sys/net/ipv6/conf/<dev>/<name>
 * (accept_ra = 0 on the vxlan devices, as flannel sets it).
 */
export interface SysctlEntry {
  kind: 'sysctl';
  dev: string;
  /** The setting's file name, e.g. accept_ra. */
  name: string;
  value: number;
}

/**
 * One iptables rule, as `iptables-save` prints it after `-A <chain>`. The
 * kind is its table: masquerade rules are 'nat', FORWARD accept rules 'filter'.
 */
export interface NetfilterRuleEntry {
  kind: NetfilterTable;
  /** ip6tables when 6; iptables when absent. */
  family?: 6;
  chain: string;
  spec: string;
}

export type NetfilterTable = 'nat' | 'filter';
export type NatRuleEntry = NetfilterRuleEntry & { kind: 'nat' };
export type FilterRuleEntry = NetfilterRuleEntry & { kind: 'filter' };

/**
 * A chain ovlnet owns whole, entered by one jump from a built-in chain (the
 * hook): flannel's FLANNEL-POSTRTG (nat, from POSTROUTING) and FLANNEL-FWD
 * (filter, from FORWARD). One driver plans, diffs, writes and cleans both.
 */
export interface RuleSet {
  table: NetfilterTable;
  chain: string;
  hook: string;
  /** The comment on every rule and on the jump: flannel's, so either can take over from the other. */
  comment: string;
  /** Comments older ovlnet versions wrote: rules carrying them are ovlnet's too (replaced, cleaned up). */
  legacyComments: readonly string[];
}

/**
 * A WireGuard device (flannel-wg, flannel-wg-v6): the kernel's, or a TUN
 * served by the userspace implementation. The private key is never in an
 * entry (the writer reads the key file); `publicKey`, when the source
 * publishes one for this node, is what the device must hold.
 */
export interface WgDeviceEntry {
  kind: 'wg-device';
  name: string;
  mtu: number;
  listenPort: number;
  publicKey?: string;
  up: boolean;
}

/** One WireGuard peer of a device, by its public key. */
export interface WgPeerEntry {
  kind: 'wg-peer';
  dev: string;
  publicKey: string;
  /** `ip:port`, `[ip6]:port`; undefined when the device knows none. */
  endpoint?: string;
  /** Sorted. */
  allowedIPs: Prefix[];
  /** Seconds; 0 = off. */
  keepalive: number;
  /** The pre-shared key (a Secret: prints as "(redacted)"). */
  psk?: WireguardConfig['psk'];
}

/** What `wg show <dev> dump` says of a device (the private key is not kept). */
export interface WgDeviceRead {
  listenPort: number;
  /** The public key of the device's private key; undefined when it has none. */
  publicKey?: string;
  peers: WgPeerEntry[];
}

export type Entry = LinkEntry | TunEntry | AddrEntry | NeighEntry | FdbEntry | RouteEntry | OffloadEntry | SysctlEntry | WgDeviceEntry | WgPeerEntry | NatRuleEntry | FilterRuleEntry;
export type EntryKind = Entry['kind'];

export interface PeerPlan {
  node: Node;
  /** How the peer is reached: through the vxlan device, a direct route, or the udp forwarder. */
  via: 'vxlan' | 'direct' | 'udp' | 'wireguard';
}

export interface DesiredState {
  backend: BackendType;
  /** The backend's device: the vxlan device (flannel-v6.<VNI> in an IPv6-only cluster) or the udp TUN. */
  device?: string;
  /** Dual stack, vxlan: the IPv6 device flannel-v6.<VNI>. */
  device6?: string;
  underlay: { dev: string; mtu: number; found: boolean; local?: IP };
  local: Node;
  peers: PeerPlan[];
  /**
   * peers.length, when the planner knows it without building `peers` (the
   * daemon's incremental plan builds that list only when asked: an event
   * cycle would copy 5 000-10 000 peers for their count). See peerCount().
   */
  peerCount?: number;
  entries: Entry[];
  /** Peers that could not be planned (e.g. host-gw peer not on-link). */
  problems: Problem[];
  /**
   * Whether an entry with this kinds key is planned, and the planned route,
   * neighbour or fdb entry of a key, when the planner keeps its entries by
   * key (the daemon's incremental plan): spares whoever asks (the kernel
   * watch) building a set of every entry's key per cycle. The plan's own,
   * updated in place: it answers for the plan as it now is.
   */
  entryKeys?: { has(key: string): boolean; entry(key: string): Entry | undefined };
}

/** How many peers `d` plans, without building its peer list when the planner knows. */
export function peerCount(d: Pick<DesiredState, 'peers' | 'peerCount'>): number {
  return d.peerCount ?? d.peers.length;
}

// ---- What the host has -------------------------------------------------------

export interface HostLink {
  name: string;
  index: number;
  mtu: number;
  mac?: MAC;
  up: boolean;
  kind?: string;
  vxlan?: { id: number; local?: IP; link?: string; port: number; learning: boolean; gbp?: boolean };
  /** `ip -d` info_data of a tun/tap device. */
  tun?: { type: string; pi: boolean; persist: boolean; multiQueue: boolean };
  addrs: Prefix[];
}

/** A route as the kernel has it; foreign routes may have no gateway or device. */
export interface HostRoute {
  dst: Prefix;
  via?: IP;
  dev?: string;
  onlink: boolean;
  proto: number;
  /** Route type other than unicast, by name (blackhole, unreachable...) even when `ip -N` printed a number. */
  type?: string;
}

/** One table as `iptables-save` shows it. */
export interface NatState {
  chains: string[];
  /** In table order within each chain. */
  rules: Array<{ chain: string; spec: string }>;
  /** Built-in chains' policies (`:FORWARD DROP [0:0]`). */
  policies?: Record<string, string>;
}
export type TableState = NatState;

/** The tables read, by family and name ('4/nat', '6/filter'); a table not read is absent. */
export type NetfilterState = Partial<Record<`${4 | 6}/${NetfilterTable}`, TableState>>;

export interface ActualState {
  links: Map<string, HostLink>;
  routes: HostRoute[];
  neighbors: NeighEntry[];
  fdb: FdbEntry[];
  /** Read only when the plan pins an offload feature (--disable-tx-offload). */
  offload?: OffloadEntry[];
  /**
   * Pinned sysctl settings by entry key, read when planned, for the devices
   * that exist; undefined for a setting the kernel does not have (IPv6 off).
   */
  sysctl?: Map<string, number | undefined>;
  /** WireGuard devices by name, read when planned and the link exists; a link wg can not talk to is absent. */
  wireguard?: Map<string, WgDeviceRead>;
  /** Read only for the families the plan has iptables rules in (--ip-masq, --iptables-forward-rules). */
  netfilter?: NetfilterState;
}

// ---- Changes -------------------------------------------------------------------

export type Action = 'add' | 'change' | 'delete' | 'replace';

interface ChangeBase<E extends Entry> {
  kind: E['kind'];
  key: string;
  /** Why a change or replacement is needed: `mtu 1500 -> 1450` (from the kind's structured comparison). */
  detail?: string;
}

/** A change of one kind of entry: what it adds, deletes or changes is typed by the action. */
export type ChangeOf<E extends Entry> =
  | (ChangeBase<E> & { action: 'add'; desired: E; actual?: undefined })
  | (ChangeBase<E> & { action: 'delete'; actual: E; desired?: undefined })
  /** `actual` is absent when the host's object can not be read as an entry (a device of another type). */
  | (ChangeBase<E> & { action: 'change' | 'replace'; desired: E; actual?: E });

/** Discriminated by kind (the entries' types) and action (which of desired/actual is there). */
export type Change = { [K in EntryKind]: ChangeOf<Extract<Entry, { kind: K }>> }[EntryKind];
