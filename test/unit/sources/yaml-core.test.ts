// The js-yaml fast path (src/sources/yaml-core.ts) must read every document
// it accepts exactly as the yaml package (YAML 1.2, core schema) did, and
// refuse what the yaml package refuses: parse-limits.ts then asks the yaml
// package, whose limits and messages stay the only ones users see.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as YAML from 'yaml';
import { loadCoreYaml } from '../../../src/sources/yaml-core.js';
import { fastYamlAllowed, MAX_DEPTH, parseDocument } from '../../../src/sources/parse-limits.js';
import { SourceError } from '../../../src/errors.js';
import { rejectsLike } from '../support/build.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../lib/cli.js';

/** What parse-limits.ts did before the fast path: the yaml package's value, or undefined when it reports an error. */
function viaYamlPackage(text: string): { value?: unknown; error: boolean } {
  const d = YAML.parseDocument(text, { merge: false, uniqueKeys: true });
  if (d.errors.length) return { error: true };
  return { value: d.toJS({ maxAliasCount: 50 }), error: false };
}

/** Objects as lists of entries: a key named `constructor` would fool a deep-equal's class check. */
const plain = (v: unknown): unknown => (v === null || typeof v !== 'object' ? v
  : Array.isArray(v) ? v.map(plain) : { entries: Object.entries(v).map(([k, x]) => [k, plain(x)]) });

/** Plain scalars whose type YAML 1.1 and 1.2 (and js-yaml's default schema) disagree on, and some that must stay strings. */
const SCALARS = [
  'yes', 'no', 'on', 'off', 'y', 'n', 'Yes', 'NO', 'On', 'OFF', '~', 'null', 'Null', 'NULL', 'nULL', 'true', 'True', 'TRUE', 'tRUE', 'false',
  '0x1F', '0X1F', '0x', '-0x1', '0o17', '0O17', '0o8', '017', '08', '0b101', '1_000', '+12', '-12', '-0', '+0', '0',
  '99999999999999999999', '1e3', '1E3', '1e+3', '-1.5e-3', '1.5', '.5', '5.', '-.5', '1.2.3', '.inf', '-.Inf', '+.INF', '.nan', '.NaN', '.NAN', '.Nan', 'inf', 'nan',
  '2001-12-14', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10 -5', '12:30', '12:30:45', '190:20:30.15', '1:20',
  '0e:5a:3c:11:22:33', '12:34:56:78:90:12', '10.244.0.0/16', '192.168.121.137', '0.0.0.0', 'fe80::1', '2001:db8::/32',
  'node-a', 'node_b', '<<', '=', '-', '__proto__', 'constructor', 'a b', 'vxlan', 'host-gw',
];

const rows = (xs: string[]) => xs.map((x) => [x, x] as const);

test('scalars: the yaml package\'s YAML 1.2 core schema, value for value (yes/on stay strings, 0x/0o are numbers, no timestamps, no base 60)', () => {
  for (const [s] of rows(SCALARS)) {
    for (const text of [`v: ${s}\n`, `{v: ${s}}`, `- ${s}\n`, `${s}: v\n`, `{${s}: v}`]) {
      const want = viaYamlPackage(text);
      const got = loadCoreYaml(text, MAX_DEPTH + 2);
      if (want.error) assert.not.ok(got.ok, `${JSON.stringify(text)}: the yaml package refuses it, js-yaml took it as ${JSON.stringify(got.value)}`);
      else if (got.ok) assert.equal(plain(got.value), plain(want.value), JSON.stringify(text));
    }
  }
  // The surprises a YAML 1.1 reader would make, spelled out.
  const d = loadCoreYaml('a: yes\nb: on\nc: 0b101\nd: 1_000\ne: 2001-12-14\nf: 12:30\ng: 0x1F\nh: 0o17\ni: 017\nj: ~\n', MAX_DEPTH + 2);
  assert.equal(d, { ok: true, value: { a: 'yes', b: 'on', c: '0b101', d: '1_000', e: '2001-12-14', f: '12:30', g: 31, h: 15, i: 17, j: null } });
});

test('refused by the fast path, so the yaml package reports it: duplicate keys, several documents, tabs, bad flow, deep nesting', () => {
  const refused = [
    'a: 1\na: 2\n', '{a: 1, a: 2}', 'a: 1\n"a": 2\n', 'nodes:\n  - {name: x, name: y}\n',
    'a: 1\n---\nb: 2\n', 'a: [1, 2', 'a: b: c', '\t- x', 'network: 10.0.0.0/8\nnodes:\n  - name node-b\n    subnet: x\n',
    '{"a": 1', 'a: "unterminated\n',
  ];
  for (const text of refused) {
    assert.ok(viaYamlPackage(text).error, `the yaml package refuses ${JSON.stringify(text)}`);
    assert.not.ok(loadCoreYaml(text, MAX_DEPTH + 2).ok, JSON.stringify(text));
  }
  const deep = '['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1);
  assert.ok(loadCoreYaml('['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH), MAX_DEPTH + 2).ok);
  const tooDeep = loadCoreYaml('['.repeat(MAX_DEPTH + 2) + '1' + ']'.repeat(MAX_DEPTH + 2), MAX_DEPTH + 2);
  assert.equal(tooDeep, { ok: false, tooDeep: true });
  assert.ok(loadCoreYaml(deep, MAX_DEPTH + 2).ok, 'checkDepth, not js-yaml, refuses one level too deep');
});

