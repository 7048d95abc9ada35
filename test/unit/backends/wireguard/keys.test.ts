import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { inspect } from 'node:util';
import { generatePrivateKey, isKey, publicKeyOf, Secret } from '../../../../src/backends/wireguard/keys.js';

// Pairs printed by `wg genkey | tee /dev/stderr | wg pubkey` (wireguard-tools 1.0.20210914).
const PAIRS = [
  ['GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=', 'XZenzoyQfyRrgJ+C7xZrP4u80L++6ewdsRUScpOYZjw='],
];

test('publicKeyOf matches wg pubkey', () => {
  for (const [priv, pub] of PAIRS) assert.is(publicKeyOf(Secret.parse(priv)!), pub);
});

test('isKey / Secret.parse: 32 bytes of base64, whitespace around allowed, nothing else', () => {
  const rows: Array<[string, boolean]> = [
    ['GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=', true],
    ['GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=\n', true],
    ['GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A', false],
    ['GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1B=', false], // not a canonical 32-byte encoding
    ['', false],
    ['not a key', false],
    ['GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=', false],
  ];
  for (const [s, ok] of rows) assert.is(Secret.parse(s) !== undefined, ok, JSON.stringify(s));
  assert.is(isKey(' GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A='), false, 'isKey takes no whitespace');
  assert.is(isKey(42), false);
});

test('a Secret never renders its value: string, template, JSON, inspect, error message', () => {
  const k = 'GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=';
  const s = Secret.parse(k)!;
  for (const shown of [String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ deep: { s } }), new Error(`x ${s}`).message]) {
    assert.not.ok(shown.includes(k), shown);
    assert.ok(shown.includes('(redacted)'), shown);
  }
  assert.is(s.reveal(), k);
  assert.ok(s.equals(Secret.parse(`${k}\n`)));
  assert.not.ok(s.equals(undefined));
});

test('generatePrivateKey clamps as wg genkey does, and wg agrees on its public key', () => {
  const k = generatePrivateKey(() => Buffer.alloc(32, 0xff));
  const b = Buffer.from(k.reveal(), 'base64');
  assert.is(b[0] & 7, 0);
  assert.is(b[31] & 128, 0);
  assert.is(b[31] & 64, 64);
  const random = generatePrivateKey();
  const pub = execFileSync('wg', ['pubkey'], { input: random.reveal() }).toString().trim();
  assert.is(publicKeyOf(random), pub);
});

test.run();
