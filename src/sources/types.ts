// The interface every cluster state source implements. `file:`, `etcd://`
// and `kube:` sources live in their own files and are loaded on demand, so a
// plan from a file never pays for the etcd or Kubernetes client libraries.
import type { ClusterState, RawNode } from '../model/types.js';

export interface SourceOptions {
  /** Network namespace of the local node, for sources that look at local addresses. */
  netns?: string;
  etcdCaFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
  /** etcd authentication (--etcd-username/--etcd-password, or their OVLNET_ variables). */
  etcdUsername?: string;
  etcdPassword?: string;
  /** Kubernetes: file holding net-conf.json instead of the ConfigMap. */
  netConf?: string;
  /** Kubernetes: annotation prefix (default flannel.alpha.coreos.com). */
  annotationPrefix?: string;
  /** Local node name, when the source needs it (Kubernetes). */
  nodeName?: string;
  /**
   * etcd: look up each node's lease expiry (`RawNode.expiresAt`; one call
   * per etcd lease, 5 000 calls at 5 000 nodes). Default true; the daemon
   * passes false: no plan depends on an expiry, only `nodes` and `doctor` show it.
   */
  leaseExpiries?: boolean;
  /** Kubernetes: where NODE_NAME, POD_NAME and POD_NAMESPACE are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * The caller loads once (plan, diff, apply): a source may skip what only a
   * later read would compare against (the file source's per-node summary).
   */
  once?: boolean;
}

export interface WatchHandlers {
  /** The source changed; the caller should load() again (bursts are coalesced by the caller). */
  onChange(): void;
  /** The watch broke; the source retries by itself, this only reports it. */
  onError(err: Error): void;
  /** Something worth a log line that is not an error (the watch re-established). */
  onNotice?(message: string): void;
}

/** What the daemon knows when it asks a source to publish this node. */
export interface RegisterOptions {
  netns?: string;
  /** --node (Kubernetes: the Node object to annotate). */
  nodeName?: string;
  /** --public-ip, when given; else the source finds it (--iface address, default route device). */
  publicIP?: string;
  /** The IPv6 address a dual-stack node publishes, when given; else found like publicIP. */
  publicIPv6?: string;
  /** --iface, when given. */
  iface?: string;
  /** flannel's subnet.env path: a previous subnet there is reused (etcd). */
  subnetFile?: string;
  /** Lease TTL in seconds (etcd). */
  leaseTTLSeconds?: number;
  /** The VTEP MAC already on this host's vxlan device, if any, so a restart keeps it. */
  existingVtepMAC?: string;
  /** The same for the IPv6 vxlan device (dual stack). */
  existingVtepMACv6?: string;
}

export interface Registration {
  /** The published public IP (a Kubernetes public-ip-overwrite when there is one). */
  publicIP: string;
  /** This host's own address, when the published one is an overwrite that is not on the host. */
  localAddress?: string;
  subnet: string;
  vtepMAC?: string;
  /** The IPv6 half of a dual-stack registration. */
  publicIPv6?: string;
  subnet6?: string;
  vtepMACv6?: string;
  /** The public key the backend publishes for this node (WireGuard), when it has one. */
  publicKey?: string;
  /**
   * The node this registration holds, by name (etcd: the lease key's node
   * name). The cycle takes it as the local node unless --node is given, so a
   * stray entry carrying this host's public IP cannot take the node over.
   * Kept current by the source (a lease lost to another node and allocated
   * anew changes it).
   */
  localNode?: string;
}

export interface LoadOptions {
  /**
   * Read the source in full. A source that keeps what its watch reported
   * (etcd) may otherwise answer from that; the daemon asks for a fresh read
   * on every cycle that is not caused by watch events alone (start, resync,
   * retry, SIGHUP). Sources without such a cache always read in full.
   */
  fresh?: boolean;
}

/**
 * What a source read for the daemon's event cycle: the nodes that changed
 * since its previous load() or update(), when it can tell, and the whole state.
 */
export interface SourceUpdate {
  /**
   * Nodes upserted (whole raw nodes) and deleted (by name) since the
   * previous load() or update(). Given only when nothing else changed: the
   * config, the source's warnings, and every other node are as they were,
   * and no touched node carries (or carried) a warning of the source's own.
   * Absent when the source cannot say: the caller uses state().
   */
  delta?: { upserts: RawNode[]; deletes: string[] };
  /** The whole state as of this update (the same read; no second listing or file read). */
  state(): Promise<ClusterState>;
}

export interface Source {
  /** The URI as the operator wrote it, for messages. */
  readonly uri: string;
  load(opts?: LoadOptions): Promise<ClusterState>;
  /**
   * Daemon event cycles: what changed since the previous load() or
   * update() (see SourceUpdate). Absent: the daemon calls load().
   */
  update?(): Promise<SourceUpdate>;
  /** Starts watching; returns a function that stops it. Absent when the source cannot watch. */
  watch?(handlers: WatchHandlers): () => void;
  /**
   * A watch started after a load() goes on from that load's read (etcd:
   * from its revision), so no change in between is missed; otherwise it
   * reads the source itself first. The daemon then starts the watch after
   * its first cycle instead of before it: one listing at start, not two at once.
   */
  readonly watchResumesLoad?: boolean;
  /**
   * Daemon only: publish this node (etcd lease, Kubernetes annotations) and
   * keep it fresh (lease renewal) until close(). Absent for file sources.
   */
  register?(opts: RegisterOptions): Promise<Registration>;
  /**
   * Daemon only, after its first converged cycle: tell the cluster this
   * node's network is up (Kubernetes: the Node's NetworkUnavailable
   * condition to False, as flanneld). Absent where there is no such thing.
   */
  markNetworkUp?(): Promise<void>;
  close(): Promise<void>;
}
