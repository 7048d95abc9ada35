import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compareIP, ipFromValue, isAligned, lastAddress, mask, networkOf, nonUnicastReason, nthAddress, parseIP, parsePrefix,
  prefixContains, prefixContainsIP, prefixesOverlap,
} from '../../../src/model/ip.js';
import { ip, pfx } from '../support/build.js';

// [input, canonical text or undefined when it must be refused]
const IPS: Array<[unknown, string | undefined]> = [
  ['192.0.2.1', '192.0.2.1'],
  ['0.0.0.0', '0.0.0.0'],
  ['255.255.255.255', '255.255.255.255'],
  ['10.244.0.0', '10.244.0.0'],
  // leading zeros (inet_aton would read 010 as octal 8)
  ['010.0.0.1', undefined],
  ['10.0.0.01', undefined],
  ['00.0.0.0', undefined],
  // out of range / wrong shape
  ['256.0.0.1', undefined],
  ['1.2.3', undefined],
  ['1.2.3.4.5', undefined],
  ['1..2.3', undefined],
  ['1.2.3.', undefined],
  ['.1.2.3', undefined],
  ['1.2.3.-4', undefined],
  ['+1.2.3.4', undefined],
  ['1.2.3.4e0', undefined],
  ['0x7f.0.0.1', undefined],
  ['1234.0.0.1', undefined],
  // hostile: whitespace, newlines, extra tokens
  [' 192.0.2.1', undefined],
  ['192.0.2.1 ', undefined],
  ['192.0.2.1\n', undefined],
  ['192.0.2.1\nroute del default', undefined],
  ['192.0.2.1\r', undefined],
  ['192.0.2.1\t', undefined],
  ['192.0.2.1 dev eth0', undefined],
  ['192.0.2.1 via 10.0.0.1', undefined],
  ['192.0.2.1;reboot', undefined],
  ['192.0.2.1/24', undefined],
  ['192.0.2.1\u0000', undefined],
  ['１92.0.2.1', undefined], // full-width digit
  ['192.0.2.١', undefined], // Arabic-Indic digit
  // IPv6, canonicalised per RFC 5952
  ['2001:db8::1', '2001:db8::1'],
  ['2001:DB8::1', '2001:db8::1'],
  ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
  ['::', '::'],
  ['::1', '::1'],
  ['1::', '1::'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
  ['2001:db8:1:1:1:1:1:0', '2001:db8:1:1:1:1:1:0'],
  ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ['::192.0.2.1', '::c000:201'],
  ['fe80::1', 'fe80::1'],
  ['fe80::1%eth0', undefined],
  ['2001:db8::1::2', undefined],
  ['2001:db8:::1', undefined],
  [':1::', undefined],
  ['1:2:3:4:5:6:7:8:9', undefined],
  ['1:2:3:4:5:6:7', undefined],
  ['1:2:3:4:5:6:7:8::', undefined],
  ['12345::1', undefined],
  ['g::1', undefined],
  ['::ffff:1.2.3', undefined],
  ['::ffff:01.2.3.4', undefined],
  ['1.2.3.4::', undefined],
  ['::1.2.3.4:5', undefined],
  ['2001:db8::1 dev eth0', undefined],
  ['2001:db8::1\n', undefined],
  ['[2001:db8::1]', undefined],
  ['2001:db8::1/64', undefined],
  ['0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:1', undefined], // too long
  // not strings
  ['', undefined],
  [undefined, undefined],
  [null, undefined],
  [3232235521, undefined],
  [['192.0.2.1'], undefined],
  [{ toString: () => '192.0.2.1' }, undefined],
];

test('parseIP: canonical text or refusal', () => {
  for (const [input, want] of IPS) {
    const got = parseIP(input);
    assert.is(got?.text, want, `parseIP(${JSON.stringify(input)})`);
    if (got) {
      assert.is(got.family, want!.includes(':') ? 6 : 4, `family of ${want}`);
      // Canonical text parses back to the same value (round trip).
      assert.is(parseIP(got.text)?.value, got.value, `round trip of ${want}`);
    }
  }
});

test('parseIP: numeric values', () => {
  assert.is(ip('192.0.2.1').value, 0xc0000201n);
  assert.is(ip('255.255.255.255').value, 0xffffffffn);
  assert.is(ip('::1').value, 1n);
  assert.is(ip('::ffff:192.0.2.1').value, 0xffffc0000201n);
  assert.is(ip('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff').value, (1n << 128n) - 1n);
});

test('ipFromValue masks to the family width', () => {
  assert.is(ipFromValue(4, 1n << 32n).text, '0.0.0.0');
  assert.is(ipFromValue(4, (1n << 32n) + 5n).text, '0.0.0.5');
  assert.is(ipFromValue(6, 1n << 128n).text, '::');
});

// [input, canonical or undefined]
const PREFIXES: Array<[unknown, string | undefined]> = [
  ['10.244.0.0/16', '10.244.0.0/16'],
  ['0.0.0.0/0', '0.0.0.0/0'],
  ['192.0.2.1/32', '192.0.2.1/32'],
  ['192.0.2.5/24', '192.0.2.5/24'], // host bits are kept for isAligned to judge
  ['2001:DB8::/32', '2001:db8::/32'],
  ['::/0', '::/0'],
  ['2001:db8::1/128', '2001:db8::1/128'],
  ['10.0.0.0/33', undefined],
  ['2001:db8::/129', undefined],
  ['10.0.0.0/08', undefined],
  ['10.0.0.0/-1', undefined],
  ['10.0.0.0/+8', undefined],
  ['10.0.0.0/', undefined],
  ['10.0.0.0', undefined], // a bare address is ambiguous in a config
  ['/24', undefined],
  ['10.0.0.0/24/24', undefined],
  ['10.0.0.0/24 ', undefined],
  [' 10.0.0.0/24', undefined],
  ['10.0.0.0 /24', undefined],
  ['10.0.0.0/24\n', undefined],
  ['10.0.0.0/24\nroute flush table main', undefined],
  ['10.0.0.0/24 dev eth0', undefined],
  ['10.0.0.0/24 via 192.0.2.1', undefined],
  ['010.0.0.0/24', undefined],
  ['10.0.0.0/2.4', undefined],
  ['10.0.0.0/24e0', undefined],
  ['10.0.0.0/0x18', undefined],
  ['10.0.0.0/1000', undefined],
  ['a'.repeat(60), undefined],
  [24, undefined],
  [null, undefined],
  [undefined, undefined],
];

test('parsePrefix: canonical text or refusal', () => {
  for (const [input, want] of PREFIXES) {
    assert.is(parsePrefix(input)?.text, want, `parsePrefix(${JSON.stringify(input)})`);
  }
});

test('mask', () => {
  const rows: Array<[4 | 6, number, bigint]> = [
    [4, 0, 0n],
    [4, 8, 0xff000000n],
    [4, 24, 0xffffff00n],
    [4, 32, 0xffffffffn],
    [6, 0, 0n],
    [6, 64, ((1n << 64n) - 1n) << 64n],
    [6, 128, (1n << 128n) - 1n],
  ];
  for (const [f, len, want] of rows) assert.is(mask(f, len), want, `mask(${f}, ${len})`);
});

test('isAligned / networkOf / lastAddress / nthAddress', () => {
  const rows: Array<[string, boolean, string, string]> = [
    ['10.244.0.0/16', true, '10.244.0.0/16', '10.244.255.255'],
    ['10.244.1.0/24', true, '10.244.1.0/24', '10.244.1.255'],
    ['10.244.1.5/24', false, '10.244.1.0/24', '10.244.1.255'],
    ['10.244.1.128/25', true, '10.244.1.128/25', '10.244.1.255'],
    ['10.244.1.0/23', false, '10.244.0.0/23', '10.244.1.255'],
    ['0.0.0.0/0', true, '0.0.0.0/0', '255.255.255.255'],
    ['192.0.2.7/32', true, '192.0.2.7/32', '192.0.2.7'],
    ['2001:db8::/32', true, '2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8::1/64', false, '2001:db8::/64', '2001:db8::ffff:ffff:ffff:ffff'],
  ];
  for (const [p, aligned, net, last] of rows) {
    assert.is(isAligned(pfx(p)), aligned, `isAligned ${p}`);
    assert.is(networkOf(pfx(p)).text, net, `networkOf ${p}`);
    assert.is(lastAddress(pfx(p)).text, last, `lastAddress ${p}`);
  }
  assert.is(nthAddress(pfx('10.244.1.0/24'), 0n).text, '10.244.1.0');
  assert.is(nthAddress(pfx('10.244.1.7/24'), 1n).text, '10.244.1.1');
  assert.is(nthAddress(pfx('2001:db8::/64'), 1n).text, '2001:db8::1');
});

test('containment and overlap', () => {
  // [outer, inner, outer contains inner, overlap]
  const rows: Array<[string, string, boolean, boolean]> = [
    ['10.244.0.0/16', '10.244.1.0/24', true, true],
    ['10.244.1.0/24', '10.244.0.0/16', false, true],
    ['10.244.0.0/16', '10.244.0.0/16', true, true],
    ['10.244.0.0/16', '10.245.0.0/24', false, false],
    ['10.244.0.0/23', '10.244.1.0/24', true, true],
    ['10.244.0.0/24', '10.244.1.0/24', false, false],
    ['0.0.0.0/0', '203.0.113.0/24', true, true],
    ['10.244.0.0/16', '10.243.255.255/32', false, false],
    ['10.244.0.0/16', '10.244.255.255/32', true, true],
    ['2001:db8::/32', '2001:db8:1::/48', true, true],
    ['::/0', '10.0.0.0/8', false, false], // families never overlap
    ['10.0.0.0/8', '::/0', false, false],
  ];
  for (const [o, i, contains, overlap] of rows) {
    assert.is(prefixContains(pfx(o), pfx(i)), contains, `${o} contains ${i}`);
    assert.is(prefixesOverlap(pfx(o), pfx(i)), overlap, `${o} overlaps ${i}`);
    assert.is(prefixesOverlap(pfx(i), pfx(o)), overlap, `${i} overlaps ${o} (symmetric)`);
  }
  const ipRows: Array<[string, string, boolean]> = [
    ['10.244.0.0/16', '10.244.3.4', true],
    ['10.244.0.0/16', '10.245.0.0', false],
    ['10.244.1.0/24', '10.244.1.255', true],
    ['10.244.1.0/24', '10.244.2.0', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    ['2001:db8::/32', '2001:db8::1', true],
    ['::/0', '1.2.3.4', false],
    ['0.0.0.0/0', '::1', false],
  ];
  for (const [p, a, want] of ipRows) assert.is(prefixContainsIP(pfx(p), ip(a)), want, `${p} contains ${a}`);
});

test('nonUnicastReason', () => {
  const rows: Array<[string, string | undefined]> = [
    ['192.0.2.1', undefined],
    ['10.0.0.1', undefined],
    ['100.64.0.1', undefined],
    ['223.255.255.254', undefined],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'in 0.0.0.0/8 ("this network")'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved (240.0.0.0/4)'],
    ['255.255.255.254', 'reserved (240.0.0.0/4)'],
    ['255.255.255.255', 'broadcast'],
    ['169.254.1.1', 'link-local'],
    ['169.253.1.1', undefined],
    ['169.255.1.1', undefined],
    ['2001:db8::1', undefined],
    ['fd00::1', undefined],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['ff02::1', 'multicast'],
    ['ff00::', 'multicast'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', undefined],
    ['::ffff:192.0.2.1', 'IPv4-mapped'],
  ];
  for (const [a, want] of rows) assert.is(nonUnicastReason(ip(a)), want, a);
});

test('compareIP sorts v4 before v6 and numerically', () => {
  const list = ['2001:db8::1', '10.0.0.2', '10.0.0.10', '::1', '9.255.255.255'].map(ip);
  assert.equal(list.sort(compareIP).map((x) => x.text), ['9.255.255.255', '10.0.0.2', '10.0.0.10', '::1', '2001:db8::1']);
});

test.run();
