// The host-gw backend: one route per peer via its public IP; no device of its own.
import type { BackendConfig } from '../../model/types.js';
import type { Backend } from '../types.js';
import { planHostGw } from './plan.js';

export const hostGw: Backend<Extract<BackendConfig, { type: 'host-gw' }>> = {
  type: 'host-gw',
  parseConfig: () => ({ type: 'host-gw' }),
  devices: () => [],
  fdbDevices: () => [],
  plansFromRoutes: () => false,
  plan: planHostGw,
  tracesPeers: true,
  programmed: (ix, n) => ix.routes.get(n.subnet.text)?.via === n.publicIP.text,
  needsVtepMAC: false,
  leaseData: () => undefined,
  describe: (b) => b.type,
  table: { columns: [] },
};
