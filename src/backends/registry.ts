// Backend type -> backend (flannel's backend manager). Everything outside
// src/backends asks here instead of comparing the type: a Record over every
// BackendType, so a type without a backend does not compile.
import type { BackendConfig, BackendType } from '../model/types.js';
import { hostGw } from './host-gw/index.js';
import type { Backend } from './types.js';
import { udp } from './udp/index.js';
import { vxlan } from './vxlan/index.js';
import { wireguard } from './wireguard/index.js';

export const BACKENDS: { [T in BackendType]: Backend<Extract<BackendConfig, { type: T }>> } = {
  vxlan,
  'host-gw': hostGw,
  udp,
  wireguard,
};

export const BACKEND_TYPES = Object.keys(BACKENDS) as BackendType[];
export const BACKEND_LIST = Object.values(BACKENDS) as ReadonlyArray<Backend>;

/** A Backend block without a Type (ovlnet's default; flanneld's code would pick udp). */
export const DEFAULT_BACKEND: BackendType = vxlan.type;

/** A peer that publishes no backend type (etcd: no BackendType; Kubernetes: backend-type ""): flannel's udp. */
export const UNTYPED_BACKEND: BackendType = udp.type;

export function backendOf(b: BackendConfig | BackendType | { backend: BackendConfig }): Backend {
  const type = typeof b === 'string' ? b : 'backend' in b ? b.backend.type : b.type;
  return BACKENDS[type] as unknown as Backend;
}

/** The backend of a type as a config names it (lower case), or undefined. */
export function backendNamed(type: string): Backend | undefined {
  return Object.hasOwn(BACKENDS, type) ? backendOf(type as BackendType) : undefined;
}
