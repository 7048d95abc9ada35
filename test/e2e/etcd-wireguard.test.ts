// WireGuard registration against a real etcd on 127.0.0.1: the lease this
// node publishes carries its public key exactly as flanneld (v0.28) writes
// it, {"PublicKey":"<base64>","Port":<ListenPort>}, derived from the key
// file (WIREGUARD_KEY_FILE, created 0600 when missing); a lease flanneld
// wrote for this node is written back byte for byte; peers' keys are read
// from their leases. `wg pubkey` (wireguard-tools) is the independent judge
// of the public key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withEtcd, type EtcdCluster } from '../lib/etcd.js';
import { openSource } from '../../src/sources/index.js';
import type { Source } from '../../src/sources/types.js';
import { validateConfig } from '../../src/validate/config.js';
import { validateNode } from '../../src/validate/nodes.js';
import { PEER_PUB, PRIV, wgPubkey } from '../lib/wireguard.js';

const P = '/coreos.com/network';


/** The value bytes of a key, as etcd holds them. */
async function rawValue(c: EtcdCluster, key: string): Promise<string | undefined> {
  const kv = JSON.parse(await c.ctl(['get', key, '-w', 'json'])).kvs?.[0];
  return kv ? Buffer.from(kv.value, 'base64').toString('utf8') : undefined;
}

async function withSource<T>(uri: string, fn: (s: Source) => Promise<T>): Promise<T> {
  const s = await openSource(uri);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Runs fn with WIREGUARD_KEY_FILE pointing into a fresh temp dir (never the host's /run/flannel/wgkey). */
async function withKeyFile<T>(fn: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-wgkey-'));
  const before = process.env.WIREGUARD_KEY_FILE;
  process.env.WIREGUARD_KEY_FILE = join(dir, 'wgkey');
  try {
    return await fn(process.env.WIREGUARD_KEY_FILE);
  } finally {
    if (before === undefined) delete process.env.WIREGUARD_KEY_FILE;
    else process.env.WIREGUARD_KEY_FILE = before;
    rmSync(dir, { recursive: true, force: true });
  }
}

test('registration creates the key file (0600) and publishes its public key in flannel\'s lease format', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"wireguard","ListenPort":51999}}']);
    await withKeyFile(async (keyFile) => {
      const reg = await withSource(c.uri(), (s) => s.register!({ publicIP: '192.0.2.10' }));
      const st = statSync(keyFile);
      assert.is(st.mode & 0o777, 0o600, 'the private key file is the owner\'s only');
      const pub = await wgPubkey(readFileSync(keyFile, 'utf8'));
      assert.is(reg.publicKey, pub, 'the registration (and its log line) names the published key');
      const value = await rawValue(c, `${P}/subnets/${reg.subnet.replace('/', '-')}`);
      // Byte for byte what flanneld's json.Marshal writes (field order, no spaces).
      assert.is(value, `{"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${pub}","Port":51999}}`);
      assert.not.ok(value!.includes(readFileSync(keyFile, 'utf8')), 'the private key is never published');
      assert.is(reg.vtepMAC, undefined, 'no VTEP MAC for wireguard');
      // A restart keeps the key (the file is reused), so the lease is unchanged.
      const again = await withSource(c.uri(), (s) => s.register!({ publicIP: '192.0.2.10' }));
      assert.is(again.subnet, reg.subnet);
      assert.is(await rawValue(c, `${P}/subnets/${reg.subnet.replace('/', '-')}`), value);
    });
  });
});

