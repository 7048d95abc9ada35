import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DumpParseError, parseDump } from '../../../../src/backends/wireguard/dump.js';
import { ROOT } from '../../../lib/cli.js';

// Recorded from wireguard-go v0.0.20220316 + wg 1.0.20210914 in a namespace:
// one peer with a PSK, keepalive and two families, one IPv6 endpoint, one without endpoint.
const recorded = readFileSync(join(ROOT, 'test/fixtures/wg/dump-three-peers.txt'), 'utf8');

test('the recorded dump: device and every peer field', () => {
  const s = parseDump(recorded);
  assert.is(s.publicKey, 'XZenzoyQfyRrgJ+C7xZrP4u80L++6ewdsRUScpOYZjw=');
  assert.is(s.listenPort, 51820);
  assert.is(s.fwmark, 0);
  assert.ok(s.privateKey);
  const rows = s.peers.map((p) => [p.publicKey.slice(0, 4), p.endpoint, p.allowedIPs, p.keepalive, p.presharedKey !== undefined]);
  assert.equal(rows, [
    ['9jal', '192.0.2.11:51820', ['198.18.1.0/24', '2001:db8:100:1::/64'], 25, true],
    ['2kRi', '[2001:db8::12]:51821', ['198.18.2.0/24'], 0, false],
    ['0TxG', undefined, ['198.18.3.0/24'], 0, false],
  ]);
  assert.not.ok(JSON.stringify(s).includes('GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A='), 'secrets are redacted in JSON');
});

test('malformed dumps are refused with the line', () => {
  const rows: Array<[string, RegExp]> = [
    ['', /empty/],
    ['a\tb\tc\n', /line 1: expected 4 fields/],
    ['(none)\t(none)\tx\toff\n', /line 1: listen port "x"/],
    ['(none)\t(none)\t0\toff\nshort\tline\n', /line 2: expected 8 fields/],
    ['(none)\t(none)\t0\toff\nnotakey\t(none)\t(none)\t(none)\t0\t0\t0\toff\n', /line 2: "notakey" is not a public key/],
  ];
  for (const [text, re] of rows) {
    assert.throws(() => parseDump(text), (e: Error) => e instanceof DumpParseError && re.test(e.message), JSON.stringify(text));
  }
});

test('a device without keys or peers', () => {
  assert.equal(parseDump('(none)\t(none)\t0\toff\n'), { privateKey: undefined, publicKey: undefined, listenPort: 0, fwmark: 0, peers: [] });
});

test.run();
