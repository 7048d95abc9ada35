import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../../src/errors.js';
import { DEFAULT_KEY_FILE, keyFilePath, loadOrCreateKey } from '../../../../src/backends/wireguard/keyfile.js';
import { Secret } from '../../../../src/backends/wireguard/keys.js';

const KEY = 'GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=';
let dir = '';
test.before.each(() => { dir = mkdtempSync(join(tmpdir(), 'ovlnet-wgkey-')); });
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('keyFilePath: WIREGUARD_KEY_FILE, else flannel default', () => {
  assert.is(keyFilePath({}), DEFAULT_KEY_FILE);
  assert.is(keyFilePath({ WIREGUARD_KEY_FILE: '/etc/x' }), '/etc/x');
});

test('missing: generated once, mode 0600, directory created, no newline (flannel reads it as is), then reused', async () => {
  const path = join(dir, 'run/flannel/wgkey');
  const first = await loadOrCreateKey(path, () => Secret.parse(KEY)!);
  assert.is(first.created, true);
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.is(readFileSync(path, 'utf8'), KEY);
  const again = await loadOrCreateKey(path, () => { throw new Error('must not generate again'); });
  assert.is(again.created, false);
  assert.ok(again.key.equals(first.key));
});

test('existing files: a trailing newline is fine; loose modes are reported; garbage and directories refused without echoing content', async () => {
  const path = join(dir, 'wgkey');
  writeFileSync(path, `${KEY}\n`, { mode: 0o644 });
  chmodSync(path, 0o644);
  const k = await loadOrCreateKey(path);
  assert.is(k.key.reveal(), KEY);
  assert.is(k.looseMode, 0o644);
  writeFileSync(path, 'secret-but-wrong');
  await loadOrCreateKey(path).then(() => assert.unreachable('accepted garbage'), (e: Error) => {
    assert.instance(e, ConfigError);
    assert.match(e.message, /does not hold a base64 WireGuard private key/);
    assert.not.match(e.message, /secret-but-wrong/);
  });
  const d = join(dir, 'adir');
  mkdirSync(d);
  await loadOrCreateKey(d).then(() => assert.unreachable('accepted a directory'), (e: Error) => assert.match(e.message, /not a regular file/));
});

test('two starters at once agree on one key', async () => {
  const path = join(dir, 'wgkey');
  const keys = ['GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=', 'aDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A='];
  const [a, b] = await Promise.all(keys.map((k) => loadOrCreateKey(path, () => Secret.parse(k)!)));
  assert.ok(a.key.equals(b.key));
  assert.is(readFileSync(path, 'utf8'), a.key.reveal());
});

test.run();
