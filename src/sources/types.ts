// The interface every cluster state source implements. `file:`, `etcd://`
// and `kube:` sources live in their own files and are loaded on demand, so a
// plan from a file never pays for the etcd or Kubernetes client libraries.
import type { ClusterState } from '../model/types.js';

export interface SourceOptions {
  /** Network namespace of the local node, for sources that look at local addresses. */
  netns?: string;
  etcdCaFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
  /** Kubernetes: file holding net-conf.json instead of the ConfigMap. */
  netConf?: string;
  /** Kubernetes: annotation prefix (default flannel.alpha.coreos.com). */
  annotationPrefix?: string;
  /** Local node name, when the source needs it (Kubernetes). */
  nodeName?: string;
}

export interface WatchHandlers {
  /** The source changed; the caller should load() again (bursts are coalesced by the caller). */
  onChange(): void;
  /** The watch broke; the source retries by itself, this only reports it. */
  onError(err: Error): void;
}

export interface Source {
  /** The URI as the operator wrote it, for messages. */
  readonly uri: string;
  load(): Promise<ClusterState>;
  /** Starts watching; returns a function that stops it. Absent when the source cannot watch. */
  watch?(handlers: WatchHandlers): () => void;
  close(): Promise<void>;
}
