// Parsing with limits: a cluster file is shared input, so a huge file, an
// alias bomb or absurd nesting must fail fast with a clear message instead of
// eating the node's memory.
import { SourceError } from '../errors.js';

export const MAX_FILE_BYTES = 32 * 1024 * 1024;
export const MAX_DEPTH = 32;
/** YAML aliases allowed in one document; the cluster format needs none. */
export const MAX_YAML_ALIASES = 50;

/** `depth`: the level `value` sits at in its document (1: the document itself). */
export function checkDepth(value: unknown, origin: string, max = MAX_DEPTH, depth = 1): void {
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
  if (value !== null && typeof value === 'object') walk(value, depth);
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

/** 1-based line and column of a character offset. */
export function lineColAt(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

const MAX_EXCERPT = 80;

/** The offending line, trimmed to a readable length around the column. */
function excerpt(text: string, line: number, col: number): string {
  const l = (text.split('\n')[line - 1] ?? '').replace(/\r$/, '');
  if (l.length <= MAX_EXCERPT) return l.trim();
  const start = Math.max(0, Math.min(col - 1 - MAX_EXCERPT / 2, l.length - MAX_EXCERPT));
  return `${start > 0 ? '…' : ''}${l.slice(start, start + MAX_EXCERPT).trim()}${start + MAX_EXCERPT < l.length ? '…' : ''}`;
}

const syntaxErrors = new WeakSet<SourceError>();

/** A JSON or YAML syntax error made by parseDocument (file.ts falls back from JSON to YAML on one). */
export function isSyntaxError(e: unknown): boolean {
  return e instanceof SourceError && syntaxErrors.has(e);
}

/** One line, as compilers print it: `file:LINE:COL: invalid YAML: why; line LINE: the offending line`. */
function syntaxError(text: string, origin: string, kind: 'JSON' | 'YAML', message: string, at?: { line: number; col: number }): SourceError {
  // yaml's own message repeats the position and the source lines: keep only its first sentence.
  const why = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  const err = at
    ? new SourceError(`${origin}:${at.line}:${at.col}: invalid ${kind}: ${why}; line ${at.line}: ${excerpt(text, at.line, at.col)}`)
    : new SourceError(`${origin}: invalid ${kind}: ${why}`);
  syntaxErrors.add(err);
  return err;
}

/**
 * JSON.parse says where only sometimes ("at position N", newer Nodes "line L
 * column C"); when it does not, the yaml parser (JSON is YAML) finds the place.
 * Only on the error path, so a good JSON file never loads yaml.
 */
async function jsonSyntaxError(text: string, origin: string, e: Error): Promise<SourceError> {
  const why = e.message.replace(/\s*\(line \d+ column \d+\)$/, '').replace(/ in JSON at position \d+.*$/, '').replace(/, "[\s\S]*" is not valid JSON$/, '');
  const lc = /line (\d+) column (\d+)/.exec(e.message);
  if (lc) return syntaxError(text, origin, 'JSON', why, { line: Number(lc[1]), col: Number(lc[2]) });
  const pos = /at position (\d+)/.exec(e.message);
  if (pos) return syntaxError(text, origin, 'JSON', why, lineColAt(text, Number(pos[1])));
  try {
    const YAML = await import('yaml');
    const d = YAML.parseDocument(text, { prettyErrors: false });
    const first = d.errors[0];
    if (first) return syntaxError(text, origin, 'JSON', why, lineColAt(text, first.pos[0]));
  } catch {
    // No better position: the message alone.
  }
  return syntaxError(text, origin, 'JSON', why);
}

/**
 * Documents js-yaml may parse (yaml-core.ts): no anchor or alias (`&`, `*`:
 * the alias limit below stays the yaml package's), no tag (`!`), no
 * directive (`%`: `%YAML 1.1` would change the schema), no block scalar
 * (`|`, `>`: js-yaml reads some indentations of them differently). One of
 * these characters anywhere, even quoted, only means the slower path.
 */
const FAST_YAML = /^[^&*!%|>?]*$/;
/**
 * What js-yaml 4.3 reads differently from the yaml package (found by the
 * property tests in test/unit/sources/yaml-core.test.ts) takes the slower
 * path: a line ending in a bare `-` (after `- - -` it nests the next entry
 * one level too deep); `---` or `...` with more on their line (glued, a
 * plain scalar it takes for a document marker; after a space, a block
 * mapping the yaml package refuses there).
 */
const MISREAD = [
  /(?:^|[ \t])-[ \t]*\r?$/m,
  /^(?:---|\.\.\.)(?![ \t]*\r?$)/m,
  // js-yaml accepts these where the yaml package refuses them: a tab in a
  // line's indentation; a quoted scalar running over lines, found by a line
  // (not a whole-line comment: "# flannel's ...") with an odd number of
  // quotes, and by any \" (an escaped quote would even the count).
  /^[ \t-]*\t/m,
  /^(?![ \t]*#)[^"\n]*(?:"[^"\n]*"[^"\n]*)*"[^"\n]*$/m,
  /^(?![ \t]*#)[^'\n]*(?:'[^'\n]*'[^'\n]*)*'[^'\n]*$/m,
  /\\"/,
  // a comment glued to a quote, bracket or comma; a flow collection as a key
  /["'[\]{},]#/,
  /[\]}][ \t]*:/,
];

export function fastYamlAllowed(text: string): boolean {
  return FAST_YAML.test(text) && !MISREAD.some((re) => re.test(text));
}

async function parseYaml(text: string, origin: string): Promise<unknown> {
  if (fastYamlAllowed(text)) {
    // More than MAX_DEPTH + 2 nested nodes (a scalar leaf counts as one) is more than MAX_DEPTH containers.
    // A generated file's one-line-per-node list is read without js-yaml's flow reader (yaml-flow-nodes.ts).
    const fast = (await import('./yaml-flow-nodes.js')).loadFlowNodes(text, MAX_DEPTH + 2) ?? (await import('./yaml-core.js')).loadCoreYaml(text, MAX_DEPTH + 2);
    if (fast.ok) return fast.value;
    if (fast.tooDeep) throw tooDeep(origin);
    // Any other refusal: the yaml package below says what is wrong, as it always has.
  }
  const YAML = await import('yaml');
  let d;
  try {
    d = YAML.parseDocument(text, { merge: false, uniqueKeys: true, prettyErrors: true });
  } catch (e) {
    if (isStackOverflow(e)) throw tooDeep(origin);
    throw new SourceError(`${origin}: invalid YAML: ${(e as Error).message}`);
  }
  if (d.errors.length) {
    const err = d.errors[0];
    // yaml turns its own stack overflow into a document error.
    if (/Maximum call stack/.test(err.message)) throw tooDeep(origin);
    throw syntaxError(text, origin, 'YAML', err.message, err.linePos?.[0] ?? lineColAt(text, err.pos[0]));
  }
  try {
    return d.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    const msg = (e as Error).message;
    if (isStackOverflow(e)) throw tooDeep(origin);
    if (/alias/i.test(msg)) {
      throw new SourceError(`${origin}: too many YAML aliases (more than ${MAX_YAML_ALIASES}); refusing a possible alias bomb`);
    }
    throw new SourceError(`${origin}: invalid YAML: ${msg.split('\n')[0]}`);
  }
}

export async function parseDocument(text: string, origin: string, format: 'json' | 'yaml'): Promise<unknown> {
  if (text.length > MAX_FILE_BYTES) throw new SourceError(`${origin}: larger than ${MAX_FILE_BYTES} bytes`);
  let doc: unknown;
  if (format === 'json') {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      if (isStackOverflow(e)) throw tooDeep(origin);
      throw await jsonSyntaxError(text, origin, e as Error);
    }
  } else {
    doc = await parseYaml(text, origin);
  }
  checkDepth(doc, origin);
  return doc;
}
