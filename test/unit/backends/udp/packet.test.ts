// The udp forwarder's pure packet functions: checksum, TTL, ICMP, lookup.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  checksum, decrementTtl, icmpNetUnreachable, ipv4ToNumber, numberToIpv4, parseIpv4, PeerTable,
} from '../../../../src/backends/udp/packet.js';

const n = (s: string) => {
  const v = ipv4ToNumber(s);
  if (v === undefined) throw new Error(`fixture: ${s}`);
  return v;
};

/** An IPv4 packet with a correct header checksum. */
function packet(o: { src?: string; dst?: string; ttl?: number; proto?: number; payload?: number[]; frag?: number; ihl?: number } = {}): Uint8Array {
  const ihl = o.ihl ?? 5;
  const payload = o.payload ?? [8, 0, 0, 0, 0, 1, 0, 1, 0xde, 0xad, 0xbe, 0xef];
  const p = new Uint8Array(ihl * 4 + payload.length);
  p[0] = 0x40 | ihl;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[4] = 0x12;
  p[5] = 0x34;
  p[6] = ((o.frag ?? 0) >> 8) & 0x1f;
  p[7] = (o.frag ?? 0) & 0xff;
  p[8] = o.ttl ?? 64;
  p[9] = o.proto ?? 1;
  new DataView(p.buffer).setUint32(12, n(o.src ?? '198.18.0.5'));
  new DataView(p.buffer).setUint32(16, n(o.dst ?? '198.18.1.7'));
  p.set(payload, ihl * 4);
  const ck = checksum(p, 0, ihl * 4);
  p[10] = ck >> 8;
  p[11] = ck & 0xff;
  return p;
}

test('checksum: RFC 1071 examples and a header that sums to zero once filled in', () => {
  const rows: Array<[number[], number]> = [
    [[], 0xffff],
    [[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0x220d], // RFC 1071 section 3: sum ddf2 -> ~ 220d
    [[0xff, 0xff], 0x0000],
    [[0x01], 0xfeff], // odd length: padded with a zero byte
  ];
  for (const [bytes, want] of rows) assert.is(checksum(Uint8Array.from(bytes)), want, JSON.stringify(bytes));
  const p = packet();
  assert.is(checksum(p, 0, 20), 0, 'a valid header checks to 0');
});

test('parseIpv4: well-formed packets only', () => {
  assert.equal(parseIpv4(packet({ ttl: 9, proto: 17 })), {
    headerLen: 20, totalLen: 32, ttl: 9, protocol: 17, fragOffset: 0, src: n('198.18.0.5'), dst: n('198.18.1.7'),
  });
  assert.is(parseIpv4(packet({ ihl: 6 }))!.headerLen, 24);
  assert.is(parseIpv4(packet({ frag: 185 }))!.fragOffset, 185);
  const bad: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['short', packet().subarray(0, 19)],
    ['IPv6', Uint8Array.from([0x60, ...new Array(39).fill(0)])],
    ['IHL 4', (() => { const p = packet(); p[0] = 0x44; return p; })()],
    ['total length beyond the buffer', (() => { const p = packet(); p[3] += 1; return p; })()],
    ['total length below the header', (() => { const p = packet(); p[2] = 0; p[3] = 10; return p; })()],
  ];
  for (const [name, p] of bad) assert.is(parseIpv4(p), undefined, name);
});

test('decrementTtl: TTL - 1 with a checksum equal to a full recomputation; 0 and 1 are dropped', () => {
  const rows: Array<[number, number | 'drop']> = [[64, 63], [255, 254], [2, 1], [1, 'drop'], [0, 'drop']];
  for (const [ttl, want] of rows) {
    const p = packet({ ttl });
    const before = Uint8Array.from(p);
    const ok = decrementTtl(p);
    if (want === 'drop') {
      assert.is(ok, false, `ttl ${ttl}`);
      assert.equal(p, before, 'a dropped packet is left as it was');
      continue;
    }
    assert.is(ok, true);
    assert.is(p[8], want);
    assert.is(checksum(p, 0, 20), 0, `checksum still valid at ttl ${ttl}`);
  }
});

test('decrementTtl property: incremental checksum == recomputed for any header', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 2, max: 255 }), (h, ttl) => {
    const p = Uint8Array.from(h);
    p[0] = 0x45;
    p[8] = ttl;
    p[10] = 0;
    p[11] = 0;
    const ck = checksum(p, 0, 20);
    p[10] = ck >> 8;
    p[11] = ck & 0xff;
    decrementTtl(p);
    const got = (p[10] << 8) | p[11];
    p[10] = 0;
    p[11] = 0;
    const full = checksum(p, 0, 20);
    // 0x0000 and 0xffff are the same value in one's complement.
    return got === full || (got ^ full) === 0xffff;
  }), { seed: 4242, numRuns: 2000 });
});

