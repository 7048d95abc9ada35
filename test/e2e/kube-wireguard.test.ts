// WireGuard registration through the kube: source against the fake API
// server (test/lib/fake-kube.ts): the backend-data annotation carries the key
// file's public key exactly as flanneld (v0.28) writes it; a Node flanneld
// annotated with the same key file needs no patch; peers' keys are read from
// their annotations. `wg pubkey` (wireguard-tools) judges the public key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSource } from '../../src/sources/index.js';
import { validateCluster } from '../../src/validate/index.js';
import { FakeKube, FLANNEL_PREFIX as P, netConfJSON } from '../lib/fake-kube.js';
import { PEER_PUB, PRIV, wgPubkey } from '../lib/wireguard.js';



/** A fake API server with flannel's wireguard net-conf and a key file at WIREGUARD_KEY_FILE (never the host's). */
async function withWireguard(fn: (f: FakeKube, src: string, keyFile: string) => Promise<void>): Promise<void> {
  const f = await FakeKube.start();
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-kube-wg-'));
  const before = process.env.WIREGUARD_KEY_FILE;
  process.env.WIREGUARD_KEY_FILE = join(dir, 'wgkey');
  try {
    f.setConfigMap('kube-flannel', netConfJSON('198.18.0.0/16', { Type: 'wireguard' }));
    await fn(f, `kube:${f.writeKubeconfig(dir)}`, process.env.WIREGUARD_KEY_FILE);
  } finally {
    if (before === undefined) delete process.env.WIREGUARD_KEY_FILE;
    else process.env.WIREGUARD_KEY_FILE = before;
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const annotations = (publicIP: string, data: string) => ({
  [`${P}/backend-data`]: data, [`${P}/backend-type`]: 'wireguard', [`${P}/kube-subnet-manager`]: 'true', [`${P}/public-ip`]: publicIP,
});

test('register publishes backend-data {"PublicKey","Port"} from the key file, as flanneld', () => withWireguard(async (f, src, keyFile) => {
  f.addNode({ name: 'node-x', podCIDR: '198.18.5.0/24' });
  const s = await openSource(src);
  let registered: string | undefined;
  try {
    const reg = await s.register!({ nodeName: 'node-x', publicIP: '192.0.2.30' });
    assert.is(reg.vtepMAC, undefined);
    registered = reg.publicKey;
  } finally {
    await s.close();
  }
  const pub = await wgPubkey(readFileSync(keyFile, 'utf8'));
  assert.is(registered, pub, 'the registration (and its log line) names the published key');
  assert.is(f.patches.length, 1);
  const ann = (f.patches[0].body as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
  assert.is(ann[`${P}/backend-data`], `{"PublicKey":"${pub}","Port":51820}`);
  assert.is(ann[`${P}/backend-type`], 'wireguard');
}));

test('a Node flanneld annotated with this key file needs no patch; peers\' keys are read', () => withWireguard(async (f, src, keyFile) => {
  writeFileSync(keyFile, PRIV, { mode: 0o600 });
  const pub = await wgPubkey(PRIV);
  f.addNode({ name: 'node-x', podCIDR: '198.18.5.0/24', annotations: annotations('192.0.2.30', `{"PublicKey":"${pub}","Port":51820}`) });
  f.addNode({ name: 'node-y', podCIDR: '198.18.6.0/24', annotations: annotations('192.0.2.31', `{"PublicKey":"${PEER_PUB}","Port":51820}`) });
  // An older flanneld's annotation: the key alone.
  f.addNode({ name: 'node-z', podCIDR: '198.18.7.0/24', annotations: annotations('192.0.2.32', `{"PublicKey":"${PEER_PUB}"}`) });
  const s = await openSource(src);
  try {
    await s.register!({ nodeName: 'node-x', publicIP: '192.0.2.30' });
    assert.equal(f.patches.filter((p) => JSON.stringify(p.body).includes('annotations')), [], 'flanneld\'s annotations are already what ovlnet publishes');
    const v = validateCluster(await s.load(), { name: 'node-x' });
    assert.equal(v.nodes.map((n) => [n.name, n.backendData]), [
      ['node-x', { PublicKey: pub, Port: 51820 }], ['node-y', { PublicKey: PEER_PUB, Port: 51820 }], ['node-z', { PublicKey: PEER_PUB }],
    ]);
  } finally {
    await s.close();
  }
}));

test.run();
