// The udp backend's data plane, flannel's proxy in user space: IPv4 packets
// the kernel routes into the TUN device go, whole, as the payload of one UDP
// datagram to the peer owning the destination subnet; datagrams from peers
// are written back into the TUN. The decisions live in packet.ts.
import { createSocket, type Socket } from 'node:dgram';
import { read, writeSync } from 'node:fs';
import type { IP, Prefix } from '../../model/ip.js';
import { decrementTtl, icmpNetUnreachable, ipv4ToNumber, parseIpv4, PeerTable } from './packet.js';
import { closeFd, openTun, udpSocket } from './tun.js';

export interface UdpPeer {
  name: string;
  subnet: Prefix;
  publicIP: IP;
}

export interface ForwarderOptions {
  device: string;
  /** Called for problems the forwarder meets while running (it never throws then). */
  onError: (message: string) => void;
  /**
   * The network namespace (a path, /run/netns/NAME) the TUN and the socket
   * are created in, for `daemon --netns`; this process's own when undefined.
   */
  netns?: string;
}

export interface ForwarderConfig {
  port: number;
  /** The node's public IP: the socket binds to it, so datagrams leave from it. */
  bindIP: IP;
  /** Largest packet the TUN hands over (its MTU). */
  mtu: number;
  peers: readonly UdpPeer[];
}

export interface ForwarderStats {
  tunToUdp: number;
  udpToTun: number;
  /** Destination owned by no peer: answered with ICMP net-unreachable. */
  unreachable: number;
  ttlExpired: number;
  /** Not IPv4, malformed, or a datagram from an address that is not a peer. */
  dropped: number;
}

function toNumber(ip: IP): number {
  const n = ipv4ToNumber(ip.text);
  if (n === undefined) throw new Error(`udp forwarder: ${ip.text} is not IPv4`);
  return n;
}

export class UdpForwarder {
  private table = new PeerTable<string>([]);
  /** Public IPs of peers: datagrams from anything else are dropped. */
  private peerIPs = new Set<string>();
  private fd = -1;
  private reading = false;
  private reattach?: NodeJS.Timeout;
  private socket?: Socket;
  private socketKey = '';
  private port = 0;
  private mtu = 1500;
  private closed = false;
  readonly stats: ForwarderStats = { tunToUdp: 0, udpToTun: 0, unreachable: 0, ttlExpired: 0, dropped: 0 };

  constructor(private readonly o: ForwarderOptions) {}

  /**
   * Applies the node's current view: attaches to the device if not yet,
   * rebinds the socket when the port or address changed, and replaces the
   * peer table (effective for the next packet). Throws when the device or the
   * port cannot be had; the previous state then stays in use.
   */
  async configure(c: ForwarderConfig): Promise<void> {
    if (this.closed) throw new Error('udp forwarder: closed');
    this.mtu = c.mtu;
    this.port = c.port;
    this.setPeers(c.peers);
    if (this.fd < 0) this.attach();
    const key = `${c.bindIP.text}:${c.port}`;
    if (key !== this.socketKey) {
      this.socket?.close();
      this.socket = undefined;
      this.socketKey = '';
      this.socket = this.bind(c.bindIP, c.port);
      this.socketKey = key;
    }
  }

  get attached(): boolean {
    return this.fd >= 0;
  }

  get peerCount(): number {
    return this.table.size;
  }

  private attach(): void {
    this.fd = openTun(this.o.device, this.o.netns);
    this.readLoop(this.fd);
  }

  private bind(ip: IP, port: number): Socket {
    // Created by the addon (in the node's namespace with --netns) and handed
    // to dgram: dgram creates its own sockets later, on the thread's current
    // namespace, which may not be the node's. Bound without SO_REUSEADDR, so a
    // second forwarder (flanneld?) on the port is an error, not a silent share.
    const fd = udpSocket(ip.text, port, this.o.netns);
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    s.on('error', (e) => this.o.onError(`udp socket: ${e.message}`));
    s.on('message', (msg, rinfo) => this.fromPeer(msg, rinfo.address));
    try {
      s.bind({ fd });
    } catch (e) {
      closeFd(fd);
      throw new Error(`cannot use the udp socket ${ip.text}:${port}: ${(e as Error).message}`);
    }
    return s;
  }

