// The zod schema of a mapping's allowed keys. Named imports, statically: the
// bundle then holds only the zod parts used (27 KB; a namespace imported with
// import() would bring all of zod, 685 KB). Loaded with the file source only.
import { optional, regex, string, strictObject, unknown } from 'zod/mini';

export interface UnknownKey {
  path: PropertyKey[];
  key: string;
}

export type KeyCheck = (value: unknown) => UnknownKey[];

/** A check refusing every key of a mapping not in `keys`; values are not looked at. */
export function keySchema(keys: readonly string[]): KeyCheck {
  const schema = strictObject(Object.fromEntries(keys.map((k) => [k, optional(unknown())])));
  return (value) => {
    const r = schema.safeParse(value);
    if (r.success) return [];
    return r.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((key) => ({ path: i.path, key })) : []));
  };
}

/**
 * A base64 WireGuard key: 32 bytes are 43 characters and one '='. The same
 * pattern as backends/wireguard/keys.ts (a unit test holds them equal), not
 * imported from there: esbuild would then split keys.ts into a chunk of its
 * own, one more file loaded by every plan of a cluster file (measured: 40
 * files instead of 39, over test/e2e/bundle.test.ts's bound).
 */
const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** A check that a value is a WireGuard public key as `wg pubkey` prints it (base64 of 32 bytes). */
export function publicKeySchema(): (value: unknown) => boolean {
  const schema = string().check(regex(WG_KEY));
  return (value) => schema.safeParse(value).success;
}
