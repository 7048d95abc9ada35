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
export const ENCAPSULATION = { vxlan: 50, udp: 28, wireguard: 60 } as const;

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
  const cfg = snap.cluster.config.backend;
  // The backend's device entry, whatever its kind: the one entry with that name and an MTU.
  const deviceEntry = (name: string | undefined) => d.entries.find((e) => 'mtu' in e && 'name' in e && e.name === name) as { mtu: number } | undefined;
  const link = deviceEntry(d.device);
  const dual = snap.cluster.config.ipv6 !== undefined && d.local.v6 !== undefined;
  if (cfg.type === 'host-gw' || !d.device || !link) {
    // host-gw: no device of its own; the peer's pod gateway (its cni0) answers.
    const gateway = (n: Node) => nthAddress(networkOf(n.subnet), 1n);
    const second = dual ? { device: d.underlay.dev, mtu: d.underlay.mtu, targetOf: (n: Node) => (n.v6 ? nthAddress(networkOf(n.v6.subnet), 1n) : undefined) } : undefined;
    return { device: d.underlay.dev, mtu: d.underlay.mtu, targetOf: gateway, ...(second ? { second } : {}) };
  }
  // vxlan, udp and wireguard: the peer's device holds its subnet's first address.
  const link6 = d.device6 ? deviceEntry(d.device6) : undefined;
  return {
    device: d.device, mtu: link.mtu, port: cfg.type === 'wireguard' ? cfg.listenPort : cfg.port, overhead: ENCAPSULATION[cfg.type],
    targetOf: (n) => networkOf(n.subnet).addr,
    ...(d.device6 && link6 ? { second: { device: d.device6, mtu: link6.mtu, targetOf: (n: Node) => (n.v6 ? networkOf(n.v6.subnet).addr : undefined) } } : {}),
  };
}

