// Parses `wg show <dev> dump`: the first line is the device (private key,
// public key, listen port, fwmark), then one tab-separated line per peer
// (public key, pre-shared key, endpoint, allowed ips, latest handshake,
// transfer rx, transfer tx, persistent keepalive). Keys that must stay secret
// are kept as `Secret`s; "(none)" and "off" become undefined / 0.
import { asPublicKey, Secret, type PublicKey } from './keys.js';

export interface WgDeviceState {
  publicKey?: PublicKey;
  privateKey?: Secret;
  listenPort: number;
  fwmark: number;
  peers: WgPeerState[];
}

export interface WgPeerState {
  publicKey: PublicKey;
  presharedKey?: Secret;
  /** `ip:port` or `[ip6]:port` as wg prints it; undefined when none is known. */
  endpoint?: string;
  /** Sorted CIDRs. */
  allowedIPs: string[];
  /** Seconds since the epoch; 0 when there was no handshake yet. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  /** Seconds; 0 when off. */
  keepalive: number;
}

export class DumpParseError extends Error {}

const num = (s: string, what: string, line: number): number => {
  if (s === 'off') return 0;
  if (!/^\d+$/.test(s)) throw new DumpParseError(`wg dump line ${line}: ${what} "${s}" is not a number`);
  return Number(s);
};

const secret = (s: string): Secret | undefined => (s === '(none)' ? undefined : Secret.parse(s));

export function parseDump(text: string): WgDeviceState {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (!lines.length) throw new DumpParseError('wg dump is empty');
  const dev = lines[0].split('\t');
  if (dev.length !== 4) throw new DumpParseError(`wg dump line 1: expected 4 fields for the device, got ${dev.length}`);
  const state: WgDeviceState = {
    privateKey: secret(dev[0]),
    publicKey: dev[1] === '(none)' ? undefined : asPublicKey(dev[1]),
    listenPort: num(dev[2], 'listen port', 1),
    fwmark: num(dev[3], 'fwmark', 1),
    peers: [],
  };
  lines.slice(1).forEach((l, i) => {
    const f = l.split('\t');
    const n = i + 2;
    if (f.length !== 8) throw new DumpParseError(`wg dump line ${n}: expected 8 fields for a peer, got ${f.length}`);
    const publicKey = asPublicKey(f[0]);
    if (!publicKey) throw new DumpParseError(`wg dump line ${n}: "${f[0]}" is not a public key`);
    state.peers.push({
      publicKey,
      presharedKey: secret(f[1]),
      endpoint: f[2] === '(none)' ? undefined : f[2],
      allowedIPs: f[3] === '(none)' ? [] : f[3].split(',').map((s) => s.trim()).sort(),
      latestHandshake: num(f[4], 'latest handshake', n),
      rxBytes: num(f[5], 'rx bytes', n),
      txBytes: num(f[6], 'tx bytes', n),
      keepalive: num(f[7], 'persistent keepalive', n),
    });
  });
  return state;
}
