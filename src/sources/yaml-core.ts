// The fast path for YAML cluster files: js-yaml, about 15x faster than the
// yaml package on a 5 000-node flow-style file (docs/performance-history.md), with
// the scalars of YAML 1.2's core schema exactly as the yaml package resolves
// them (so `yes`, `on`, `0b1`, `1_000`, `2001-12-14`, `12:30` stay strings;
// `0x1F`, `0o17`, `1e3`, `.inf` are numbers).
//
// It takes only what it cannot get wrong: a document with no anchor, alias,
// tag or directive (parse-limits.ts checks the text before calling it), so
// alias bombs, merge keys and tags never reach it. Anything js-yaml refuses
// goes back to the yaml package (parse-limits.ts), whose limits and
// line-numbered errors stay the only ones users see.
import jsyaml from 'js-yaml';

const scalar = (tag: string, test: RegExp, construct: (s: string) => unknown): jsyaml.Type =>
  new jsyaml.Type(`tag:yaml.org,2002:${tag}`, { kind: 'scalar', resolve: (s: unknown) => typeof s === 'string' && test.test(s), construct });

// The yaml package's core schema (yaml/dist/schema/core/*.js), regular
// expression for regular expression. One type per tag: js-yaml keeps only
// the last of several types with the same tag.
const INT_OCT = /^0o[0-7]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const INT = /^(?:0o[0-7]+|[-+]?[0-9]+|0x[0-9a-fA-F]+)$/;
const FLOAT_SPECIAL = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/;

/** The implicit types, in the order js-yaml tries them on a plain scalar (the first that resolves it wins). */
const IMPLICIT = [
  scalar('null', /^(?:~|[Nn]ull|NULL)?$/, () => null),
  scalar('bool', /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (s) => s[0] === 't' || s[0] === 'T'),
  scalar('int', INT, (s) => (INT_OCT.test(s) ? parseInt(s.slice(2), 8) : INT_HEX.test(s) ? parseInt(s.slice(2), 16) : parseInt(s, 10))),
  scalar('float', FLOAT, (s) => (!FLOAT_SPECIAL.test(s) ? parseFloat(s)
    : s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY)),
];

const CORE_SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({ implicit: IMPLICIT });

/** A plain scalar's value as js-yaml reads it with CORE_SCHEMA: the same types, tried in the same order. */
export function resolvePlain(s: string): unknown {
  // Every implicit type's expression needs a first character of ~ n N t T f F + - . or a digit: a name is a string.
  if (/^[A-Za-z_]/.test(s) && !/^[nNtTfF]/.test(s)) return s;
  for (const t of IMPLICIT) if (t.resolve(s)) return t.construct(s);
  return s;
}

/**
 * A key read as "null" may have been a null key (`~: x`, `null: x`), which
 * js-yaml names "null" and the yaml package "": let the yaml package answer
 * then. Only a key spelled "null" costs the slower path.
 */
function hasNullKey(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasNullKey(v[i])) return true;
    return false;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (k === 'null' || hasNullKey(o[k])) return true;
  }
  return false;
}

export type CoreLoad = { ok: true; value: unknown; tooDeep?: undefined } | { ok: false; value?: undefined; tooDeep: boolean };

/**
 * One document, YAML 1.2 core schema, duplicate keys refused; `maxDepth`
 * nested nodes at most (js-yaml counts a scalar leaf as one). A refusal
 * carries no message on purpose: the caller asks the yaml package, whose
 * messages the docs and tests describe.
 */
export function loadCoreYaml(text: string, maxDepth: number): CoreLoad {
  try {
    const value = jsyaml.load(text, { schema: CORE_SCHEMA, json: false, maxDepth } as jsyaml.LoadOptions);
    if (hasNullKey(value)) return { ok: false, tooDeep: false };
    // An empty document: yaml says null, js-yaml undefined.
    return { ok: true, value: value === undefined ? null : value };
  } catch (e) {
    return { ok: false, tooDeep: e instanceof jsyaml.YAMLException && /maxDepth/.test(e.reason ?? '') };
  }
}
