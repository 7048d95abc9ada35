// Renders the configuration `wg syncconf <dev> /dev/stdin` reads: the whole
// desired state of one device in one process, whatever the number of peers.
// `syncconf` changes only what differs (an unchanged peer keeps its session),
// replaces allowed-ips instead of appending them, and removes peers that are
// not listed — right for a device that is entirely ovlnet's. The text holds
// the private key and the pre-shared key: it goes to wg's stdin, never to a
// file, an argument vector or a log.
import type { PublicKey, Secret } from './keys.js';

export interface WgPeerConfig {
  publicKey: PublicKey;
  /** `ip:port`, `[ip6]:port`. */
  endpoint: string;
  allowedIPs: string[];
  /** Seconds; 0 = off. */
  keepalive: number;
  presharedKey?: Secret;
}

export interface WgDeviceConfig {
  privateKey: Secret;
  listenPort: number;
  peers: WgPeerConfig[];
}

/** `host:port` for an IPv4 address, `[host]:port` for IPv6 (as wg prints endpoints). */
export function endpointOf(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function renderConf(c: WgDeviceConfig): string {
  const out = ['[Interface]', `PrivateKey = ${c.privateKey.reveal()}`, `ListenPort = ${c.listenPort}`];
  for (const p of c.peers) {
    out.push('', '[Peer]', `PublicKey = ${p.publicKey}`);
    if (p.presharedKey) out.push(`PresharedKey = ${p.presharedKey.reveal()}`);
    if (p.endpoint) out.push(`Endpoint = ${p.endpoint}`);
    out.push(`AllowedIPs = ${[...p.allowedIPs].sort().join(', ')}`);
    if (p.keepalive > 0) out.push(`PersistentKeepalive = ${p.keepalive}`);
  }
  return out.join('\n') + '\n';
}
