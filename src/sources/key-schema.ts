// The zod schema of a mapping's allowed keys. Named imports, statically: the
// bundle then holds only the zod parts used (27 KB; a namespace imported with
// import() would bring all of zod, 685 KB). Loaded with the file source only.
import { optional, strictObject, unknown } from 'zod/mini';

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