  /** Replaces the peer table; takes effect for the next packet. */
  setPeers(peers: readonly UdpPeer[]): void {
    this.table = new PeerTable(peers.map((p) => ({ network: toNumber(p.subnet.addr), len: p.subnet.len, peer: p.publicIP.text })));
    this.peerIPs = new Set(peers.map((p) => p.publicIP.text));
  }

  private readLoop(fd: number): void {
    // One blocking read at a time on a libuv worker thread: the TUN hands
    // over one packet per read. A pending read ends at the next packet, when
    // the device is deleted, or when the process exits; the descriptor is
    // closed only once no read uses it, so its number can not be reused under it.
    const buf = Buffer.allocUnsafe(Math.max(this.mtu, 576));
    this.reading = true;
    read(fd, buf, 0, buf.length, null, (err, n) => {
      this.reading = false;
      if (this.closed || fd !== this.fd) {
        closeFd(fd);
        return;
      }
      if (err) {
        // The device was deleted (and is being recreated by the next cycle): attach again once it is back.
        this.o.onError(`reading ${this.o.device}: ${err.message}; attaching again`);
        closeFd(fd);
        this.fd = -1;
        this.scheduleReattach();
        return;
      }
      this.fromTun(buf.subarray(0, n));
      this.readLoop(fd);
    });
  }

  private scheduleReattach(): void {
    this.reattach = setTimeout(() => {
      this.reattach = undefined;
      if (this.closed || this.fd >= 0) return;
      try {
        this.attach();
      } catch (e) {
        this.o.onError((e as Error).message);
        this.scheduleReattach();
      }
    }, 1000);
    this.reattach.unref();
  }

  private fromTun(p: Buffer): void {
    const h = parseIpv4(p);
    if (!h) {
      this.stats.dropped++;
      return;
    }
    const peer = this.table.lookup(h.dst);
    if (peer === undefined) {
      this.stats.unreachable++;
      // From the unreachable address itself: an answer from one of this
      // host's own addresses (flannel0's .0) arriving on flannel0 is a
      // martian to the kernel (local source) and would be dropped.
      const icmp = icmpNetUnreachable(p, h.dst);
      if (icmp) this.toTun(icmp);
      return;
    }
    if (!decrementTtl(p)) {
      this.stats.ttlExpired++;
      return;
    }
    if (!this.socket) {
      this.stats.dropped++;
      return;
    }
    this.stats.tunToUdp++;
    // `p` is this read's own buffer (a new one per read), so it may be queued as is.
    this.socket.send(p.subarray(0, h.totalLen), this.port, peer);
  }

  private fromPeer(msg: Buffer, from: string): void {
    if (!this.peerIPs.has(from) || !parseIpv4(msg)) {
      this.stats.dropped++;
      return;
    }
    this.stats.udpToTun++;
    this.toTun(msg);
  }

  private toTun(p: Uint8Array): void {
    if (this.closed || this.fd < 0) return;
    try {
      // A TUN write never blocks (the packet is handed to the stack), so it stays on this thread, in order.
      writeSync(this.fd, p);
    } catch (e) {
      this.stats.dropped++;
      this.o.onError(`writing ${this.o.device}: ${(e as Error).message}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reattach) clearTimeout(this.reattach);
    try {
      this.socket?.close();
    } catch {
      // not bound
    }
    // A pending read closes the descriptor when it returns.
    if (this.fd >= 0 && !this.reading) closeFd(this.fd);
    this.fd = -1;
  }
}
