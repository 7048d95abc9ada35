// Which address each peer is probed at, through which device and at which
// size: shared by `ovlnet doctor` and the daemon's probes. Pure.
import { backendOf } from '../backends/registry.js';
import type { Snapshot } from '../engine/cycle.js';
import { networkOf, nthAddress, type IP } from '../model/ip.js';
import type { Node } from '../model/types.js';

/** The address doctor probes through the overlay and what it routes by, per backend. */
export interface ProbePlan {
  device: string;
  mtu: number;
  port?: number;
  overhead?: number;
  targetOf(n: Node): IP;
  /** Dual stack: the IPv6 half, probed through its own device (vxlan) or to the pod gateway (host-gw). */
  second?: { device: string; mtu: number; targetOf(n: Node): IP | undefined };
}

export function probePlan(snap: Pick<Snapshot, 'desired' | 'cluster'>): ProbePlan {
  const d = snap.desired;
  // The backend's encapsulation (Backend.encapsulation); none: it has no device of its own.
  const enc = backendOf(snap.cluster.config).encapsulation?.(snap.cluster.config.backend);
  // The backend's device entry, whatever its kind: the one entry with that name and an MTU.
  const deviceEntry = (name: string | undefined) => d.entries.find((e) => 'mtu' in e && 'name' in e && e.name === name) as { mtu: number } | undefined;
  const link = deviceEntry(d.device);
  const dual = snap.cluster.config.ipv6 !== undefined && d.local.v6 !== undefined;
  if (!enc || !d.device || !link) {
    // host-gw: no device of its own; the peer's pod gateway (its cni0) answers.
    const gateway = (n: Node) => nthAddress(networkOf(n.subnet), 1n);
    const second = dual ? { device: d.underlay.dev, mtu: d.underlay.mtu, targetOf: (n: Node) => (n.v6 ? nthAddress(networkOf(n.v6.subnet), 1n) : undefined) } : undefined;
    return { device: d.underlay.dev, mtu: d.underlay.mtu, targetOf: gateway, ...(second ? { second } : {}) };
  }
  // An encapsulating backend: the peer's device holds its subnet's first address.
  const link6 = d.device6 ? deviceEntry(d.device6) : undefined;
  return {
    device: d.device, mtu: link.mtu, port: enc.port, overhead: enc.overhead,
    targetOf: (n) => networkOf(n.subnet).addr,
    ...(d.device6 && link6 ? { second: { device: d.device6, mtu: link6.mtu, targetOf: (n: Node) => (n.v6 ? networkOf(n.v6.subnet).addr : undefined) } } : {}),
  };
}

