// What a backend is (flannel's backend interface, one folder each under
// src/backends/, all in registry.ts) and what its planner is given.
import type { IP, Prefix } from '../model/ip.js';
import type {
  ActualState, BackendConfig, Change, DesiredState, Entry, HostLink, HostRoute, NetworkConfig, Node, PeerPlan, Problem, RawBackend,
} from '../model/types.js';
import type { CheckResult } from '../doctor/types.js';
import type { ValidatedCluster } from '../validate/index.js';

export interface Underlay {
  dev: string;
  mtu: number;
  /** Prefixes connected on the underlay device (what is on-link). */
  connected: Prefix[];
  /** False when planning offline: the local public IP is not on this host. */
  found: boolean;
  /**
   * The address the overlay is sent from when it is not the local node's
   * published public IP (a Kubernetes public-ip-overwrite): flannel publishes
   * the overwrite but binds its vxlan device to the interface address.
   */
  local?: IP;
}

/** Host-side options that are not part of the cluster config. */
export interface HostOptions {
  /** Pin tx-checksum-ip-generic off on the vxlan device (--disable-tx-offload). */
  disableTxOffload?: boolean;
  /** Install flannel's masquerade rules (--ip-masq). */
  ipMasq?: boolean;
  /** MASQUERADE with --random-fully (iptables takes it, --ip-masq-fully-random-disable unset); default true. */
  masqRandomFully?: boolean;
  /** Install flannel's FORWARD accept rules (--iptables-forward-rules). */
  forwardRules?: boolean;
}

export interface PlanInput {
  cluster: ValidatedCluster;
  underlay: Underlay;
  /**
   * The host's main routing table, for DirectRouting's on-link test. Absent
   * (offline plans, tests): the underlay's connected prefixes stand in for it.
   */
  routes?: HostRoute[];
  host?: HostOptions;
  /**
   * When given, the planner records each peer's own entries here (the
   * daemon's incremental planner replaces one peer's entries without
   * planning the others again).
   */
  peerEntries?: Map<Node, Entry[]>;
}

export type Planner = (input: PlanInput) => DesiredState;

export type { HostLink };

/** What `ovlnet cleanup` knows when a backend decides about its devices. */
export interface CleanupContext {
  actual: ActualState;
  /** ovlnet's routes (protocol 244), all being removed. */
  ours: HostRoute[];
  /** Routes through `dev` that are neither ovlnet's nor the kernel's own: proof the device may be flannel's. */
  foreignOn(dev: string): HostRoute[];
  /** --vni: remove flannel.<vni> whatever carries it. */
  vni?: number;
  /** The VNI the source configures, when a source was read. */
  sourceVni?: number;
  allFlannelDevices?: boolean;
  /** Device deletions, in the order they run. */
  changes: Change[];
  kept: Problem[];
}

/**
 * flannel's BackendData in a lease or a Node annotation: vxlan's VNI and
 * VtepMAC, and any backend's own fields (the sources pass them through as
 * they are; the backend reads them).
 */
export interface BackendData {
  VNI?: number;
  VtepMAC?: string;
  [field: string]: unknown;
}

/** What the host holds, indexed, for "is this peer programmed?" (built only when asked). */
export interface ProgrammedIndex {
  /** ovlnet's routes by destination. */
  routes: Map<string, { via?: string; dev?: string }>;
  /** Permanent neighbours `dev/ip` -> MAC. */
  neigh: Map<string, string>;
  /** fdb entry keys. */
  fdb: Set<string>;
}

/** What a data-plane hook may log (the daemon's Logger is one). */
export interface DataPlaneLog {
  info(msg: string, fields?: Record<string, string | number | boolean | undefined>): void;
  warn(msg: string, fields?: Record<string, string | number | boolean | undefined>): void;
}

/** A backend's long-running part inside the daemon (the udp forwarder). */
export interface DataPlane {
  /** What the daemon calls it in its log: `<name> failed: ...`. */
  readonly name: string;
  /** After every converged cycle: the plan now in the kernel. Throws on failure; the daemon retries next cycle. */
  sync(config: NetworkConfig, desired: DesiredState): Promise<void>;
  close(): void;
}

/**
 * Node fields of a backend's own in a cluster file (the file source), beside
 * the common ones: accepted by the file's key check whatever the backend type,
 * checked, and turned into the node's BackendData (opaque to the source).
 */
