// Parsing with limits: a cluster file is shared input, so a huge file, an
// alias bomb or absurd nesting must fail fast with a clear message instead of
// eating the node's memory.
import { SourceError } from '../errors.js';

export const MAX_FILE_BYTES = 32 * 1024 * 1024;
export const MAX_DEPTH = 32;
/** YAML aliases allowed in one document; the cluster format needs none. */
export const MAX_YAML_ALIASES = 50;

export function checkDepth(value: unknown, origin: string, max = MAX_DEPTH): void {
  // Recursion is bounded: it stops, with the error, one level below `max`,
  // so a deeply nested document can not overflow our own stack. This visits
  // every value of a 10 000-node file: scalars are skipped in place, and
  // nothing is allocated per value (no Object.values arrays, no work list).
  const walk = (v: object, d: number): void => {
    if (d > max) throw new SourceError(`${origin}: nested deeper than ${max} levels`);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const c: unknown = v[i];
        if (c !== null && typeof c === 'object') walk(c, d + 1);
      }
      return;
    }
    const o = v as Record<string, unknown>;
    for (const k in o) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
      const c = o[k];
      if (c !== null && typeof c === 'object') walk(c, d + 1);
    }
  };
  if (value !== null && typeof value === 'object') walk(value, 1);
}

// The yaml parser recurses per nesting level, so a document nested a few
// thousand levels deep exhausts the stack before checkDepth can see it; say
// what is wrong instead of "invalid YAML: Maximum call stack size exceeded".
function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

function tooDeep(origin: string): SourceError {
  return new SourceError(`${origin}: nested deeper than ${MAX_DEPTH} levels`);
}

export async function parseDocument(text: string, origin: string, format: 'json' | 'yaml'): Promise<unknown> {
  if (text.length > MAX_FILE_BYTES) throw new SourceError(`${origin}: larger than ${MAX_FILE_BYTES} bytes`);
  let doc: unknown;
  if (format === 'json') {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      if (isStackOverflow(e)) throw tooDeep(origin);
      throw new SourceError(`${origin}: invalid JSON: ${(e as Error).message}`);
    }
  } else {
    const YAML = await import('yaml');
    let d;
    try {
      d = YAML.parseDocument(text, { merge: false, uniqueKeys: true, prettyErrors: false });
    } catch (e) {
      if (isStackOverflow(e)) throw tooDeep(origin);
      throw new SourceError(`${origin}: invalid YAML: ${(e as Error).message}`);
    }
    if (d.errors.length) {
      const err = d.errors[0];
      // yaml turns its own stack overflow into a document error.
      if (/Maximum call stack/.test(err.message)) throw tooDeep(origin);
      throw new SourceError(`${origin}: invalid YAML: ${err.message.split('\n')[0]}`);
    }
    try {
      doc = d.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (e) {
      const msg = (e as Error).message;
      if (isStackOverflow(e)) throw tooDeep(origin);
      if (/alias/i.test(msg)) {
        throw new SourceError(`${origin}: too many YAML aliases (more than ${MAX_YAML_ALIASES}); refusing a possible alias bomb`);
      }
      throw new SourceError(`${origin}: invalid YAML: ${msg.split('\n')[0]}`);
    }
  }
  checkDepth(doc, origin);
  return doc;
}
