// The cluster file's keys: a misspelt key is refused naming the key, where it
// is and the closest known key; flannel's spellings (any case, as Go reads
// net-conf.json) are read, not refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkClusterKeys } from '../../../src/sources/cluster-schema.js';
import { parseClusterDocument } from '../../../src/sources/file.js';
import { SourceError } from '../../../src/errors.js';

const NODE = { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24' };
const BASE = { network: '198.18.0.0/16', backend: { type: 'vxlan', vni: 1 }, nodes: [NODE] };

const REFUSED: Array<[string, unknown, string]> = [
  ['a misspelt top-level key', { ...BASE, bakend: { type: 'vxlan' } }, 'c.yaml: unknown key "bakend" (did you mean backend?)'],
  ['a node key in the wrong case', { ...BASE, nodes: [NODE, { ...NODE, name: 'b', publicIp: '192.0.2.11' }] }, 'c.yaml: nodes[1]: unknown key "publicIp" (did you mean publicIP?)'],
  ['a misspelt backend key', { ...BASE, backend: { type: 'vxlan', vnii: 1 } }, 'c.yaml: backend: unknown key "vnii" (did you mean vni?)'],
  ['a key like nothing known', { ...BASE, colour: 'blue' }, 'c.yaml: unknown key "colour"'],
  ['several: the first, and how many more', { ...BASE, bakend: 1, nodes: [{ ...NODE, publicIp: 'x' }] }, 'c.yaml: unknown key "bakend" (did you mean backend?) (and 1 more unknown key)'],
];

// RFC 7748's X25519 test vector public keys, in wg's base64.
const PUB_A = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=';
const PUB_B = '3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=';
const WG = { ...BASE, backend: { type: 'wireguard' } };

// A WireGuard key mistyped in the operator's own file: refused, naming the node and the field.
const BAD_KEYS: Array<[string, unknown, string]> = [
  ['one character short', 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=', 'c.yaml: nodes[1].publicKey (node "node-b"): "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=" is not a base64 WireGuard public key'],
  ['the private key file with its newline', `${PUB_B}\n`, `c.yaml: nodes[1].publicKey (node "node-b"): "${PUB_B}\\n" is not a base64 WireGuard public key`],
  ['hex instead of base64 (shown shortened)', 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'c.yaml: nodes[1].publicKey (node "node-b"): "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f88…" is not a base64 WireGuard public key'],
  ['padding bits set (not 32 bytes as wg encodes them)', 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=', 'c.yaml: nodes[1].publicKey (node "node-b"): "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=" is not a base64 WireGuard public key'],
  ['a number', 42, 'c.yaml: nodes[1].publicKey (node "node-b"): a number is not a base64 WireGuard public key'],
  ['empty', '', 'c.yaml: nodes[1].publicKey (node "node-b"): "" is not a base64 WireGuard public key'],
];

for (const [name, key, message] of BAD_KEYS) {
  test(`refused publicKey: ${name}`, async () => {
    const doc = { ...WG, nodes: [{ ...NODE, publicKey: PUB_A }, { name: 'node-b', publicIP: '192.0.2.11', subnet: '198.18.1.0/24', publicKey: key }] };
    try {
      await checkClusterKeys(doc, 'c.yaml');
    } catch (e) {
      assert.instance(e, SourceError);
      assert.is((e as Error).message, message);
      assert.match((e as SourceError).hint ?? '', /wg pubkey/);
      return;
    }
    assert.unreachable('accepted');
  });
}

test("refused PublicKey (flannel's spelling) names that spelling", async () => {
  const doc = { ...WG, nodes: [{ Name: 'n1', PublicIP: '192.0.2.1', Subnet: '198.18.1.0/24', PublicKey: 'nope' }] };
  try {
    await checkClusterKeys(doc, 'c.yaml');
    assert.unreachable('accepted');
  } catch (e) {
    assert.is((e as Error).message, 'c.yaml: nodes[0].PublicKey (node "n1"): "nope" is not a base64 WireGuard public key');
  }
});

test('publicKey reaches the node as its BackendData (both families), in either spelling; a node without one has none', async () => {
  const doc = await checkClusterKeys({ ...WG, nodes: [{ ...NODE, publicKey: PUB_A }, { Name: 'node-b', PublicIP: '192.0.2.11', Subnet: '198.18.1.0/24', PublicKey: PUB_B }, { name: 'node-c', publicIP: '192.0.2.12', subnet: '198.18.2.0/24' }] }, 'c.yaml');
  const state = parseClusterDocument(doc, 'c.yaml');
  assert.equal(state.nodes.map((n) => n.backendData), [{ PublicKey: PUB_A }, { PublicKey: PUB_B }, undefined]);
  assert.equal(state.nodes.map((n) => n.backendDataV6), [{ PublicKey: PUB_A }, { PublicKey: PUB_B }, undefined]);
  assert.not.ok('backendData' in state.nodes[2], 'no field at all: other backends map exactly as before');
});

for (const [name, doc, message] of REFUSED) {
  test(`refused: ${name}`, async () => {
    try {
      await checkClusterKeys(doc, 'c.yaml');
    } catch (e) {
      assert.instance(e, SourceError);
      assert.is((e as Error).message, message);
      assert.ok((e as SourceError).hint?.startsWith('known keys'), (e as SourceError).hint);
      return;
    }
    assert.unreachable('accepted');
  });
}

const ACCEPTED: Array<[string, unknown]> = [
  ['ovlnet spelling', BASE],
  ["flannel's net-conf spelling", { Network: '198.18.0.0/16', SubnetLen: 24, Backend: { Type: 'vxlan', VNI: 1, Port: 8472, DirectRouting: true, MTU: 1450, GBP: false, Learning: false } }],
  ['any case, as Go reads it', { NETWORK: '198.18.0.0/16', backend: { Type: 'vxlan', Directrouting: true, mTu: 1400 } }],
  ['flannel lease spelling in nodes', { ...BASE, nodes: [{ Name: 'a', PublicIP: '192.0.2.1', Subnet: '198.18.1.0/24', VtepMAC: '0e:00:00:00:00:01' }] }],
  ['dual stack', { ...BASE, enableIPv6: true, ipv6Network: '2001:db8:100::/48', nodes: [{ ...NODE, publicIPv6: '2001:db8:1::1', ipv6Subnet: '2001:db8:100:1::/64', vtepMACv6: '0e:00:00:00:00:02' }] }],
  ['a backend that is not a mapping (validation reports it)', { ...BASE, backend: 'vxlan' }],
  ['WireGuard public keys on the nodes', { ...WG, nodes: [{ ...NODE, publicKey: PUB_A }, { name: 'node-b', publicIP: '192.0.2.11', subnet: '198.18.1.0/24', publicKey: PUB_B }] }],
  ['a null publicKey (YAML "publicKey:" with no value)', { ...WG, nodes: [{ ...NODE, publicKey: null }] }],
  ['nodes that are not mappings (the mapper skips them)', { ...BASE, nodes: ['node-a', null, 3, NODE] }],
  ['not a mapping at all (the mapper refuses it)', ['a']],
];

for (const [name, doc] of ACCEPTED) test(`accepted: ${name}`, async () => { await checkClusterKeys(doc, 'c.yaml'); });

test('case-insensitive config keys reach the mapper under their canonical spelling', async () => {
  const doc = await checkClusterKeys({ NETWORK: '198.18.0.0/16', subnetlen: 25, backend: { TYPE: 'vxlan', Directrouting: true, mTu: 1400, vni: 2 }, nodes: [NODE] }, 'c.yaml');
  const state = parseClusterDocument(doc, 'c.yaml');
  assert.is(state.config.network, '198.18.0.0/16');
  assert.is(state.config.subnetLen, 25);
  const b = state.config.backend!;
  assert.equal([b.type, b.vni, b.mtu, b.directRouting], ['vxlan', 2, 1400, true]);
});

test('10 000 nodes of one shape: refused at the first bad one, by index', async () => {
  const nodes = Array.from({ length: 10_000 }, (_, i) => ({ name: `n${i}`, publicIP: '192.0.2.1', subnet: 'x' }));
  await checkClusterKeys({ ...BASE, nodes }, 'big.yaml');
  nodes[7777] = { ...nodes[7777], publicIp: 'x' } as (typeof nodes)[number];
  try {
    await checkClusterKeys({ ...BASE, nodes }, 'big.yaml');
    assert.unreachable('accepted');
  } catch (e) {
    assert.is((e as Error).message, 'big.yaml: nodes[7777]: unknown key "publicIp" (did you mean publicIP?)');
  }
});

test.run();