test('parseDocument through the fast path: the same limits and messages as before', async () => {
  const rows: Array<[string, string | RegExp]> = [
    ['a: 1\na: 2\n', 'c.yaml:2:1: invalid YAML: Map keys must be unique; line 2: a: 2'],
    ['{a: 1, a: 2}', /^c\.yaml:1:\d+: invalid YAML: Map keys must be unique; line 1: \{a: 1, a: 2\}$/],
    ['a: 1\n---\nb: 2\n', /^c\.yaml:2:1: invalid YAML: .*; line 2: ---$/],
    ['['.repeat(3000) + '1' + ']'.repeat(3000), `c.yaml: nested deeper than ${MAX_DEPTH} levels`],
    ['{a: '.repeat(3000) + '1' + '}'.repeat(3000), `c.yaml: nested deeper than ${MAX_DEPTH} levels`],
    ['['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1), `c.yaml: nested deeper than ${MAX_DEPTH} levels`],
  ];
  for (const [text, want] of rows) {
    const e = await rejectsLike(parseDocument(text, 'c.yaml', 'yaml'), SourceError, /./);
    if (typeof want === 'string') assert.is(e.message, want);
    else assert.match(e.message, want);
  }
  // `<<` without anchors is a plain key, as with merge: false before.
  assert.equal(await parseDocument('y: {<<: {network: 10.0.0.0/8}}\n', 'm.yaml', 'yaml'), { y: { '<<': { network: '10.0.0.0/8' } } });
  // __proto__ is an own key, not the prototype.
  const p = await parseDocument('__proto__: {polluted: 1}\n', 'p.yaml', 'yaml') as Record<string, unknown>;
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.keys(p), ['__proto__']);
  // An empty document is null, as the yaml package said.
  assert.is(await parseDocument('# nothing\n', 'e.yaml', 'yaml'), null);
});

// Cluster-shaped documents, block and flow style, from the tricky scalars above,
// quoted and not: js-yaml accepts only what the yaml package reads the same way.
const atom = fc.oneof(
  fc.constantFrom(...SCALARS),
  fc.constantFrom(...SCALARS).map((s) => JSON.stringify(s)),
  fc.constantFrom(...SCALARS).map((s) => `'${s}'`),
  fc.stringMatching(/^[a-z0-9.:/_-]{1,12}$/),
  fc.constantFrom('"tab\\there"', '"\\u00e9\\x41"', "'it''s'", 'x # a comment', 'two words', '"a # not a comment"', '"multi\n  line"', 'a:b', '"\\"q\\""'),
);
const key = fc.oneof(fc.constantFrom('network', 'subnetLen', 'backend', 'nodes', 'name', 'publicIP', 'subnet', 'vtepMAC', 'type', 'vni', 'port'), atom);
type Tree = string | { list: Tree[] } | { map: Array<[string, Tree]> };
const { tree } = fc.letrec<{ tree: Tree; list: Tree; map: Tree }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, atom, tie('list'), tie('map')),
  list: fc.array(tie('tree'), { maxLength: 4 }).map((list) => ({ list })),
  map: fc.array(fc.tuple(key, tie('tree')), { maxLength: 4 }).map((map) => ({ map })),
}));
function flow(t: Tree): string {
  if (typeof t === 'string') return t;
  if ('map' in t) return `{${t.map.map(([k, v]) => `${k}: ${flow(v)}`).join(', ')}}`;
  return `[${t.list.map(flow).join(', ')}]`;
}
function block(t: Tree, indent: string): string {
  if (typeof t === 'string' || ('map' in t ? t.map : t.list).length === 0) return ` ${flow(t)}\n`;
  if ('map' in t) return '\n' + t.map.map(([k, v]) => `${indent}${k}:${block(v, indent + '  ')}`).join('');
  return '\n' + t.list.map((v) => `${indent}-${block(v, indent + '  ')}`).join('');
}

test('property: whatever js-yaml accepts, the yaml package read the same way', () => {
  fc.assert(fc.property(tree, fc.boolean(), (t, asFlow) => {
    const text = asFlow ? flow(t) + '\n' : `root:${block(t, '  ')}`;
    if (!fastYamlAllowed(text)) return true; // the slow path answers, as before
    const got = loadCoreYaml(text, MAX_DEPTH + 2);
    const want = viaYamlPackage(text);
    if (want.error) return !got.ok;
    if (!got.ok) return true; // the slow path answers, as before
    assert.equal(plain(got.value), plain(want.value), text);
    return true;
  }), { numRuns: Number(process.env.OVLNET_PROPERTY_RUNS ?? 3000) });
});

