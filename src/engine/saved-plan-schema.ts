// The plan file's shape (engine/saved-plan.ts), loaded only when a plan file
// is read. Named imports, statically, as sources/key-schema.ts does: the
// bundle then shares only the zod parts both use with the cluster file's key
// check, which every file source loads. A namespace (`const { z } = await
// import('zod/mini')`) kept all of zod in that shared chunk (547 KB parsed by
// every plan, diff and apply).
import { array, boolean, literal, null as zNull, nullable, number, record, strictObject, string, union, unknown } from 'zod/mini';

export function savedPlanSchema<F extends string, V extends number>(format: F, version: V) {
  return strictObject({
    format: literal(format),
    version: literal(version),
    createdAt: string(),
    ovlnetVersion: string(),
    target: strictObject({ node: string(), netns: nullable(string()), backend: string(), source: string() }),
    settings: record(string(), union([string(), boolean(), zNull()])),
    fingerprints: strictObject({ source: string(), host: string(), changes: string() }),
    summary: strictObject({ add: number(), change: number(), delete: number() }),
    changes: array(record(string(), unknown())),
    checksum: string(),
  });
}
