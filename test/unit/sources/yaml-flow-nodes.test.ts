// The one-line-per-node reader (src/sources/yaml-flow-nodes.ts) must read
// every document it takes exactly as js-yaml with the core schema did (and
// so as the yaml package does), and give up on anything else: js-yaml, then
// the yaml package, answer those as before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import * as YAML from 'yaml';
import { loadFlowNodes } from '../../../src/sources/yaml-flow-nodes.js';
import { loadCoreYaml } from '../../../src/sources/yaml-core.js';
import { fastYamlAllowed, MAX_DEPTH, parseDocument } from '../../../src/sources/parse-limits.js';
import { SourceError } from '../../../src/errors.js';
import { rejectsLike } from '../support/build.js';

const DEPTH = MAX_DEPTH + 2;

function viaYamlPackage(text: string): { value?: unknown; error: boolean } {
  const d = YAML.parseDocument(text, { merge: false, uniqueKeys: true });
  if (d.errors.length) return { error: true };
  return { value: d.toJS({ maxAliasCount: 50 }), error: false };
}

/** Objects as lists of entries (key order counts; a key named `constructor` cannot fool the comparison). */
const plain = (v: unknown): unknown => (v === null || typeof v !== 'object' ? (Number.isNaN(v) ? 'NaN' : v)
  : Array.isArray(v) ? v.map(plain) : { entries: Object.entries(v).map(([k, x]) => [k, plain(x)]) });

/** Scalars whose YAML type is a trap, and the ones cluster files hold. */
const SCALARS = [
  'yes', 'no', 'on', 'off', 'y', 'n', '~', 'null', 'Null', 'NULL', 'nULL', 'true', 'True', 'TRUE', 'tRUE', 'false', 'False', 'FALSE',
  '0x1F', '0X1F', '0x', '0o17', '0O17', '0o8', '017', '08', '0b101', '1_000', '+12', '-12', '-0', '0', '99999999999999999999',
  '1e3', '1E3', '1e+3', '-1.5e-3', '1.5', '.5', '5.', '1.2.3', '.inf', '-.Inf', '.nan', 'inf', 'nan', 'NaN', 'Infinity',
  '2001-12-14', '12:30', '1:20', '0e:5a:3c:11:22:33', '10.244.0.0/16', '192.168.121.137', 'fe80::1', 'node-a', 'node_b', 'a-', 'a.b/c+d',
  '<<', '=', '-', '__proto__', 'constructor', 'a b', 'vxlan', 'host-gw', 'a#b', 'a,b', 'a}', 'x:', '',
];
const SAFE = SCALARS.filter((x) => /^[A-Za-z0-9][A-Za-z0-9_./+-]*$/.test(x));
const value = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SAFE) },
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/+-]{0,9}$/) },
  { weight: 2, arbitrary: fc.constantFrom(...SCALARS).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.constantFrom(...SCALARS).map((s) => `'${s}'`) },
  { weight: 1, arbitrary: fc.constantFrom(...SCALARS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._/+:-]{1,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom('"a\\tb"', '"\\u00e9"', "'it''s'", '"é"', '"a, b"', '"{x}"', "'[y]'", '"a: b"', '[1, 2]', '{a: 1}') },
);
const key = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('name', 'publicIP', 'subnet', 'vtepMAC', 'publicIPv6', 'ipv6Subnet', 'vtepMACv6', 'Name', '_x', 'a1', 'constructor', 'toString', 'yes', 'on', 'n') },
  { weight: 1, arbitrary: fc.constantFrom('null', 'true', 'False', '__proto__') },
  { weight: 1, arbitrary: fc.constantFrom(...SCALARS) },
);
const pairSep = fc.constantFrom(', ', ',', ' , ', ',  ');
const pairs = fc.array(fc.tuple(key, fc.constantFrom(': ', ': ', ': ', ':  ', ':'), value), { minLength: 0, maxLength: 4 });
const braces = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(['{ ', ' }'], ['{', '}'], ['{  ', '}']) }, { weight: 1, arbitrary: fc.constantFrom(['{ ', ' } '], ['{ ', ', }']) });
const nodeLine = fc.tuple(pairs, pairSep, braces)
  .map(([ps, sep, [open, close]]) => `- ${open}${ps.map(([k, c, v]) => `${k}${c}${v}`).join(sep)}${close}`);
const line = fc.oneof(
  { weight: 30, arbitrary: nodeLine },
  { weight: 1, arbitrary: fc.constantFrom('', '  # a comment', '\t- {a: 1}', '- {a: 1} # c', '-  {a: 1}', '- {a: 1}\r', '- {}', '- { a: 1,\n    b: 2 }', 'other: 1', '- a') },
);
const head = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('', 'network: 198.18.0.0/16\n', 'network: 198.18.0.0/16\nsubnetLen: 30\nbackend: { type: vxlan, vni: 1, port: 8472 }\n', 'backend:\n  type: vxlan\n  vni: 1\n') },
  { weight: 2, arbitrary: fc.constantFrom('# comment\nnetwork: x\n', '---\nnetwork: x\n', 'list:\n- a\n- b\n', 'a: foo\n  bar\n', 'network: "x"\n') },
  { weight: 1, arbitrary: fc.constantFrom('nodes: []\n', 'backend: {\n', 'a: 1\n...\n', '  network: x\n', '[a]\n') },
);
const doc = fc.tuple(head, fc.constantFrom('', '  ', '    ', ' '), fc.array(line, { maxLength: 5 }), fc.boolean())
  .map(([h, indent, lines, finalNewline]) => `${h}nodes:\n${lines.map((l) => (l === '' ? '' : indent + l)).join('\n')}${finalNewline ? '\n' : ''}`);

