import type { Prefix } from '../model/ip.js';
import type { DesiredState, HostLink } from '../model/types.js';
import type { ValidatedCluster } from '../validate/index.js';

export interface Underlay {
  dev: string;
  mtu: number;
  /** Prefixes connected on the underlay device (what is on-link). */
  connected: Prefix[];
  /** False when planning offline: the local public IP is not on this host. */
  found: boolean;
}

export interface PlanInput {
  cluster: ValidatedCluster;
  underlay: Underlay;
}

export type Planner = (input: PlanInput) => DesiredState;

export type { HostLink };