test('a lease flanneld wrote for this node is read with its key and written back byte-identical', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"wireguard"}}']);
    await withKeyFile(async (keyFile) => {
      // The key file flanneld made on this host, and the leases it wrote (v0.28: with Port).
      writeFileSync(keyFile, PRIV, { mode: 0o600 });
      const pub = await wgPubkey(PRIV);
      const mine = `{"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${pub}","Port":51820}}`;
      const peer = `{"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${PEER_PUB}","Port":51820}}`;
      // An older flanneld (before 0.26.6) wrote the key alone.
      const old = `{"PublicIP":"192.0.2.12","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${PEER_PUB}"}}`;
      await c.ctl(['put', `${P}/subnets/198.18.5.0-24`, mine]);
      await c.ctl(['put', `${P}/subnets/198.18.6.0-24`, peer]);
      await c.ctl(['put', `${P}/subnets/198.18.7.0-24`, old]);
      const modBefore = JSON.parse(await c.ctl(['get', `${P}/subnets/198.18.5.0-24`, '-w', 'json'])).kvs[0].mod_revision;
      await withSource(c.uri(), async (s) => {
        const state = await s.load();
        const config = validateConfig(state.config);
        const nodes = state.nodes.map((raw) => validateNode(raw, config, true));
        assert.equal(nodes.map((n) => n.problem), [undefined, undefined, undefined]);
        assert.equal(nodes.map((n) => n.node!.backendData), [
          { PublicKey: pub, Port: 51820 }, { PublicKey: PEER_PUB, Port: 51820 }, { PublicKey: PEER_PUB },
        ]);
        const reg = await s.register!({ publicIP: '192.0.2.10' });
        assert.is(reg.subnet, '198.18.5.0/24', 'flanneld\'s lease is this node\'s');
      });
      assert.is(await rawValue(c, `${P}/subnets/198.18.5.0-24`), mine, 'written back byte-identical');
      const modAfter = JSON.parse(await c.ctl(['get', `${P}/subnets/198.18.5.0-24`, '-w', 'json'])).kvs[0].mod_revision;
      assert.ok(modAfter > modBefore, 'the lease was written (renewed with an etcd lease), not merely left alone');
      assert.is(await rawValue(c, `${P}/subnets/198.18.6.0-24`), peer, 'peers\' leases are never written');
      assert.is(await rawValue(c, `${P}/subnets/198.18.7.0-24`), old);
    });
  });
});

test('dual stack: BackendV6Data carries the same key with ListenPortV6, as flanneld', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, JSON.stringify({
      Network: '198.18.0.0/16', EnableIPv6: true, IPv6Network: '2001:db8:100::/48', Backend: { Type: 'wireguard', ListenPortV6: 51831 },
    })]);
    await withKeyFile(async (keyFile) => {
      writeFileSync(keyFile, PRIV, { mode: 0o600 });
      const pub = await wgPubkey(PRIV);
      const reg = await withSource(c.uri(), (s) => s.register!({ publicIP: '192.0.2.10', publicIPv6: '2001:db8:1::10' }));
      const key = `${P}/subnets/${reg.subnet.replace('/', '-')}&${reg.subnet6!.replace('/', '-')}`;
      assert.is(await rawValue(c, key), `{"PublicIP":"192.0.2.10","PublicIPv6":"2001:db8:1::10","BackendType":"wireguard",`
        + `"BackendData":{"PublicKey":"${pub}","Port":51820},"BackendV6Data":{"PublicKey":"${pub}","Port":51831}}`);
    });
  });
});

test('a key file that is not a WireGuard key fails registration, naming the file, never printing its content', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"wireguard"}}']);
    await withKeyFile(async (keyFile) => {
      writeFileSync(keyFile, 'not-a-key-SECRETSECRET\n', { mode: 0o600 });
      try {
        await withSource(c.uri(), (s) => s.register!({ publicIP: '192.0.2.10' }));
        assert.unreachable('registered with a bad key file');
      } catch (e) {
        assert.match((e as Error).message, keyFile);
        assert.not.match((e as Error).message, /SECRETSECRET/);
      }
      assert.is((await c.ctl(['get', `${P}/subnets/`, '--prefix', '--keys-only'])).trim(), '', 'no lease without a key');
    });
  });
});

test.run();
