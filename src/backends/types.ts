import type { IP, Prefix } from '../model/ip.js';
import type { DesiredState, HostLink, HostRoute } from '../model/types.js';
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
}

export type Planner = (input: PlanInput) => DesiredState;

export type { HostLink };
