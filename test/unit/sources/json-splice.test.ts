import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isAscii } from 'node:buffer';
import { asciiBase, nodeSpans, spliceAscii, spliceJson, type JsonBase } from '../../../src/sources/json-splice.js';

/** A small deterministic generator (a failure replays from its seed). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
}

type Doc = { network: string; backend: Record<string, unknown>; nodes: unknown[] };

function node(i: number, salt: number, rnd: () => number): Record<string, unknown> {
  const n: Record<string, unknown> = { name: `node-${i}`, publicIP: `192.0.2.${i % 250}`, subnet: `198.18.${i % 250}.0/24`, vtepMAC: `0e:00:00:00:${(salt & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}` };
  if (rnd() < 0.2) n.backendData = { VtepMAC: n.vtepMAC, note: 'a "quoted" \\ value, ] } [ {' };
  if (rnd() < 0.1) n['nod\u0065s'] = [1, 2, { x: null }];
  return n;
}

/** JSON text in one of the shapes people write: one line, indented, or spaced oddly. */
function render(doc: unknown, style: number): string {
  if (style === 0) return JSON.stringify(doc);
  if (style === 1) return JSON.stringify(doc, null, 2) + '\n';
  return ' \n' + JSON.stringify(doc, null, '\t').replace(/,\n/g, ' ,\n') + '\r\n';
}

/** One edit of the text: what a config manager or a person might do, including the ones that may not splice. */
function edit(doc: Doc, rnd: () => number): Doc {
  const next: Doc = { ...doc, nodes: [...doc.nodes] };
  const k = Math.floor(rnd() * next.nodes.length);
  const r = rnd();
  if (r < 0.45) next.nodes[k] = node(k, Math.floor(rnd() * 1000), rnd); // one node's values
  else if (r < 0.55) next.nodes[k] = Object.fromEntries(Object.entries(next.nodes[k] as object).reverse()); // key order
  else if (r < 0.62) next.nodes[k] = 'not a mapping';
  else if (r < 0.68) next.nodes.splice(k, 1); // a node removed
  else if (r < 0.74) next.nodes.splice(k, 0, node(900 + k, 1, rnd)); // a node added
  else if (r < 0.8) next.network = `10.${Math.floor(rnd() * 250)}.0.0/16`; // the config
  else if (r < 0.86) { // two nodes, next to each other or anywhere (far apart in a large document)
    const j = rnd() < 0.5 ? (k + 1) % next.nodes.length : Math.floor(rnd() * next.nodes.length);
    next.nodes[k] = node(k, 7, rnd);
    next.nodes[j] = node(j, 8, rnd);
  }
  else if (r < 0.92) next.nodes[k] = [1, [2, [3]]];
  else next.nodes[k] = { ...(next.nodes[k] as object), name: `node-${k}\u00e9\u2028` };
  return next;
}

test('spliceJson: on random edit sequences, every splice equals JSON.parse of the new text (values and key order)', () => {
  let spliced = 0;
  let whole = 0;
  let asciiCompared = 0;
  // The last seeds' documents are larger than the comparisons' chunks (4 KB of text, 16 KB of bytes).
  for (let seed = 1; seed <= 66; seed++) {
    const rnd = lcg(seed);
    const style = seed % 3;
    const size = seed > 60 ? 300 + Math.floor(rnd() * 300) : 1 + Math.floor(rnd() * 40);
    let doc: Doc = { network: '198.18.0.0/16', backend: { type: 'vxlan', vni: 1 }, nodes: Array.from({ length: size }, (_, i) => node(i, 0, rnd)) };
    let text = render(doc, style);
    let base: JsonBase = { text, doc: JSON.parse(text) };
    // The same edits compared as bytes (spliceAscii): the same decisions and documents whenever both texts are ASCII.
    let abase: JsonBase = isAscii(Buffer.from(text)) ? asciiBase(Buffer.from(text), JSON.parse(text)) : { text, doc: JSON.parse(text) };
    for (let step = 0; step < 40; step++) {
      if (doc.nodes.length === 0) doc.nodes.push(node(0, 0, rnd));
      doc = edit(doc, rnd);
      text = render(doc, style);
      const want = JSON.parse(text);
      const got = spliceJson(base, text);
      const bytes = Buffer.from(text);
      const gotAscii = spliceAscii(abase, bytes);
      if (abase.ascii && isAscii(bytes)) {
        asciiCompared++;
        assert.equal(gotAscii && [gotAscii.index, JSON.stringify(gotAscii.doc), [...gotAscii.base.spans!]], got && [got.index, JSON.stringify(got.doc), [...got.base.spans!]], `bytes, seed ${seed} step ${step}`);
        if (gotAscii) assert.is(gotAscii.base.text, text, `bytes, seed ${seed} step ${step}: the text made from the bytes`);
      } else {
        assert.is(gotAscii, undefined, 'not ASCII: not spliced as bytes');
      }
      abase = gotAscii?.base ?? (isAscii(bytes) ? asciiBase(bytes, JSON.parse(text)) : { text, doc: JSON.parse(text) });
      if (got) {
        spliced++;
        assert.equal(JSON.stringify(got.doc), JSON.stringify(want), `seed ${seed} step ${step}`);
        assert.equal(got.value, want.nodes[got.index]);
        base = got.base;
        // The spans carried on describe the new text as a fresh scan does.
        assert.equal([...base.spans!], [...nodeSpans(text, want.nodes.length)!], `spans, seed ${seed} step ${step}`);
      } else {
        whole++;
        base = { text, doc: want };
      }
    }
  }
  assert.ok(spliced > 500, `most single-node edits splice (${spliced})`);
  assert.ok(whole > 300, `the others parse whole (${whole})`);
  assert.ok(asciiCompared > 500, `most edits compared as bytes too (${asciiCompared})`);
});