test('property: what the line reader takes, js-yaml and the yaml package read the same way; what they refuse, it refuses', () => {
  let taken = 0;
  const runs = Number(process.env.OVLNET_PROPERTY_RUNS ?? 3000);
  fc.assert(fc.property(doc, (text) => {
    if (!fastYamlAllowed(text)) return true; // parse-limits.ts never asks it
    const got = loadFlowNodes(text, DEPTH);
    const js = loadCoreYaml(text, DEPTH);
    if (got === undefined) return true; // js-yaml answers, as before
    taken++;
    assert.ok(got.ok, text);
    assert.ok(js.ok, `js-yaml refuses what the line reader took: ${JSON.stringify(text)}`);
    assert.equal(plain(got.value), plain(js.value), JSON.stringify(text));
    const y = viaYamlPackage(text);
    assert.not.ok(y.error, JSON.stringify(text));
    assert.equal(plain(got.value), plain(y.value), JSON.stringify(text));
    return true;
  }), { numRuns: runs });
  // About 3 % of the generated documents are taken.
  assert.ok(taken > runs / 100, `the generator reaches the line reader (${taken} documents taken)`);
});

test('the layout generated files use is taken, whatever the indent and spacing; scalars typed as the core schema says', () => {
  const text = 'network: 198.18.0.0/16\nbackend: { type: vxlan, vni: 1 }\nnodes:\n- {name: a, publicIP: 198.19.0.1, vni: 0x10, n: 08, f: 1e3, b: true, z: null, s: "0e:00:00:00:00:01", q: \'yes\', u: node_b}\n\n- { name: b ,  x: 1.5 }\n';
  const got = loadFlowNodes(text, DEPTH);
  assert.ok(got?.ok);
  assert.equal(got!.value, {
    network: '198.18.0.0/16', backend: { type: 'vxlan', vni: 1 },
    nodes: [{ name: 'a', publicIP: '198.19.0.1', vni: 16, n: 8, f: 1000, b: true, z: null, s: '0e:00:00:00:00:01', q: 'yes', u: 'node_b' }, { name: 'b', x: 1.5 }],
  });
  assert.equal(got!.value, loadCoreYaml(text, DEPTH).value);
});

test('not taken (js-yaml or the yaml package answers): no node line, a repeated key, a key that is not a plain string, a head that swallows the nodes line', () => {
  const rows = [
    'network: x\nnodes:\n', 'network: x\nnodes:\n\n', 'nodes:\n  - {name: x, name: y}\n', 'nodes:\n  - {null: x}\n', 'nodes:\n  - {__proto__: x}\n',
    'nodes:\n  - {true: x}\n', 'backend: {\nnodes:\n  - {a: 1}\n', 'nodes: []\nnodes:\n  - {a: 1}\n', 'a: 1\n...\nnodes:\n  - {a: 1}\n',
    'nodes:\n  - {a: 1}\n - {b: 2}\n', 'nodes:\n  - {a: 1}\nother: 2\n', 'nodes:\r\n  - {a: 1}\r\n', 'nodes:\n  - {a: x y}\n', 'nodes:\n  - {a: 1,}\n',
    'nodes:\n  - {a: 1}\n', // maxDepth 3 below
  ];
  for (const [i, text] of rows.entries()) assert.is(loadFlowNodes(text, i === rows.length - 1 ? 3 : DEPTH), undefined, JSON.stringify(text));
});

test('parseDocument: the same values and the same errors as before the line reader', async () => {
  const e = await rejectsLike(parseDocument('network: x\nnodes:\n  - {name: x, name: y}\n', 'c.yaml', 'yaml'), SourceError, /./);
  assert.match(e.message, /^c\.yaml:3:\d+: invalid YAML: Map keys must be unique/);
  assert.equal(await parseDocument('nodes:\n  - { name: a, publicIP: 198.19.0.1 }\n', 'c.yaml', 'yaml'), { nodes: [{ name: 'a', publicIP: '198.19.0.1' }] });
  assert.equal(await parseDocument('nodes:\n', 'c.yaml', 'yaml'), { nodes: null });
  const p = await parseDocument('nodes:\n  - { __proto__: 1 }\n', 'p.yaml', 'yaml') as { nodes: Array<Record<string, unknown>> };
  assert.equal(Object.keys(p.nodes[0]), ['__proto__']);
});

test.run();
