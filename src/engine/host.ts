// The engine's one door to the kernel (a port, as Felix's route table takes
// its netlink shim): the engine decides what to read and what to write; a
// Host does it. The real one (host/real.ts) runs ip/bridge/ethtool/sysctl/iptables
// and the kinds' own drivers;
// the tests' fake (test/lib/fake-host.ts) is the pure kernel model.
import type { Batch } from './batches.js';
import type { WriteResult } from '../host/write.js';
import type { ActualState, NetfilterState, OffloadEntry, SysctlEntry } from '../model/types.js';

export interface ReadScope {
  /**
   * Links, addresses, routes, permanent neighbours, and the fdb of these vxlan
   * devices; given as a promise (the cluster file still being read), the
   * rest of the read starts without them.
   */
  kernel?: { fdbDevices: readonly string[] | Promise<readonly string[]> };
  /** Links and their addresses alone (one `ip addr show`): the daemon's check of its devices. */
  links?: true;
  /** Offload features of devices that exist (one ethtool -k per device). */
  offload?: ReadonlyArray<{ dev: string; features: readonly string[] }>;
  /** These pinned sysctl settings (one sysctl for all); a setting the kernel lacks reads as undefined. */
  sysctl?: readonly SysctlEntry[];
  /** The nat and filter tables of these families (one iptables-save each); `ifInstalled`: undefined without iptables instead of an error. */
  netfilter?: { families: ReadonlyArray<4 | 6>; ifInstalled?: boolean };
  /** The questions for the kinds' own readers (KindSpec.reader), by reader name; the kind's driver answers. */
  readers?: Readonly<Record<string, unknown>>;
}

export interface HostRead {
  kernel?: ActualState;
  links?: ActualState['links'];
  offload?: OffloadEntry[];
  /** Values by entry key. */
  sysctl?: Map<string, number | undefined>;
  netfilter?: NetfilterState;
  /** The kinds' readers' answers, by reader name. */
  readers?: Record<string, unknown>;
}

/** Phases run in order; the batches of one phase at the same time (see engine/batches.ts toPhases). */
export type WritePhases = Batch[][];

export interface Host {
  /** Loads what reading needs, so that a read started next begins at once (the real host: its process runner). */
  ready?(): Promise<void>;
  read(scope: ReadScope): Promise<HostRead>;
  write(phases: WritePhases): Promise<WriteResult>;
}
