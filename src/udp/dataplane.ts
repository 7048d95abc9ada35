// Keeps the udp forwarder in step with the daemon's cycles: started on the
// first successful cycle of a udp cluster (the device exists by then), given
// the new peer table after every cycle, so peers joining or leaving the
// source take effect without a restart.
import type { Snapshot } from '../engine/cycle.js';
import { FailureStreak, type Logger } from '../daemon/logger.js';
import { UdpForwarder } from './forwarder.js';
import { netnsInode } from './tun.js';

export class UdpDataPlane {
  private fwd?: UdpForwarder;
  private readonly streak: FailureStreak;
  private lastPeers = -1;
  /** Why the data plane is down while the cluster uses udp (readiness); undefined when it runs or is not needed. */
  down?: string;

  constructor(private readonly log: Logger, private readonly netns: string | undefined, now: () => number = Date.now) {
    this.streak = new FailureStreak(log, 'udp forwarder', now);
  }

  /** Never throws: a failure is logged once per streak and retried on the next cycle. */
  async sync(snap: Snapshot): Promise<void> {
    const b = snap.cluster.config.backend;
    if (b.type !== 'udp' || !snap.desired.device) {
      this.down = undefined;
      return;
    }
    try {
      this.checkNamespace();
      const local = snap.desired.local;
      const tun = snap.desired.entries.find((e) => e.kind === 'tun');
      const fresh = !this.fwd;
      this.fwd ??= new UdpForwarder({ device: snap.desired.device, onError: (m) => this.log.warn(`udp forwarder: ${m}`) });
      await this.fwd.configure({
        port: b.port,
        bindIP: snap.desired.underlay.local ?? local.publicIP,
        mtu: tun && tun.kind === 'tun' ? tun.mtu : 1500,
        peers: snap.desired.peers.map((p) => ({ name: p.node.name, subnet: p.node.subnet, publicIP: p.node.publicIP })),
      });
      if (fresh) this.log.info('udp forwarder running', { device: snap.desired.device, listen: `${local.publicIP.text}:${b.port}`, peers: this.fwd.peerCount });
      else if (this.fwd.peerCount !== this.lastPeers) this.log.info('udp forwarder peers updated', { peers: this.fwd.peerCount });
      this.lastPeers = this.fwd.peerCount;
      this.down = undefined;
      this.streak.ok();
    } catch (e) {
      const err = e as Error & { hint?: string };
      this.down = `udp forwarder: ${err.message}`;
      this.streak.fail(err.message, { hint: err.hint });
    }
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
