import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWireguardConfig } from '../../../../src/backends/wireguard/config.js';
import { generatePrivateKey } from '../../../../src/backends/wireguard/keys.js';
import { ConfigError } from '../../../../src/errors.js';
import { rawConfigFromObject } from '../../../../src/sources/netconf.js';
import { validateConfig } from '../../../../src/validate/config.js';

const PSK = generatePrivateKey().reveal();
const read = (backend: Record<string, unknown>) => validateConfig(rawConfigFromObject({ Network: '198.18.0.0/16', Backend: { Type: 'wireguard', ...backend } }, 'net-conf.json')).backend;

test('wireguard config: flannel\'s defaults and fields, keys case-insensitive as Go reads them', () => {
  const rows: Array<[Record<string, unknown>, Record<string, unknown>]> = [
    [{}, { type: 'wireguard', listenPort: 51820, listenPortV6: 51821, keepalive: 0, mode: 'separate' }],
    [{ ListenPort: 51000, ListenPortV6: 51001, MTU: 1400, PersistentKeepaliveInterval: 25, Mode: 'auto' },
      { type: 'wireguard', listenPort: 51000, listenPortV6: 51001, mtu: 1400, keepalive: 25, mode: 'auto' }],
    [{ listenport: 4000, mode: 'ipv6', MTU: 0 }, { type: 'wireguard', listenPort: 4000, listenPortV6: 51821, keepalive: 0, mode: 'ipv6' }],
    [{ ListenPort: null, Mode: null }, { type: 'wireguard', listenPort: 51820, listenPortV6: 51821, keepalive: 0, mode: 'separate' }],
  ];
  for (const [given, want] of rows) assert.equal({ ...read(given) }, want, JSON.stringify(given));
  // "WireGuard" works as flannel lower-cases the type.
  assert.is(validateConfig(rawConfigFromObject({ Network: '198.18.0.0/16', Backend: { Type: 'WireGuard' } }, 'x')).backend.type, 'wireguard');
});

test('wireguard config: the PSK is kept as a secret that never prints', () => {
  const b = read({ PSK });
  assert.is(b.type === 'wireguard' && b.psk?.reveal(), PSK);
  for (const text of [JSON.stringify(b), String((b as { psk: unknown }).psk), `${JSON.stringify({ b })}`]) assert.not.ok(text.includes(PSK), text);
});

test('wireguard config: bad values are one-line errors naming the field; a bad PSK is never echoed', () => {
  const rows: Array<[Record<string, unknown>, RegExp]> = [
    [{ ListenPort: 0 }, /^net-conf\.json: Backend\.ListenPort must be an integer from 1 to 65535, got 0$/],
    [{ ListenPortV6: 70000 }, /Backend\.ListenPortV6 must be an integer from 1 to 65535, got 70000/],
    [{ ListenPort: 'x' }, /Backend\.ListenPort must be an integer/],
    [{ MTU: 20 }, /Backend\.MTU must be an integer from 68 to 65535, got 20/],
    [{ PersistentKeepaliveInterval: '25s' }, /Backend\.PersistentKeepaliveInterval must be a number of seconds, got "25s"/],
    [{ PersistentKeepaliveInterval: -1 }, /Backend\.PersistentKeepaliveInterval must be an integer from 0 to 65535, got -1/],
    [{ Mode: 'Auto' }, /^net-conf\.json: Backend\.Mode "Auto" is not a WireGuard mode$/],
    [{ Mode: 4 }, /Backend\.Mode 4 is not a WireGuard mode/],
    [{ PSK: 'c2VjcmV0LXNlY3JldA==' }, /^net-conf\.json: Backend\.PSK is not a base64 WireGuard key$/],
    [{ PSK: PSK.slice(0, -2) + '!=' }, /^net-conf\.json: Backend\.PSK is not a base64 WireGuard key$/],
  ];
  for (const [given, want] of rows) {
    let err: unknown;
    try {
      read(given);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError, JSON.stringify(given));
    assert.match((err as Error).message, want);
    assert.not.ok((err as Error).message.includes(PSK.slice(0, 20)));
  }
  assert.match(String((() => { try { parseWireguardConfig({ fields: { Mode: 'x' } }, 'o'); } catch (e) { return (e as ConfigError).hint; } })()), /separate, auto, ipv4, ipv6/);
});

test.run();
