// WireGuard keys: parsing, public-key derivation and generation. Pure: no
// files, no processes. A private key or pre-shared key is held in a `Secret`,
// which renders as "(redacted)" in every string, JSON and inspect form, so a
// log line, a plan or an error message can never carry one by accident.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

const KEY_BYTES = 32;
// A base64 WireGuard key: 32 bytes are 43 characters and one '=' of padding.
const KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** PKCS#8 DER header of an X25519 private key; the raw 32 bytes follow. */
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A public key as `wg` prints it (base64). Public keys may be shown. */
export type PublicKey = string & { readonly __publicKey: true };

/** Whether `s` is a well-formed base64 WireGuard key (public or private). */
export function isKey(s: unknown): s is string {
  return typeof s === 'string' && KEY_RE.test(s);
}

export function asPublicKey(s: unknown): PublicKey | undefined {
  return isKey(s) ? (s as PublicKey) : undefined;
}

const REDACTED = '(redacted)';

/** Key material that must never be printed: private keys and pre-shared keys. */
export class Secret {
  readonly #value: string;
  private constructor(value: string) { this.#value = value; }

  /** Parses a base64 key (surrounding whitespace, e.g. a final newline, is allowed). */
  static parse(text: string): Secret | undefined {
    const t = text.trim();
    return isKey(t) ? new Secret(t) : undefined;
  }

  /** The base64 value, for the one place that hands it to `wg` (on stdin, never argv). */
  reveal(): string { return this.#value; }

  equals(other: Secret | undefined): boolean { return other !== undefined && other.#value === this.#value; }

  toString(): string { return REDACTED; }
  toJSON(): string { return REDACTED; }
  [inspect.custom](): string { return REDACTED; }
}

/** A new private key: 32 random bytes, clamped as Curve25519 requires (as `wg genkey`). */
export function generatePrivateKey(random: (n: number) => Buffer = randomBytes): Secret {
  const b = random(KEY_BYTES);
  b[0] &= 248;
  b[31] = (b[31] & 127) | 64;
  return Secret.parse(b.toString('base64'))!;
}

/** The public key of a private key (what `wg pubkey` prints). */
export function publicKeyOf(key: Secret): PublicKey {
  const der = Buffer.concat([PKCS8_X25519, Buffer.from(key.reveal(), 'base64')]);
  const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
  return spki.subarray(spki.length - KEY_BYTES).toString('base64') as PublicKey;
}
