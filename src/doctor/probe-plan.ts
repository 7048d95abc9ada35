// Which address each peer is probed at, through which device and at which
// size: shared by `ovlnet doctor` and the daemon's probes. Pure.
import type { Snapshot } from '../engine/cycle.js';
import { networkOf, nthAddress, type IP } from '../model/ip.js';
import type { Node } from '../model/types.js';

/**
 * Bytes the encapsulation adds, as the backends plan them (VXLAN_OVERHEAD,
 * UDP_OVERHEAD; a unit test keeps them equal). Not imported: this module is
 * in doctor's and the daemon's static import graph, and importing a backend
 * module from here split the plan's bundle chunks (plan of a YAML file then
 * loaded 40 files, over test/e2e/bundle.test.ts's limit).
 */
export const ENCAPSULATION = { vxlan: 50, udp: 28 } as const;

/** The address doctor probes through the overlay and what it routes by, per backend. */
export interface ProbePlan {
  device: string;
  mtu: number;
  port?: number;
  overhead?: number;
  targetOf(n: Node): IP;
}

export function probePlan(snap: Pick<Snapshot, 'desired' | 'cluster'>): ProbePlan {
  const d = snap.desired;
  const cfg = snap.cluster.config.backend;
  const link = d.entries.find((e) => (e.kind === 'link' || e.kind === 'tun') && e.name === d.device) as { mtu: number } | undefined;
  if (cfg.type === 'host-gw' || !d.device || !link) {
    // host-gw: no device of its own; the peer's pod gateway (its cni0) answers.
    return { device: d.underlay.dev, mtu: d.underlay.mtu, targetOf: (n) => nthAddress(networkOf(n.subnet), 1n) };
  }
  // vxlan and udp: the peer's device holds its subnet's first address.
  return {
    device: d.device, mtu: link.mtu, port: cfg.port, overhead: cfg.type === 'vxlan' ? ENCAPSULATION.vxlan : ENCAPSULATION.udp,
    targetOf: (n) => networkOf(n.subnet).addr,
  };
}