test('documents js-yaml 4.3 misreads take the slow path: the constructs the property tests found', async () => {
  const text = 'root:\n  - - - -\n  - _\n';
  // What the fast path would say: "_" nested into the first entry.
  assert.equal(loadCoreYaml(text, MAX_DEPTH + 2), { ok: true, value: { root: [[[[null, '_']]]] } });
  assert.not.ok(fastYamlAllowed(text));
  assert.equal(await parseDocument(text, 'e.yaml', 'yaml'), { root: [[[[null]]], '_'] });
  // A plain scalar glued to `---`: js-yaml takes it for a document marker.
  assert.equal(loadCoreYaml('---0\n', MAX_DEPTH + 2), { ok: true, value: 0 });
  assert.is(await parseDocument('---0\n', 'e.yaml', 'yaml'), '---0');
  for (const t of ['a:\n  -\n    b: 1\n', '- -\n', '-\n', 'a: [x, -]\n- \n', '---0\n', 'a\n...x\n', '--- a: 1\n', '\ta\n', 'a: "multi\n  line"\n', "a: 'x\n", 'a: "x"#c\n', '[a]: 1\n', '{a: {b: 1}: c}', '  |\n#', 'a: >\n  x\n', 'a: &x 1\nb: *x\n', 'a: !!str 1\n', '%YAML 1.1\n---\na: yes\n', '? a\n: b\n', '{#\n}', '[a,#\n]', 'a: "x\\"\ny\\"z"\n', 'a: x # it\'s\n']) assert.not.ok(fastYamlAllowed(t), JSON.stringify(t));
  for (const t of ['a: -1\n', 'name: node-a\n', '- x\n', 'a: b-\nc: 1\n', '---\na: 1\n...\n', 'a: "x" # c\n', "# flannel's\na: 1\n"]) assert.ok(fastYamlAllowed(t), JSON.stringify(t));
});

test('property: on YAML-ish noise, js-yaml accepts only what the yaml package reads the same way', () => {
  const noise = fc.array(fc.constantFrom('a', '1', '0x1', ' ', '  ', '\n', '- ', ': ', ':', ',', '[', ']', '{', '}', '#', '"', "'", '?', '|', '>', '\t', '---', '...', 'yes', '~', '\\', '.5'), { maxLength: 30 })
    .map((xs) => xs.join(''));
  fc.assert(fc.property(noise, (text) => {
    if (!fastYamlAllowed(text)) return true;
    const got = loadCoreYaml(text, MAX_DEPTH + 2);
    const want = viaYamlPackage(text);
    if (want.error) return !got.ok;
    if (got.ok) assert.equal(plain(got.value), plain(want.value), JSON.stringify(text));
    return true;
  }), { numRuns: Number(process.env.OVLNET_PROPERTY_RUNS ?? 3000) });
});

test('the fast path takes the example cluster file, apostrophes in its comments and all', async () => {
  const text = readFileSync(join(ROOT, 'examples', 'cluster.yaml'), 'utf8');
  assert.match(text, /^#.*'/m, 'the example still has a comment with an apostrophe');
  assert.ok(fastYamlAllowed(text));
  assert.equal(plain(await parseDocument(text, 'cluster.yaml', 'yaml')), plain(viaYamlPackage(text).value));
  // An escaped quote evens a line's count: such a document takes the slow path, which refuses this one.
  const escaped = 'a: "x\\"\ny\\"z"\n';
  assert.equal(loadCoreYaml(escaped, MAX_DEPTH + 2), { ok: true, value: { a: 'x" y"z' } });
  assert.ok(viaYamlPackage(escaped).error);
  await rejectsLike(parseDocument(escaped, 'e.yaml', 'yaml'), SourceError, /^e\.yaml:2:1: invalid YAML: /);
});

test('the fast path takes a whole cluster file (what the bench measures)', () => {
  const nodes = Array.from({ length: 50 }, (_, i) => `  - { name: node-${i}, publicIP: 198.19.0.${i + 1}, subnet: 198.18.${i}.0/30, vtepMAC: "0e:00:00:00:00:${i.toString(16).padStart(2, '0')}" }`);
  const text = `network: 198.18.0.0/16\nsubnetLen: 30\nbackend: { type: vxlan, vni: 1, port: 8472 }\nnodes:\n${nodes.join('\n')}\n`;
  assert.ok(fastYamlAllowed(text));
  const got = loadCoreYaml(text, MAX_DEPTH + 2);
  assert.ok(got.ok);
  assert.equal(got.value, viaYamlPackage(text).value);
});

test.run();
