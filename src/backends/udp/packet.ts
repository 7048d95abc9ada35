// IPv4 packet handling for the udp forwarder, on raw buffers. Pure: every
// function takes bytes and returns bytes or a verdict; the forwarder does
// the I/O. Offsets follow RFC 791; checksums RFC 1071 and RFC 1624.

export const IPV4_MIN_HEADER = 20;
export const ICMP_PROTO = 1;
/** ICMP errors never answer ICMP errors (RFC 1122 3.2.2). */
const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);

export interface Ipv4Header {
  headerLen: number;
  totalLen: number;
  ttl: number;
  protocol: number;
  /** Fragment offset in 8-byte units; only the first fragment carries the transport header. */
  fragOffset: number;
  src: number;
  dst: number;
}

/** The IPv4 header of `p`, or undefined for anything that is not a well-formed IPv4 packet. */
export function parseIpv4(p: Uint8Array): Ipv4Header | undefined {
  if (p.length < IPV4_MIN_HEADER || p[0] >> 4 !== 4) return undefined;
  const headerLen = (p[0] & 0x0f) * 4;
  const totalLen = (p[2] << 8) | p[3];
  if (headerLen < IPV4_MIN_HEADER || totalLen < headerLen || totalLen > p.length) return undefined;
  return {
    headerLen, totalLen, ttl: p[8], protocol: p[9],
    fragOffset: ((p[6] & 0x1f) << 8) | p[7],
    src: readU32(p, 12), dst: readU32(p, 16),
  };
}

function readU32(p: Uint8Array, o: number): number {
  return ((p[o] << 24) | (p[o + 1] << 16) | (p[o + 2] << 8) | p[o + 3]) >>> 0;
}

function writeU32(p: Uint8Array, o: number, v: number): void {
  p[o] = v >>> 24;
  p[o + 1] = (v >>> 16) & 0xff;
  p[o + 2] = (v >>> 8) & 0xff;
  p[o + 3] = v & 0xff;
}

/** The Internet checksum (RFC 1071) of p[start, end). */
export function checksum(p: Uint8Array, start = 0, end = p.length): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (i < end) sum += p[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Decrements the TTL in place and patches the header checksum incrementally
 * (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')). False when the packet must be
 * dropped: its TTL was 0 or 1, so it would leave with 0 (flannel drops these
 * silently too).
 */
export function decrementTtl(p: Uint8Array): boolean {
  const ttl = p[8];
  if (ttl <= 1) return false;
  const oldWord = (ttl << 8) | p[9];
  const newWord = ((ttl - 1) << 8) | p[9];
  let sum = (~((p[10] << 8) | p[11]) & 0xffff) + (~oldWord & 0xffff) + newWord;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const hc = ~sum & 0xffff;
  p[8] = ttl - 1;
  p[10] = hc >>> 8;
  p[11] = hc & 0xff;
  return true;
}

function isUnicastV4(a: number): boolean {
  const top = a >>> 24;
  return a !== 0 && a !== 0xffffffff && top !== 0 && top !== 127 && top < 224;
}

/**
 * The ICMP "destination unreachable, network unreachable" (type 3 code 0)
 * answer to `orig`, from `from`, as flannel's proxy sends it back into the
 * TUN; undefined when RFC 1122 says not to answer (ICMP errors, non-first
 * fragments, non-unicast source or destination).
 */
export function icmpNetUnreachable(orig: Uint8Array, from: number): Uint8Array | undefined {
  const h = parseIpv4(orig);
  if (!h || h.fragOffset !== 0 || !isUnicastV4(h.src) || !isUnicastV4(h.dst)) return undefined;
  if (h.protocol === ICMP_PROTO && (orig.length <= h.headerLen || ICMP_ERROR_TYPES.has(orig[h.headerLen]))) return undefined;
  // The offending header and the first 8 bytes of its payload (RFC 792).
  const quoted = orig.subarray(0, Math.min(h.totalLen, h.headerLen + 8));
  const icmpLen = 8 + quoted.length;
  const out = new Uint8Array(IPV4_MIN_HEADER + icmpLen);
  out[0] = 0x45;
  out[2] = out.length >>> 8;
  out[3] = out.length & 0xff;
  out[8] = 64;
  out[9] = ICMP_PROTO;
  writeU32(out, 12, from);
  writeU32(out, 16, h.src);
  const ck = checksum(out, 0, IPV4_MIN_HEADER);
  out[10] = ck >>> 8;
  out[11] = ck & 0xff;
  const icmp = IPV4_MIN_HEADER;
  out[icmp] = 3;
  out[icmp + 1] = 0;
  out.set(quoted, icmp + 8);
  const ick = checksum(out, icmp, out.length);
  out[icmp + 2] = ick >>> 8;
  out[icmp + 3] = ick & 0xff;
  return out;
}

export function ipv4ToNumber(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

export interface PeerRoute<T> {
  /** Network address of the peer's subnet, as a 32-bit number. */
  network: number;
  len: number;
  peer: T;
}

/**
 * Longest-prefix match over the peers' subnets: one map per prefix length,
 * tried longest first. Flannel subnets share one length, so a lookup is one
 * mask and one map probe; it stays O(distinct lengths) whatever the count.
 */
export class PeerTable<T> {
  private readonly byLen: Array<[number, Map<number, T>]>;
  readonly size: number;

  constructor(routes: ReadonlyArray<PeerRoute<T>>) {
    const m = new Map<number, Map<number, T>>();
    for (const r of routes) {
      if (!Number.isInteger(r.len) || r.len < 0 || r.len > 32) throw new RangeError(`prefix length ${r.len}`);
      let t = m.get(r.len);
      if (!t) m.set(r.len, (t = new Map()));
      t.set(maskOf(r.network, r.len), r.peer);
    }
    this.byLen = [...m.entries()].sort((a, b) => b[0] - a[0]);
    this.size = routes.length;
  }

  lookup(dst: number): T | undefined {
    for (const [len, t] of this.byLen) {
      const p = t.get(maskOf(dst, len));
      if (p !== undefined) return p;
    }
    return undefined;
  }
}

function maskOf(a: number, len: number): number {
  return len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0;
}
