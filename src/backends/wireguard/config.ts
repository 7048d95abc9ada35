// flannel's wireguard Backend block, read as flannel's RegisterNetwork reads
// it (encoding/json into a struct with defaults): keys matched
// case-insensitively, the last match winning, null leaving the default.
//   ListenPort 51820, ListenPortV6 51821, MTU (the underlay's, see plan.ts),
//   PSK (a base64 key), PersistentKeepaliveInterval (seconds: flannel
//   multiplies the JSON number by time.Second), Mode separate|auto|ipv4|ipv6.
// Pure.
import { ConfigError } from '../../errors.js';
import type { RawBackend, WireguardConfig } from '../../model/types.js';
import { intField, MAX_MTU, MIN_MTU } from '../../validate/fields.js';
import { Secret } from './keys.js';

export const DEFAULT_LISTEN_PORT = 51820;
export const DEFAULT_LISTEN_PORT_V6 = 51821;
export const MODES = ['separate', 'auto', 'ipv4', 'ipv6'] as const;
/** WireGuard's persistent keepalive is a 16-bit number of seconds. */
const MAX_KEEPALIVE = 65535;

function pick(obj: Record<string, unknown> | undefined, name: string): unknown {
  if (!obj) return undefined;
  const want = name.toLowerCase();
  let found: unknown;
  for (const [k, v] of Object.entries(obj)) if (v !== null && k.toLowerCase() === want) found = v;
  return found;
}

export function parseWireguardConfig(raw: RawBackend | undefined, origin: string): WireguardConfig {
  const f = raw?.fields;
  // Port 0 would make the kernel pick a random port, which peers can not know: refused.
  const port = (name: string, dflt: number) => {
    const v = pick(f, name);
    return v === undefined ? dflt : intField(v, `Backend.${name}`, origin, 1, 65535);
  };
  const listenPort = port('ListenPort', DEFAULT_LISTEN_PORT);
  const listenPortV6 = port('ListenPortV6', DEFAULT_LISTEN_PORT_V6);
  // As vxlan's: MTU 0 is unset (flannel's default is the underlay's).
  const mtuRaw = raw?.mtu ?? pick(f, 'MTU');
  const mtu = mtuRaw === undefined || mtuRaw === 0 ? undefined : intField(mtuRaw, 'Backend.MTU', origin, MIN_MTU, MAX_MTU);
  const keepRaw = pick(f, 'PersistentKeepaliveInterval');
  if (typeof keepRaw === 'string') {
    // Go's time.Duration has no JSON text form: flannel fails on "25s" too.
    throw new ConfigError(`${origin}: Backend.PersistentKeepaliveInterval must be a number of seconds, got ${JSON.stringify(keepRaw).slice(0, 40)}`, 'write 25, not "25s"');
  }
  const keepalive = keepRaw === undefined ? 0 : intField(keepRaw, 'Backend.PersistentKeepaliveInterval', origin, 0, MAX_KEEPALIVE);
  const modeRaw = pick(f, 'Mode');
  let mode: WireguardConfig['mode'] = 'separate';
  if (modeRaw !== undefined && modeRaw !== '') {
    // flannel compares the string as given: "Auto" is no valid Mode there either.
    if (typeof modeRaw !== 'string' || !(MODES as readonly string[]).includes(modeRaw)) {
      throw new ConfigError(`${origin}: Backend.Mode ${JSON.stringify(modeRaw).slice(0, 40)} is not a WireGuard mode`, `use one of ${MODES.join(', ')} (default separate)`);
    }
    mode = modeRaw as WireguardConfig['mode'];
  }
  const pskRaw = pick(f, 'PSK');
  let psk: Secret | undefined;
  if (pskRaw !== undefined && pskRaw !== '') {
    psk = typeof pskRaw === 'string' ? Secret.parse(pskRaw) : undefined;
    // The value is never echoed: it is a secret even when malformed.
    if (!psk) throw new ConfigError(`${origin}: Backend.PSK is not a base64 WireGuard key`, 'generate one with: wg genpsk');
  }
  return { type: 'wireguard', listenPort, listenPortV6, ...(mtu !== undefined ? { mtu } : {}), ...(psk ? { psk } : {}), keepalive, mode };
}
