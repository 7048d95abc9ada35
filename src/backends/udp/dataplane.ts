// Keeps the udp forwarder in step with the daemon's cycles: started on the
// first successful cycle of a udp cluster (the device exists by then), given
// the new peer table after every cycle, so peers joining or leaving the
// source take effect without a restart.
import type { DesiredState, NetworkConfig } from '../../model/types.js';
import type { DataPlane, DataPlaneLog } from '../types.js';
import { UdpForwarder } from './forwarder.js';
import { netnsPath } from './tun.js';

export class UdpDataPlane implements DataPlane {
  readonly name = 'udp forwarder';
  private fwd?: UdpForwarder;
  private lastPeers = -1;
  /** Configured successfully once: "running" is logged then, not when a failed first start is retried. */
  private started = false;

  constructor(private readonly log: DataPlaneLog, private readonly netns: string | undefined) {}

  /** Throws on failure: the daemon logs it once per streak and calls again on the next cycle. */
  async sync(config: NetworkConfig, desired: DesiredState): Promise<void> {
    const b = config.backend;
    if (b.type !== 'udp' || !desired.device) return;
    const local = desired.local;
    const tun = desired.entries.find((e) => e.kind === 'tun');
    this.fwd ??= new UdpForwarder({
      device: desired.device,
      // With --netns the device and the socket live in the node's namespace, whichever namespace this process runs in.
      netns: this.netns === undefined ? undefined : netnsPath(this.netns),
      onError: (m) => this.log.warn(`udp forwarder: ${m}`),
    });
    await this.fwd.configure({
      port: b.port,
      bindIP: desired.underlay.local ?? local.publicIP,
      mtu: tun && tun.kind === 'tun' ? tun.mtu : 1500,
      peers: desired.peers.map((p) => ({ name: p.node.name, subnet: p.node.subnet, publicIP: p.node.publicIP })),
    });
    if (!this.started) this.log.info('udp forwarder running', { device: desired.device, listen: `${local.publicIP.text}:${b.port}`, peers: this.fwd.peerCount });
    else if (this.fwd.peerCount !== this.lastPeers) this.log.info('udp forwarder peers updated', { peers: this.fwd.peerCount });
    this.lastPeers = this.fwd.peerCount;
    this.started = true;
  }

  get stats() {
    return this.fwd?.stats;
  }

  close(): void {
    this.fwd?.close();
    this.fwd = undefined;
  }
}
