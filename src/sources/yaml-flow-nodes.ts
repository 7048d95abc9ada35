// The layout generated cluster files use, read without a YAML parser for
// the nodes: the document ends with a `nodes:` line (column 0) followed only
// by one flow mapping per node, each on a line of its own,
//
//   nodes:
//     - { name: node-a, publicIP: 192.0.2.1, subnet: 198.18.0.0/24, vtepMAC: "0e:00:00:00:00:01" }
//
// with plain scalars of a few safe characters and single- or double-quoted
// scalars of printable ASCII without escapes. js-yaml spends 50-100 ms on
// the flow mappings of 10 000 such lines (its general flow reader, per
// character); a regular expression per line reads them in a few.
//
// It takes only what it cannot get wrong, and gives up on anything else
// (the caller then parses the whole text with js-yaml, as before): any
// line after `nodes:` that is not such a mapping or empty (a comment, a
// tab, a trailing space, a multi-line mapping, `{}`, a trailing comma), a
// key that YAML would not read as the same string (`null`, `true`, a
// `__proto__`), a repeated key, a plain scalar with any other character.
// Plain scalars get their types exactly as js-yaml resolves them
// (yaml-core.ts resolvePlain: the yaml package's core schema). The part
// before `nodes:` is parsed by js-yaml with `nodes: []` in place of the
// list, and is used only if that gives a mapping whose last key is that
// empty `nodes`: a `nodes:` line inside a quoted or flow scalar of the
// head, or a head that is not a block mapping, fails that check.
import { loadCoreYaml, resolvePlain, type CoreLoad } from './yaml-core.js';

/**
 * One `key: value` of a node line and what follows it: `,` and spaces (the
 * next pair follows), or `}` (the line must end there). Sticky: it is run
 * at the position the last pair ended, over the whole text, so a line is
 * never copied.
 */
const PAIR = /([A-Za-z_][A-Za-z0-9_]*): +([A-Za-z0-9][A-Za-z0-9_./+-]*|"[\x20\x21\x23-\x5b\x5d-\x7e]*"|'[\x20-\x26\x28-\x7e]*') *(?:(,) *|\})/y;
/** Keys YAML's core schema reads as null or a boolean, and the one a plain object cannot hold as its own. */
const NOT_A_STRING_KEY = /^(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|__proto__)$/;
const SPACE = 0x20;
const NEWLINE = 0x0a;

/**
 * The nodes after the `nodes:` line, from `pos` to the end of the text, or
 * undefined when a line is not `<indent>- { key: value, ... }` (the same
 * indent on every line; spaces only) or empty.
 */
function nodesFrom(text: string, pos: number): Array<Record<string, unknown>> | undefined {
  const nodes: Array<Record<string, unknown>> = [];
  let indent = -1;
  const n = text.length;
  while (pos < n) {
    if (text.charCodeAt(pos) === NEWLINE) {
      pos++;
      continue;
    }
    let i = pos;
    while (text.charCodeAt(i) === SPACE) i++;
    if (indent < 0) indent = i - pos;
    if (i - pos !== indent || !text.startsWith('- {', i)) return undefined;
    i += 3;
    while (text.charCodeAt(i) === SPACE) i++;
    const node: Record<string, unknown> = {};
    PAIR.lastIndex = i;
    for (;;) {
      const m = PAIR.exec(text);
      if (!m) return undefined;
      const key = m[1];
      const raw = m[2];
      if (NOT_A_STRING_KEY.test(key) || Object.prototype.hasOwnProperty.call(node, key)) return undefined;
      const q = raw.charCodeAt(0);
      node[key] = q === 0x22 || q === 0x27 ? raw.slice(1, -1) : resolvePlain(raw);
      if (m[3] === undefined) break; // the closing brace
    }
    pos = PAIR.lastIndex;
    if (pos < n && text.charCodeAt(pos) !== NEWLINE) return undefined;
    nodes.push(node);
    pos++;
  }
  return nodes;
}

const NODES_LINE = /^nodes:\n/m;

/**
 * The document when it has this layout, else undefined (parse it whole).
 * `maxDepth` as loadCoreYaml's: the nodes are four levels deep.
 */
export function loadFlowNodes(text: string, maxDepth: number): CoreLoad | undefined {
  if (maxDepth < 4) return undefined;
  const m = NODES_LINE.exec(text);
  if (!m) return undefined;
  const nodes = nodesFrom(text, m.index + m[0].length);
  // No node line at all: `nodes:` alone is null, not an empty list.
  if (!nodes?.length) return undefined;
  const head = loadCoreYaml(`${text.slice(0, m.index)}nodes: []\n`, maxDepth);
  if (!head.ok) return undefined;
  const doc = head.value;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const top = doc as Record<string, unknown>;
  const keys = Object.keys(top);
  if (keys[keys.length - 1] !== 'nodes' || !Array.isArray(top.nodes) || top.nodes.length !== 0) return undefined;
  top.nodes = nodes;
  return { ok: true, value: top };
}
