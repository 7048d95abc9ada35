// The IPv4 fast paths of model/ip.ts (32-bit number arithmetic) give the
// answers of the BigInt definitions, for every length and address.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  ipFromValue, isAligned, lastAddress, makePrefix, networkOf, nonUnicastReason, parseIP, parsePrefix, prefixContains,
  prefixContainsIP, type IP, type Prefix,
} from '../../../src/model/ip.js';

const ALL = (1n << 32n) - 1n;
const maskOf = (len: number) => (ALL >> BigInt(32 - len)) << BigInt(32 - len) & ALL;
const text = (v: bigint) => [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');

// The definitions, in BigInt arithmetic.
const ref = {
  isAligned: (p: Prefix) => (p.addr.value & ~maskOf(p.len) & ALL) === 0n,
  network: (p: Prefix) => `${text(p.addr.value & maskOf(p.len))}/${p.len}`,
  last: (p: Prefix) => text((p.addr.value & maskOf(p.len)) | (~maskOf(p.len) & ALL)),
  containsIP: (p: Prefix, ip: IP) => (ip.value & maskOf(p.len)) === (p.addr.value & maskOf(p.len)),
  nonUnicast: (v: bigint): string | undefined => {
    const a = Number(v >> 24n);
    if (v === 0n) return 'unspecified';
    if (a === 0) return 'in 0.0.0.0/8 ("this network")';
    if (a === 127) return 'loopback';
    if (a >= 224 && a <= 239) return 'multicast';
    if (v === ALL) return 'broadcast';
    if (a >= 240) return 'reserved (240.0.0.0/4)';
    if (a === 169 && Number((v >> 16n) & 255n) === 254) return 'link-local';
    return undefined;
  },
};

// Edge values: every length, addresses at the ends of the range and around bit 31 (the sign bit of int32).
const EDGES = [0n, 1n, 0x7fffffffn, 0x80000000n, 0x80000001n, 0xc0000201n, 0xfffffffen, ALL, 0xa9fe0101n, 0x7f000001n, 0xe0000000n, 0xf0000000n];

test('IPv4 fast paths at the edges, every prefix length', () => {
  for (const v of EDGES) {
    const ip = ipFromValue(4, v);
    for (let len = 0; len <= 32; len++) {
      const p = makePrefix(ip, len);
      const where = `${p.text}`;
      assert.is(isAligned(p), ref.isAligned(p), `isAligned ${where}`);
      assert.is(networkOf(p).text, ref.network(p), `networkOf ${where}`);
      assert.is(networkOf(p).addr.value, p.addr.value & maskOf(len), `networkOf value ${where}`);
      assert.is(lastAddress(p).text, ref.last(p), `lastAddress ${where}`);
      for (const w of EDGES) {
        const other = ipFromValue(4, w);
        assert.is(prefixContainsIP(p, other), ref.containsIP(p, other), `${where} contains ${other.text}`);
      }
    }
    assert.is(nonUnicastReason(ip), ref.nonUnicast(v), `nonUnicastReason ${ip.text}`);
  }
});

const v4 = fc.integer({ min: 0, max: 0xffffffff }).map((n) => BigInt(n));

test('IPv4 fast paths agree with the BigInt definitions (random addresses and lengths)', () => {
  fc.assert(fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 32 }), (a, b, la, lb) => {
    const p = makePrefix(ipFromValue(4, a), la);
    const q = makePrefix(ipFromValue(4, b), lb);
    assert.is(isAligned(p), ref.isAligned(p));
    assert.is(networkOf(p).text, ref.network(p));
    assert.is(lastAddress(p).text, ref.last(p));
    assert.is(prefixContainsIP(p, q.addr), ref.containsIP(p, q.addr));
    assert.is(prefixContains(p, q), lb >= la && ref.containsIP(p, q.addr));
    assert.is(nonUnicastReason(q.addr), ref.nonUnicast(b));
    // Parsing the text gives the same value, text and prefix text.
    const parsed = parsePrefix(p.text)!;
    assert.equal([parsed.text, parsed.len, parsed.addr.value, parsed.addr.text], [p.text, la, a, text(a)]);
    assert.equal(parseIP(text(a)), { family: 4, value: a, text: text(a) });
  }), { numRuns: 2000 });
});

test('networkOf an aligned prefix is that prefix; an unaligned one a new, aligned prefix', () => {
  const aligned = parsePrefix('198.18.4.0/22')!;
  assert.ok(networkOf(aligned) === aligned);
  const unaligned = parsePrefix('198.18.5.7/22')!;
  assert.equal(networkOf(unaligned), parsePrefix('198.18.4.0/22'));
  assert.is(unaligned.text, '198.18.5.7/22', 'the original is left as it was');
});

test('parsePrefix: the length, by character codes', () => {
  const rows: Array<[string, string | undefined]> = [
    ['10.0.0.0/0', '10.0.0.0/0'], ['10.0.0.0/9', '10.0.0.0/9'], ['10.0.0.0/32', '10.0.0.0/32'],
    ['10.0.0.0/00', undefined], ['10.0.0.0/033', undefined], ['10.0.0.0/0032', undefined],
    ['10.0.0.0/3 ', undefined], ['10.0.0.0/ 3', undefined], ['10.0.0.0/3a', undefined], ['10.0.0.0/:', undefined],
    ['10.0.0.0//24', undefined], ['10.0.0.0/24/', undefined], ['/0', undefined],
    ['2001:db8::/128', '2001:db8::/128'], ['2001:db8::/129', undefined], ['2001:DB8::/064', undefined], ['2001:DB8::/64', '2001:db8::/64'],
  ];
  for (const [s, want] of rows) assert.is(parsePrefix(s)?.text, want, s);
});

test.run();
