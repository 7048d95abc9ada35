import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { wireguardChecks } from '../../../../src/backends/wireguard/doctor.js';
import { planWireguard } from '../../../../src/backends/wireguard/plan.js';
import { generatePrivateKey, publicKeyOf } from '../../../../src/backends/wireguard/keys.js';
import type { ActualState, Node } from '../../../../src/model/types.js';
import { actualFrom, node, pfx, underlay } from '../../support/build.js';

const KEYS = [0, 1, 2].map(() => publicKeyOf(generatePrivateKey()));
const nodes: Node[] = [0, 1, 2].map((i) => node(i, { backendData: { PublicKey: KEYS[i] } }));
const desired = planWireguard({
  cluster: { config: { network: pfx('198.18.0.0/16'), subnetLen: 24, backend: { type: 'wireguard', listenPort: 51820, listenPortV6: 51821, keepalive: 0, mode: 'separate' } }, nodes, problems: [], local: nodes[0] },
  underlay: underlay(),
});

test('doctor host.wireguard: one row per device naming what is wrong, in the order a fix needs', () => {
  const rows: Array<[string, (a: ActualState) => void, string, RegExp]> = [
    ['healthy', () => {}, 'pass', /^flannel-wg listens on UDP 51820 with all 2 peers$/],
    ['no device', (a) => { a.links.delete('flannel-wg'); a.wireguard!.delete('flannel-wg'); }, 'fail', /^flannel-wg does not exist/],
    ['wg can not talk to it', (a) => { a.wireguard!.delete('flannel-wg'); }, 'fail', /exists but wg can not configure it/],
    ['other port', (a) => { a.wireguard!.get('flannel-wg')!.listenPort = 4000; }, 'fail', /listens on UDP 4000, the config says 51820/],
    ['no key', (a) => { delete a.wireguard!.get('flannel-wg')!.publicKey; }, 'fail', /has no private key/],
    ['another key', (a) => { a.wireguard!.get('flannel-wg')!.publicKey = KEYS[2]; }, 'fail', /holds the key of public key .* but this node publishes/],
    ['a peer missing', (a) => { a.wireguard!.get('flannel-wg')!.peers.splice(1, 1); }, 'fail', /^flannel-wg lacks 1 of 2 peers \(node-2\)/],
  ];
  for (const [what, mutate, status, re] of rows) {
    const a = actualFrom(desired.entries);
    mutate(a);
    const got = wireguardChecks(desired, a);
    assert.equal(got.map((c) => [c.name, c.status]), [['host.wireguard', status]], what);
    assert.match(got[0].message, re, what);
  }
});

test.run();
