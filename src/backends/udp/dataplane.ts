// Keeps the udp forwarder in step with the daemon's cycles: started on the
// first successful cycle of a udp cluster (the device exists by then), given
// the new peer table after every cycle, so peers joining or leaving the
// source take effect without a restart.
import type { DesiredState, NetworkConfig } from '../../model/types.js';
import type { DataPlane, DataPlaneLog } from '../types.js';
import { UdpForwarder } from './forwarder.js';
import { netnsInode } from './tun.js';

export class UdpDataPlane implements DataPlane {
  readonly name = 'udp forwarder';
  private fwd?: UdpForwarder;
  private lastPeers = -1;

  constructor(private readonly log: DataPlaneLog, private readonly netns: string | undefined) {}

  /** Throws on failure: the daemon logs it once per streak and calls again on the next cycle. */
  async sync(config: NetworkConfig, desired: DesiredState): Promise<void> {
    const b = config.backend;
    if (b.type !== 'udp' || !desired.device) return;
    this.checkNamespace();
    const local = desired.local;
    const tun = desired.entries.find((e) => e.kind === 'tun');
    const fresh = !this.fwd;
    this.fwd ??= new UdpForwarder({ device: desired.device, onError: (m) => this.log.warn(`udp forwarder: ${m}`) });
    await this.fwd.configure({
      port: b.port,
      bindIP: desired.underlay.local ?? local.publicIP,
      mtu: tun && tun.kind === 'tun' ? tun.mtu : 1500,
      peers: desired.peers.map((p) => ({ name: p.node.name, subnet: p.node.subnet, publicIP: p.node.publicIP })),
    });
    if (fresh) this.log.info('udp forwarder running', { device: desired.device, listen: `${local.publicIP.text}:${b.port}`, peers: this.fwd.peerCount });
    else if (this.fwd.peerCount !== this.lastPeers) this.log.info('udp forwarder peers updated', { peers: this.fwd.peerCount });
    this.lastPeers = this.fwd.peerCount;
  }

  /**
   * A process has one network namespace: with --netns the kernel part is
   * programmed there, but the socket and the TUN would live here. Allowed only
   * when this process already runs inside that namespace (ip netns exec).
   */
  private checkNamespace(): void {
    if (!this.netns) return;
    const self = netnsInode('/proc/self/ns/net');
    const target = netnsInode(`/run/netns/${this.netns}`);
    if (self === undefined || self !== target) {
      throw Object.assign(new Error(`the udp forwarder must run inside network namespace ${this.netns}, and this daemon does not`),
        { hint: `run it as: ip netns exec ${this.netns} ovlnet daemon ... (--netns is then not needed)` });
    }
  }

  get stats() {
    return this.fwd?.stats;
  }

  close(): void {
    this.fwd?.close();
    this.fwd = undefined;
  }
}