test('icmpNetUnreachable: type 3 code 0 back to the sender, quoting header + 8 bytes, valid checksums', () => {
  const orig = packet({ src: '198.18.0.5', dst: '198.18.77.1', ttl: 63, proto: 17, payload: [0x30, 0x39, 0x00, 0x35, 0, 12, 0xab, 0xcd, 1, 2, 3, 4] });
  const r = icmpNetUnreachable(orig, n('198.18.0.0'))!;
  const h = parseIpv4(r)!;
  assert.equal([numberToIpv4(h.src), numberToIpv4(h.dst), h.protocol, h.ttl, h.totalLen], ['198.18.0.0', '198.18.0.5', 1, 64, 20 + 8 + 28]);
  assert.is(checksum(r, 0, 20), 0, 'IP header checksum');
  assert.is(checksum(r, 20, r.length), 0, 'ICMP checksum');
  assert.equal([r[20], r[21]], [3, 0]);
  assert.equal(r.subarray(28), orig.subarray(0, 28));
  const short = packet({ payload: [1, 2, 3], proto: 6 });
  assert.equal(icmpNetUnreachable(short, 1)!.subarray(28), short, 'a payload shorter than 8 bytes is quoted whole');
});

test('icmpNetUnreachable: no answer where RFC 1122 forbids one', () => {
  const rows: Array<[string, Uint8Array]> = [
    ['an ICMP error (unreachable)', packet({ payload: [3, 0, 0, 0, 0, 0, 0, 0] })],
    ['an ICMP error (time exceeded)', packet({ payload: [11, 0, 0, 0, 0, 0, 0, 0] })],
    ['a non-first fragment', packet({ frag: 10 })],
    ['from 0.0.0.0', packet({ src: '0.0.0.0' })],
    ['from multicast', packet({ src: '224.0.0.1' })],
    ['to broadcast', packet({ dst: '255.255.255.255' })],
    ['to multicast', packet({ dst: '239.1.1.1' })],
    ['not IPv4', Uint8Array.from([0x60, ...new Array(39).fill(0)])],
  ];
  for (const [name, p] of rows) assert.is(icmpNetUnreachable(p, 1), undefined, name);
  assert.ok(icmpNetUnreachable(packet({ payload: [8, 0, 0, 0, 0, 0, 0, 0] }), 1), 'an echo request is answered');
});

test('ipv4 text <-> number', () => {
  const rows: Array<[string, number | undefined]> = [
    ['0.0.0.0', 0], ['255.255.255.255', 0xffffffff], ['198.18.1.0', 0xc6120100], ['256.0.0.1', undefined], ['1.2.3', undefined], ['::1', undefined],
  ];
  for (const [s, want] of rows) {
    assert.is(ipv4ToNumber(s), want, s);
    if (want !== undefined) assert.is(numberToIpv4(want), s);
  }
});

test('PeerTable: longest prefix wins; unknown destinations miss', () => {
  const t = new PeerTable([
    { network: n('198.18.1.0'), len: 24, peer: 'b' },
    { network: n('198.18.2.0'), len: 24, peer: 'c' },
    { network: n('198.18.2.128'), len: 25, peer: 'c-half' },
    { network: n('198.18.8.0'), len: 22, peer: 'wide' },
    { network: n('10.0.0.0'), len: 0, peer: 'default' },
  ]);
  const rows: Array<[string, string]> = [
    ['198.18.1.1', 'b'], ['198.18.1.255', 'b'], ['198.18.2.5', 'c'], ['198.18.2.200', 'c-half'],
    ['198.18.9.3', 'wide'], ['198.18.11.255', 'wide'], ['198.18.12.0', 'default'], ['8.8.8.8', 'default'],
  ];
  for (const [dst, want] of rows) assert.is(t.lookup(n(dst)), want, dst);
  const small = new PeerTable([{ network: n('198.18.1.0'), len: 24, peer: 'b' }]);
  for (const dst of ['198.18.0.1', '198.18.2.0', '10.0.0.1']) assert.is(small.lookup(n(dst)), undefined, dst);
  assert.is(small.size, 1);
  assert.throws(() => new PeerTable([{ network: 0, len: 33, peer: 'x' }]), /prefix length 33/);
});

test('PeerTable: matches a linear longest-prefix scan (property)', () => {
  const route = fc.record({ network: fc.integer({ min: 0, max: 0xffffffff }), len: fc.integer({ min: 8, max: 32 }) });
  fc.assert(fc.property(fc.array(route, { maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 20 }), (routes, dsts) => {
    const mask = (a: number, l: number) => (a & (0xffffffff << (32 - l))) >>> 0;
    const withPeers = routes.map((r, i) => ({ ...r, peer: i }));
    const t = new PeerTable(withPeers);
    // Probe the routes' own addresses too, so hits are exercised.
    for (const d of [...dsts, ...routes.map((r) => r.network)]) {
      let best: { len: number; peer: number } | undefined;
      for (const r of withPeers) if (mask(d, r.len) === mask(r.network, r.len) && (!best || r.len > best.len || r.len === best.len)) best = r;
      if (t.lookup(d) !== best?.peer) return false;
    }
    return true;
  }), { seed: 7, numRuns: 500 });
});

test.run();
