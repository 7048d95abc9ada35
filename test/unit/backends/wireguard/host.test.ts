// The WireGuard host module's pure parts, the local lease data and cleanup.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupWireguard } from '../../../../src/backends/wireguard/cleanup.js';
import { deviceRead, pskRemovals, redactKeys } from '../../../../src/backends/wireguard/host.js';
import { keyFilePath } from '../../../../src/backends/wireguard/keyfile.js';
import { publicKeyOf, Secret } from '../../../../src/backends/wireguard/keys.js';
import { wireguardLeaseData } from '../../../../src/backends/wireguard/lease.js';
import { backendOf } from '../../../../src/backends/registry.js';
import type { CleanupContext } from '../../../../src/backends/types.js';
import { UsageError } from '../../../../src/errors.js';
import type { Change, WgPeerEntry } from '../../../../src/model/types.js';
import { emptyActual, hostLink, route } from '../../support/build.js';

const FIXTURE = readFileSync(new URL('../../../../../test/fixtures/wg/dump-three-peers.txt', import.meta.url), 'utf8');

test('deviceRead: a recorded dump as entries (sorted allowed-ips, endpoint and PSK only when set); the private key is not kept', () => {
  const r = deviceRead('flannel-wg', FIXTURE);
  assert.is(r.listenPort, 51820);
  assert.is(r.publicKey, 'XZenzoyQfyRrgJ+C7xZrP4u80L++6ewdsRUScpOYZjw=');
  assert.equal(r.peers.map((p) => [p.publicKey.slice(0, 6), p.endpoint, p.allowedIPs.map((a) => a.text), p.keepalive, p.psk !== undefined]), [
    ['9jalV3', '192.0.2.11:51820', ['198.18.1.0/24', '2001:db8:100:1::/64'], 25, true],
    ['2kRiB/', '[2001:db8::12]:51821', ['198.18.2.0/24'], 0, false],
    ['0TxGRH', undefined, ['198.18.3.0/24'], 0, false],
  ]);
  assert.not.ok(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes('GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A='), 'neither private key nor PSK');
});

test('redactKeys and pskRemovals', () => {
  assert.is(redactKeys('Line unrecognized: `PrivateKey=GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=\''), 'Line unrecognized: `PrivateKey=(key)\'');
  const psk = Secret.parse('GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=')!;
  const peer = (key: string, withPsk: boolean): WgPeerEntry => ({ kind: 'wg-peer', dev: 'flannel-wg', publicKey: key, allowedIPs: [], keepalive: 0, ...(withPsk ? { psk } : {}) });
  const change = (key: string, had: boolean, wants: boolean): Change => ({ action: 'change', kind: 'wg-peer', key, desired: peer(key, wants), actual: peer(key, had) });
  const lines = [change('a', true, false), change('b', false, true), change('c', true, true), change('a', true, false)].map((c) => ({ line: 'x', change: c }));
  assert.equal(pskRemovals({ lines }), ['a']);
});

test('keyFilePath: --netns scopes the default as subnet.env is; WIREGUARD_KEY_FILE wins; a bad name is refused', () => {
  assert.is(keyFilePath({}, 'node-a'), '/run/flannel/netns/node-a/wgkey');
  assert.is(keyFilePath({ WIREGUARD_KEY_FILE: '/k' }, 'node-a'), '/k');
  for (const bad of ['', '../x', 'a/b', '..']) assert.throws(() => keyFilePath({}, bad), (e: unknown) => e instanceof UsageError);
});

test('wireguardLeaseData (the registration\'s call): the key file created 0600 once, flannel\'s {PublicKey, Port} per family', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-wglease-'));
  try {
    const env = { WIREGUARD_KEY_FILE: join(dir, 'sub/wgkey') };
    const first = await wireguardLeaseData({ listenPort: 51820, listenPortV6: 51821 }, { env });
    assert.is(first.created, true);
    assert.is(statSync(env.WIREGUARD_KEY_FILE).mode & 0o777, 0o600);
    const key = Secret.parse(readFileSync(env.WIREGUARD_KEY_FILE, 'utf8'))!;
    assert.equal(first.data, { PublicKey: publicKeyOf(key), Port: 51820 });
    assert.equal(first.data6, { PublicKey: publicKeyOf(key), Port: 51821 });
    assert.not.ok(JSON.stringify(first).includes(key.reveal()));
    const again = await wireguardLeaseData({ listenPort: 1, listenPortV6: 2 }, { env });
    assert.equal([again.created, again.data], [false, { PublicKey: publicKeyOf(key), Port: 1 }]);
    // The Backend hook the registration calls.
    const hook = backendOf('wireguard').localLeaseData!;
    process.env.WIREGUARD_KEY_FILE = env.WIREGUARD_KEY_FILE;
    try {
      assert.equal(await hook({ type: 'wireguard', listenPort: 51820, listenPortV6: 51821, keepalive: 0, mode: 'separate' } as never, {}), { data: first.data, data6: first.data6 });
    } finally {
      delete process.env.WIREGUARD_KEY_FILE;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cleanup: a WireGuard device carrying ovlnet routes only is removed; with a foreign route or none of ours it is kept (flanneld\'s)', () => {
  const rows: Array<[string, string, boolean, string[], string[]]> = [
    // link kind, routes' protocol, --all-flannel-devices, removed, kept
    ['wireguard', 'ovlnet', false, ['flannel-wg carries ovlnet routes'], []],
    ['tun', 'ovlnet', false, ['flannel-wg carries ovlnet routes'], []],
    ['wireguard', 'flannel', false, [], ['link flannel-wg']],
    ['wireguard', 'none', false, [], ['link flannel-wg']],
    ['wireguard', 'flannel', true, ['flannel-wg --all-flannel-devices'], []],
    ['vxlan', 'ovlnet', true, [], []],
  ];
  for (const [kind, routes, all, removed, kept] of rows) {
    const actual = emptyActual();
    actual.links.set('flannel-wg', hostLink({ name: 'flannel-wg', kind, mtu: 1440 }));
    const r = route('198.18.0.0/16', '0.0.0.0', 'flannel-wg', false, routes === 'flannel' ? 3 : 244);
    delete (r as { via?: unknown }).via;
    const ours = routes === 'ovlnet' ? [r] : [];
    const ctx: CleanupContext = { actual, ours, foreignOn: (dev) => (routes === 'flannel' && dev === 'flannel-wg' ? [r] : []), changes: [], kept: [], ...(all ? { allFlannelDevices: true } : {}) };
    cleanupWireguard(ctx);
    assert.equal(ctx.changes.map((c) => `${c.action === 'delete' && c.kind === 'wg-device' ? c.actual.name : '?'} ${c.detail}`), removed, `${kind} ${routes} ${all}`);
    assert.equal(ctx.kept.map((k) => k.subject), kept, `${kind} ${routes} ${all}`);
  }
});

test.run();
