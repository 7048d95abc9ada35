// Packet captures for end-to-end tests: tcpdump in a test namespace writes
// pcap to our stdin pipe (no file, so no privilege drop or profile decides
// where it may write), and the frames are parsed here, so an assertion looks
// at the bytes on the wire rather than at tcpdump's text. Always stop() in a
// finally.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Frame {
  /** Ethertype: 0x0800 IPv4, 0x86dd IPv6, 0x0806 ARP. */
  etherType: number;
  /** IPv4: the protocol (17 UDP, 1 ICMP), addresses and UDP ports; IPv6: the first next header (58 ICMPv6, 0 hop-by-hop). */
  proto?: number;
  src?: string;
  dst?: string;
  srcPort?: number;
  dstPort?: number;
  /** The whole frame as captured. */
  bytes: Buffer;
}

/** Parses a classic pcap stream with Ethernet frames (tcpdump -w on an Ethernet device). */
export function parsePcap(buf: Buffer): Frame[] {
  if (buf.length < 24) throw new Error(`pcap: ${buf.length} bytes, shorter than the header`);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && buf.readUInt32BE(0) !== 0xa1b2c3d4 && buf.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`pcap: bad magic ${magic.toString(16)}`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (u32(20) !== 1) throw new Error(`pcap: link type ${u32(20)}, expected Ethernet (1)`);
  const frames: Frame[] = [];
  for (let o = 24; o + 16 <= buf.length;) {
    const len = u32(o + 8);
    const bytes = buf.subarray(o + 16, o + 16 + len);
    o += 16 + len;
    if (bytes.length < len || len < 14) break; // cut short when the capture stopped
    const etherType = bytes.readUInt16BE(12);
    const f: Frame = { etherType, bytes };
    if (etherType === 0x0800 && len >= 34) {
      const ihl = (bytes[14] & 0x0f) * 4;
      f.proto = bytes[23];
      f.src = [...bytes.subarray(26, 30)].join('.');
      f.dst = [...bytes.subarray(30, 34)].join('.');
      if (f.proto === 17 && len >= 14 + ihl + 4) {
        f.srcPort = bytes.readUInt16BE(14 + ihl);
        f.dstPort = bytes.readUInt16BE(14 + ihl + 2);
      }
    }
    if (etherType === 0x86dd && len >= 54) f.proto = bytes[20];
    frames.push(f);
  }
  return frames;
}

export class Capture {
  private readonly child: ChildProcess;
  private readonly chunks: Buffer[] = [];
  private err = '';
  private readonly exited: Promise<void>;

  private constructor(netns: string, dev: string) {
    // --immediate-mode: packets reach tcpdump at once, not when a ring block fills or times out (a
    // stop right after the traffic would otherwise find them "received by filter" but not captured);
    // -U: each is written at once; -s 0: whole frames.
    this.child = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-i', dev, '-n', '--immediate-mode', '-U', '-s', '0', '-w', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => this.chunks.push(d));
    this.child.stderr!.on('data', (d) => { this.err += String(d); });
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
  }

  /** Starts tcpdump on `dev` in `netns` and waits until it captures ("listening on"). */
  static async start(netns: string, dev: string): Promise<Capture> {
    const c = new Capture(netns, dev);
    const deadline = Date.now() + 15_000;
    while (!/listening on/.test(c.err)) {
      if (c.child.exitCode !== null || Date.now() > deadline) {
        c.child.kill('SIGKILL');
        throw new Error(`tcpdump on ${dev} in ${netns} did not start: ${c.err}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return c;
  }

  /** What tcpdump said (its counts, once stopped), for assertion messages. */
  get stderr(): string {
    return this.err.trim();
  }

  /**
   * Stops tcpdump and returns the frames it saw. It is first left to run
   * until nothing new arrived for `quietMs` (at most 5 s): on SIGINT tcpdump
   * ends at once, and a packet the kernel already handed to its socket but
   * it had not read yet would be missing ("received by filter", not "captured").
   */
  async stop(quietMs = 300): Promise<Frame[]> {
    const bytes = () => this.chunks.reduce((n, c) => n + c.length, 0);
    const until = Date.now() + 5000;
    for (let seen = -1; seen !== bytes() && Date.now() < until;) {
      seen = bytes();
      await new Promise((r) => setTimeout(r, quietMs));
    }
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise<void>((r) => { timer = setTimeout(() => { this.child.kill('SIGKILL'); r(); }, 5000); })]);
    clearTimeout(timer);
    await this.exited;
    return parsePcap(Buffer.concat(this.chunks));
  }
}
