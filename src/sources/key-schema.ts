// The zod schema of a mapping's allowed keys. Named imports, statically: the
// bundle then holds only the zod parts used (27 KB; a namespace imported with
// import() would bring all of zod, 685 KB). Loaded with the file source only.
import { optional, strictObject, unknown } from 'zod/mini';

export interface UnknownKey {
  path: PropertyKey[];
  key: string;
}

export type KeyCheck = (value: unknown) => UnknownKey[];

/** The checks made, by their key list: building a zod schema costs more than a check (a daemon's file read checks a node or two). */
const made = new WeakMap<readonly string[], KeyCheck>();

/** A check refusing every key of a mapping not in `keys`; values are not looked at. */
export function keySchema(keys: readonly string[]): KeyCheck {
  let check = made.get(keys);
  if (!check) made.set(keys, (check = newKeySchema(keys)));
  return check;
}

function newKeySchema(keys: readonly string[]): KeyCheck {
  const schema = strictObject(Object.fromEntries(keys.map((k) => [k, optional(unknown())])));
  return (value) => {
    const r = schema.safeParse(value);
    if (r.success) return [];
    return r.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((key) => ({ path: i.path, key })) : []));
  };
}
