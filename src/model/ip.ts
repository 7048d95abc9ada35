// IP addresses and prefixes as typed values.
//
// Everything that ends up on an `ip`/`bridge` batch line is printed from these
// types, never from a source's raw string: parsing canonicalises the text
// (no leading zeros, lower-case v6, compressed form), so a hostile string can
// not smuggle spaces, newlines or extra keywords through.

export type Family = 4 | 6;

export interface IP {
  readonly family: Family;
  /** Numeric value; v4 fits in 32 bits, v6 in 128. */
  readonly value: bigint;
  /** Canonical text form. */
  readonly text: string;
}

export interface Prefix {
  readonly family: Family;
  /** The address part as given (may have host bits set before alignment checks). */
  readonly addr: IP;
  readonly len: number;
  /** Canonical `addr/len` text. */
  readonly text: string;
}

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

export function bits(family: Family): number {
  return family === 4 ? 32 : 128;
}

/**
 * Dotted-quad to a number, or undefined. Decimal only, exactly four parts of
 * 1-3 digits, no leading zeros (inet_aton would read them as octal), each
 * <= 255. A char-code scan rather than split + regex + BigInt per octet:
 * this runs for every address of every peer, in the source and in the
 * kernel's answer (several times per peer per cycle).
 */
function parseV4Number(s: string): number | undefined {
  let v = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let leadingZero = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      v = v * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return undefined;
    if (leadingZero && digits > 0) return undefined;
    if (digits === 0) leadingZero = c === 48;
    if (++digits > 3) return undefined;
    octet = octet * 10 + (c - 48);
    if (octet > 255) return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return v * 256 + octet;
}

