import type { DesiredState } from '../model/types.js';
import { planHostGw } from './hostgw.js';
import { planMasq } from './masq.js';
import type { PlanInput } from './types.js';
import { planVxlan } from './vxlan.js';

function planBackend(input: PlanInput): DesiredState {
  switch (input.cluster.config.backend.type) {
    case 'vxlan':
      return planVxlan(input);
    case 'host-gw':
      return planHostGw(input);
  }
}

/** Computes the desired kernel state for the local node. Pure. */
export function plan(input: PlanInput): DesiredState {
  const desired = planBackend(input);
  if (input.host?.ipMasq) desired.entries.push(...planMasq(input.cluster.config.network, input.cluster.local.subnet));
  return desired;
}

export { resolveUnderlay } from './underlay.js';
export type { HostOptions, PlanInput, Underlay } from './types.js';
