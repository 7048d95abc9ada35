import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { endpointOf, renderConf } from '../../../../src/backends/wireguard/conf.js';
import { asPublicKey, Secret } from '../../../../src/backends/wireguard/keys.js';

const KEY = Secret.parse('GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=')!;
const PUB = asPublicKey('9jalV3EEBnVXb0XrjlgeCBSLkC7KZPIUOKqDIE5ZRAE=')!;

test('endpointOf brackets IPv6', () => {
  assert.equal([endpointOf('192.0.2.1', 51820), endpointOf('2001:db8::1', 51821)], ['192.0.2.1:51820', '[2001:db8::1]:51821']);
});

test('renderConf: interface, then each peer; PSK and keepalive only when set; allowed IPs sorted', () => {
  const text = renderConf({
    privateKey: KEY,
    listenPort: 51820,
    peers: [
      { publicKey: PUB, endpoint: '192.0.2.11:51820', allowedIPs: ['2001:db8:100:1::/64', '198.18.1.0/24'], keepalive: 25, presharedKey: KEY },
      { publicKey: PUB, endpoint: '192.0.2.12:51820', allowedIPs: ['198.18.2.0/24'], keepalive: 0 },
    ],
  });
  assert.is(text, [
    '[Interface]', `PrivateKey = ${KEY.reveal()}`, 'ListenPort = 51820', '',
    '[Peer]', `PublicKey = ${PUB}`, `PresharedKey = ${KEY.reveal()}`, 'Endpoint = 192.0.2.11:51820', 'AllowedIPs = 198.18.1.0/24, 2001:db8:100:1::/64', 'PersistentKeepalive = 25', '',
    '[Peer]', `PublicKey = ${PUB}`, 'Endpoint = 192.0.2.12:51820', 'AllowedIPs = 198.18.2.0/24', '',
  ].join('\n'));
});

test.run();