function parseV4(s: string): bigint | undefined {
  const n = parseV4Number(s);
  return n === undefined ? undefined : BigInt(n);
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.length > 45) return undefined;
  let head = s;
  let tailV4: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    tailV4 = parseV4(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.split('::');
  if (dbl.length > 2) return undefined;
  const groupsOf = (x: string): string[] | undefined => {
    if (x === '') return [];
    const g = x.split(':');
    return g.every((h) => /^[0-9a-fA-F]{1,4}$/.test(h)) ? g : undefined;
  };
  const left = groupsOf(dbl[0]);
  const right = dbl.length === 2 ? groupsOf(dbl[1]) : [];
  if (!left || !right) return undefined;
  let groups: string[];
  if (dbl.length === 2) {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...Array(missing).fill('0'), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

function formatV4(v: bigint): string {
  // One BigInt -> number conversion, then plain integer arithmetic (v < 2^32).
  const n = Number(v);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function formatV6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, leftmost on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

export function ipFromValue(family: Family, value: bigint): IP {
  const v = value & (family === 4 ? V4_MAX : V6_MAX);
  return { family, value: v, text: family === 4 ? formatV4(v) : formatV6(v) };
}

/** Parses an IPv4 or IPv6 address; undefined when it is not exactly one. */
export function parseIP(s: unknown): IP | undefined {
  if (typeof s !== 'string' || s.length === 0 || s.length > 45) return undefined;
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : ipFromValue(6, v);
  }
  const n = parseV4Number(s);
  // What parseV4Number accepts is canonical already (decimal, no leading
  // zeros): the text is the input, and the value needs no masking.
  return n === undefined ? undefined : { family: 4, value: BigInt(n), text: s };
}

function computeMask(family: Family, len: number): bigint {
  const b = BigInt(bits(family));
  const all = family === 4 ? V4_MAX : V6_MAX;
  return (all >> (b - BigInt(len))) << (b - BigInt(len)) & all;
}

// Masks are needed per prefix per peer (alignment, containment, network
// address); computing them costs four BigInt operations, looking them up none.
const MASKS4 = Array.from({ length: 33 }, (_, len) => computeMask(4, len));
const MASKS6 = Array.from({ length: 129 }, (_, len) => computeMask(6, len));

// IPv4 fast paths: an IPv4 value fits a double exactly, and 32-bit integer
// arithmetic on it allocates nothing, where every BigInt operation allocates
// a heap number. These run several times per peer per cycle (validation,
// planning, overlap checks). The BigInt paths stay for IPv6 and for prefix
// lengths outside 0..32 (which no parser produces).
/** The v4 netmask of each length as an unsigned 32-bit number. */
const MASKS4N = Array.from({ length: 33 }, (_, len) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0));

/** The v4 netmask of `len`, or undefined when `len` is not an integer in 0..32. */
function mask4(len: number): number | undefined {
  return MASKS4N[len];
}

/** An IPv4 value as a number. */
function num4(ip: IP): number {
  return Number(ip.value);
}

export function mask(family: Family, len: number): bigint {
  const table = family === 4 ? MASKS4 : MASKS6;
  // Out-of-range lengths are not cached; computeMask gives them the same answer as always.
  return (Number.isInteger(len) && len >= 0 ? table[len] : undefined) ?? computeMask(family, len);
}

export function makePrefix(addr: IP, len: number): Prefix {
  return { family: addr.family, addr, len, text: `${addr.text}/${len}` };
}

/** An IPv4 address from a number known to be a 32-bit unsigned integer. */
function ip4(n: number): IP {
  return { family: 4, value: BigInt(n), text: `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}` };
}

/** Parses `addr/len`; a bare address is not accepted (ambiguous in a config). */
export function parsePrefix(s: unknown): Prefix | undefined {
  if (typeof s !== 'string' || s.length > 50) return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  // The length: "0", or 1-3 digits without a leading zero.
  const digits = s.length - slash - 1;
  if (digits < 1 || digits > 3 || (digits > 1 && s.charCodeAt(slash + 1) === 48)) return undefined;
  let len = 0;
  for (let i = slash + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    len = len * 10 + (c - 48);
  }
  const addr = parseIP(s.slice(0, slash));
  if (!addr) return undefined;
  if (len > bits(addr.family)) return undefined;
  // An IPv4 address and a length as the regex above accepts them are
  // canonical text already: no need to build the same string again.
  return addr.family === 4 ? { family: 4, addr, len, text: s } : makePrefix(addr, len);
}

/** True when the prefix has no host bits set (10.244.1.0/24, not 10.244.1.5/24). */
export function isAligned(p: Prefix): boolean {
  const m4 = p.family === 4 ? mask4(p.len) : undefined;
  if (m4 !== undefined) return (num4(p.addr) & ~m4) === 0;
  return (p.addr.value & ~mask(p.family, p.len)) === 0n;
}

/** The prefix with its host bits cleared: `p` itself when it has none. */
export function networkOf(p: Prefix): Prefix {
  const m4 = p.family === 4 ? mask4(p.len) : undefined;
  if (m4 !== undefined) {
    const n = num4(p.addr);
    const net = (n & m4) >>> 0;
    // Prefixes are immutable values: an aligned one is its own network.
    return net === n ? p : makePrefix(ip4(net), p.len);
  }
  return makePrefix(ipFromValue(p.family, p.addr.value & mask(p.family, p.len)), p.len);
}

export function lastAddress(p: Prefix): IP {
  const m4 = p.family === 4 ? mask4(p.len) : undefined;
  if (m4 !== undefined) return ip4((num4(p.addr) | ~m4) >>> 0);
  const hostBits = (1n << BigInt(bits(p.family) - p.len)) - 1n;
  return ipFromValue(p.family, (p.addr.value & mask(p.family, p.len)) | hostBits);
}

export function prefixContainsIP(p: Prefix, ip: IP): boolean {
  if (p.family !== ip.family) return false;
  const m4 = p.family === 4 ? mask4(p.len) : undefined;
  if (m4 !== undefined) return ((num4(ip) ^ num4(p.addr)) & m4) === 0;
  const m = mask(p.family, p.len);
  return (ip.value & m) === (p.addr.value & m);
}

/** True when `inner` lies entirely inside `outer`. */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  return outer.family === inner.family && inner.len >= outer.len && prefixContainsIP(outer, inner.addr);
}

export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

/** The n-th address inside a prefix (0 = network address). */
export function nthAddress(p: Prefix, n: bigint): IP {
  return ipFromValue(p.family, (p.addr.value & mask(p.family, p.len)) + n);
}

/** What kind of unicast address this is not, if any: used to refuse hostile public IPs. */
export function nonUnicastReason(ip: IP): string | undefined {
  const v = ip.value;
  if (ip.family === 4) {
    const n = Number(v);
    const a = Math.floor(n / 0x1000000);
    if (n === 0) return 'unspecified';
    if (a === 0) return 'in 0.0.0.0/8 ("this network")';
    if (a === 127) return 'loopback';
    if (a >= 224 && a <= 239) return 'multicast';
    if (v === V4_MAX) return 'broadcast';
    if (a >= 240) return 'reserved (240.0.0.0/4)';
    if (a === 169 && ((n >>> 16) & 255) === 254) return 'link-local';
    return undefined;
  }
  if (v === 0n) return 'unspecified';
  if (v === 1n) return 'loopback';
  if (v >> 120n === 0xffn) return 'multicast';
  if (v >> 118n === 0x3fan) return 'link-local';
  if (v >> 32n === 0xffffn) return 'IPv4-mapped';
  return undefined;
}

/** Sort key helper: compare two IPs (same family assumed; v4 before v6). */
export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
