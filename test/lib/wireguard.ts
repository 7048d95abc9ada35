// WireGuard fixtures shared by the source tests: a private key as
// `wg genkey` makes them, another node's public key, and `wg pubkey`.
import { execa } from 'execa';

export const PRIV = 'GDVSXUyEb3PDHgsUI1twrzRWdnEjhyYEdQCrRKxPR1A=';
export const PEER_PUB = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=';

/** The public key of `priv`, as wireguard-tools computes it (the reference the tests hold ovlnet to). */
export async function wgPubkey(priv: string): Promise<string> {
  const r = await execa('wg', ['pubkey'], { input: priv, reject: false });
  if (r.exitCode !== 0) throw new Error(`wg pubkey failed (wireguard-tools must be installed): ${r.stderr}`);
  return String(r.stdout).trim();
}
