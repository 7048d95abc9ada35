import type { DesiredState } from '../model/types.js';
import { planHostGw } from './hostgw.js';
import type { PlanInput } from './types.js';
import { planVxlan } from './vxlan.js';

/** Computes the desired kernel state for the local node. Pure. */
export function plan(input: PlanInput): DesiredState {
  switch (input.cluster.config.backend.type) {
    case 'vxlan':
      return planVxlan(input);
    case 'host-gw':
      return planHostGw(input);
  }
}

export { resolveUnderlay } from './underlay.js';
export type { PlanInput, Underlay } from './types.js';