export interface NodeFields {
  /** The keys, in ovlnet's spelling and in flannel's. */
  keys: readonly string[];
  /** A value the backend could never use: the field and why, for an error naming the file, the node and the field. */
  check?(node: Readonly<Record<string, unknown>>): { field: string; message: string; hint?: string } | undefined;
  /** The node's BackendData (BackendV6Data: `data6`) made from these fields; undefined when it has none of them. */
  backendData(node: Readonly<Record<string, unknown>>): { data?: Record<string, unknown>; data6?: Record<string, unknown> } | undefined;
}

export interface Backend<C extends BackendConfig = BackendConfig> {
  type: C['type'];
  /** The config's Backend block, validated (flannel's fields and defaults). */
  parseConfig(raw: RawBackend | undefined, origin: string): C;
  /** What an IPv6 network (dual stack, IPv6-only) asks more of the block. */
  checkIPv6?(config: C, origin: string): void;
  /** The devices ovlnet owns under this config: everything on them is ovlnet's. */
  devices(config: NetworkConfig): string[];
  /** The devices whose fdb a host read includes (known before the host is read). */
  fdbDevices(config: NetworkConfig): string[];
  /** Whether the plan depends on the host's routing table (read with the addresses when so). */
  plansFromRoutes(config: NetworkConfig): boolean;
  plan(input: PlanInput): DesiredState;
  /**
   * The planner fills PlanInput.peerEntries with each peer's entries, so the
   * daemon may plan one peer at a time on a source event. Unset: every
   * event is planned in full (WireGuard's peers, udp's forwarder table).
   */
  tracesPeers?: boolean;
  /** Whether a node's subnet is programmed here as that node would have it; absent: never (nothing per peer). */
  programmed?(ix: ProgrammedIndex, n: Node): boolean;
  /** Peers must publish a VTEP MAC when the source publishes them (Kubernetes annotations). */
  needsVtepMAC: boolean;
  /** The BackendData this node publishes (lease, annotation); undefined for flannel's `null`. */
  leaseData(config: { type?: string; vni?: number }, vtepMAC: string | undefined): BackendData | undefined;
  /**
   * The BackendData of the local node when it needs host I/O to know
   * (wireguard: the public key of the key file, created when missing):
   * `data` for BackendData, `data6` for BackendV6Data. Registration calls it
   * once per run; absent: leaseData says all.
   */
  localLeaseData?(config: C, o: { netns?: string }): Promise<{ data?: BackendData; data6?: BackendData }>;
  /** The public key this node publishes in `data` (WireGuard's), for the registration's log line: operators compare it with `wg show`. */
  publicKey?(data: BackendData | undefined): string | undefined;
  /** Lease data already on this host (a restart keeps publishing the same VTEP MACs). */
  hostLeaseData?(links: Map<string, HostLink>): { vtepMAC?: string; vtepMACv6?: string };
  /** Node fields of its own in a cluster file (WireGuard: the public key). */
  nodeFields?: NodeFields;
  /** One line for `ovlnet nodes`. */
  describe(config: C): string;
  /** The plan table's own parts: the node line's tail, extra peer columns, a peer's route without a route entry. */
  table: {
    nodeNote?(local: Node): string;
    columns: Array<{ head: string; cell(p: PeerPlan): string }>;
    /** `ovlnet nodes`' columns of the backend's own (what a peer publishes for it: VTEP MAC, public key); absent: none. */
    nodeColumns?: Array<{ head: string; cell(n: Node): string }>;
    /** The Backend line's devices when they are of the backend's own kinds (not a vxlan link or a tun). */
    devices?(d: DesiredState): string | undefined;
    unroutedPeer?(p: PeerPlan, d: DesiredState): string;
  };
  /** `ovlnet cleanup`: which of the host's devices of this backend are ovlnet's (removed) and which are kept, and why. */
  cleanup?(ctx: CleanupContext): void;
  /**
   * What doctor's and the daemon's probes through the overlay need: the bytes
   * the encapsulation adds and the UDP port it is sent to. Absent: no device
   * of its own (host-gw), the peers' pod gateways are probed over the underlay.
   */
  encapsulation?(config: C): { overhead: number; port: number };
  /**
   * `ovlnet doctor`'s rows of the backend's own (WireGuard: device, listen
   * port, peers), from the snapshot. Pure. A failing row with `blocksOverlay`
   * explains every peer's failed overlay probe.
   */
  doctor?(desired: DesiredState, actual: ActualState): CheckResult[];
  /** The daemon's long-running hook, if the backend moves packets itself. */
  dataPlane?(o: { log: DataPlaneLog; netns?: string }): DataPlane;
}