const whole: Array<{ name: string; before: string; after: string }> = [
  { name: 'the same text', before: '{"nodes":[{"a":1}]}', after: '{"nodes":[{"a":1}]}' },
  { name: 'a node added', before: '{"nodes":[{"a":1}]}', after: '{"nodes":[{"a":1},{"a":2}]}' },
  { name: 'a node removed', before: '{"nodes":[{"a":1},{"a":2}]}', after: '{"nodes":[{"a":1}]}' },
  { name: 'the config changed', before: '{"network":"a","nodes":[{"a":1}]}', after: '{"network":"b","nodes":[{"a":1}]}' },
  { name: 'two nodes changed', before: '{"nodes":[{"a":1},{"a":2}]}', after: '{"nodes":[{"a":3},{"a":4}]}' },
  { name: 'a half-written element', before: '{"nodes":[{"a":1},{"a":2}]}', after: '{"nodes":[{"a":1},{"a":' },
  { name: 'a broken element', before: '{"nodes":[{"a":1}]}', after: '{"nodes":[{"a":1,}]}' },
  { name: 'an element split in two', before: '{"nodes":[{"a":1}]}', after: '{"nodes":[{"a":1},{"b":1}]}' },
  { name: 'two "nodes" keys (JSON.parse keeps the last)', before: '{"nodes":[{"a":1}],"nod\\u0065s":[{"a":2}]}', after: '{"nodes":[{"a":9}],"nod\\u0065s":[{"a":2}]}' },
  { name: 'no nodes list', before: '{"nodes":{"a":1}}', after: '{"nodes":{"a":2}}' },
  { name: 'whitespace between elements (outside any)', before: '{"nodes":[{"a":1} ,{"a":2}]}', after: '{"nodes":[{"a":1}   ,{"a":2}]}' },
  { name: 'an empty list', before: '{"nodes":[]}', after: '{"nodes":[1]}' },
];

// Larger than the comparisons' chunks: a change past the first node's must not be missed by a comparison from the end.
const bigNodes = Array.from({ length: 1000 }, (_, i) => ({ name: `node-${i}`, vtepMAC: `0e:00:00:00:00:${(i & 255).toString(16).padStart(2, '0')}` }));
const bigBefore = JSON.stringify({ nodes: bigNodes });
for (const far of [2, 400, 998, 999]) {
  whole.push({ name: `nodes 1 and ${far} of 1 000 (${bigBefore.length} bytes)`, before: bigBefore, after: JSON.stringify({ nodes: bigNodes.map((n, i) => (i === 1 || i === far ? { ...n, vtepMAC: '0e:ff:ff:ff:ff:ff' } : n)) }) });
}

for (const c of whole) {
  test(`spliceJson: parses whole (undefined): ${c.name}`, () => {
    assert.is(spliceJson({ text: c.before, doc: JSON.parse(c.before) }, c.after), undefined);
    assert.is(spliceAscii(asciiBase(Buffer.from(c.before), JSON.parse(c.before)), Buffer.from(c.after)), undefined, 'as bytes');
  });
}

const spliceable: Array<{ name: string; before: string; after: string; index: number }> = [
  { name: 'a value in the first node', before: '{"nodes":[{"a":1},{"a":2}]}', after: '{"nodes":[{"a":10},{"a":2}]}', index: 0 },
  { name: 'the last node, grown', before: '{"nodes":[{"a":1},{"a":2}],"x":1}', after: '{"nodes":[{"a":1},{"a":2,"b":[1,{"c":"]"}]}],"x":1}', index: 1 },
  { name: 'a string with escapes and brackets', before: '{"nodes":[{"a":"x"},{"a":"y"}]}', after: '{"nodes":[{"a":"x"},{"a":"y\\"]}{["}]}', index: 1 },
];

for (const c of spliceable) {
  test(`spliceJson: splices: ${c.name}`, () => {
    const got = spliceJson({ text: c.before, doc: JSON.parse(c.before) }, c.after);
    assert.ok(got);
    assert.is(got.index, c.index);
    assert.equal(JSON.stringify(got.doc), JSON.stringify(JSON.parse(c.after)));
  });
}

test('spliceJson: the untouched nodes are the base\'s own objects; the base is not modified', () => {
  const before = '{"network":"n","nodes":[{"a":1},{"a":2},{"a":3}]}';
  const doc = JSON.parse(before);
  const nodes = doc.nodes;
  const got = spliceJson({ text: before, doc }, '{"network":"n","nodes":[{"a":1},{"a":5},{"a":3}]}')!;
  assert.is((got.doc.nodes as unknown[])[0], nodes[0]);
  assert.is((got.doc.nodes as unknown[])[2], nodes[2]);
  assert.is.not(got.doc, doc);
  assert.equal(doc, { network: 'n', nodes: [{ a: 1 }, { a: 2 }, { a: 3 }] });
});

test.run();
