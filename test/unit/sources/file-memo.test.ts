// The file source's memo of its last good read (file-memo.ts): an unchanged
// node (equal value for value, keys in the same order, at the same place)
// is the RawNode made last time, checked and printed once; anything else is
// made anew, and the state equals a fresh read's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeMemo, sameValue } from '../../../src/sources/file-memo.js';
import { FileSource } from '../../../src/sources/file.js';
import { SourceError } from '../../../src/errors.js';

const same: Array<[string, unknown, unknown, boolean]> = [
  ['equal scalars', 'a', 'a', true],
  ['other scalars', 1, '1', false],
  ['null and an object', null, {}, false],
  ['equal objects', { a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } }, true],
  ['a nested value differs', { a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } }, false],
  ['keys in another order (a mapping of two spellings may depend on it)', { a: 1, b: 2 }, { b: 2, a: 1 }, false],
  ['a key more', { a: 1 }, { a: 1, b: undefined }, false],
  ['an array and an object', [1], { 0: 1 }, false],
  ['arrays of other lengths', [1], [1, 1], false],
];
for (const [name, a, b, want] of same) test(`sameValue: ${name}`, () => assert.is(sameValue(a, b), want));

test('NodeMemo: the RawNode of an unchanged mapping at the same place; none for a moved, changed or non-mapping entry', () => {
  const isMapping = (n: unknown) => typeof n === 'object' && n !== null && !Array.isArray(n);
  const nodes = [{ name: 'a' }, 7, { name: 'b' }];
  const raws = [{ origin: 'f: nodes[0]', name: 'a' }, { origin: 'f: nodes[2]', name: 'b' }];
  const r = NodeMemo.of(nodes, raws, isMapping).reader();
  assert.is(r.raw({ name: 'a' }, 0), raws[0]);
  assert.is(r.raw({ name: 'b' }, 2), raws[1]);
  assert.is(r.raw(7, 1), undefined, 'no RawNode for an entry that was no mapping');
  assert.is(NodeMemo.of(nodes, raws, isMapping).reader().raw({ name: 'a' }, 2), undefined, 'another place: another origin');
  assert.is(NodeMemo.of(nodes, raws, isMapping).reader().raw({ name: 'b', x: 1 }, 2), undefined);
  assert.is(r.raw({ name: 'a' }, 3), undefined, 'beyond the memo');
});

const json = (nodes: Array<Record<string, unknown>>) => JSON.stringify({ network: '10.0.0.0/8', backend: { type: 'vxlan' }, nodes });
const nodeN = (i: number, mac = `0e:00:00:00:00:${i.toString(16).padStart(2, '0')}`) => ({ name: `n${i}`, publicIP: `192.0.2.${i + 1}`, subnet: `10.0.${i}.0/24`, vtepMAC: mac });

test('FileSource: a re-read keeps the unchanged nodes\' RawNodes, makes the changed ones anew, and equals a fresh read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-unit-'));
  try {
    const p = join(dir, 'cluster.json');
    const put = (text: string) => { writeFileSync(`${p}.tmp`, text); renameSync(`${p}.tmp`, p); };
    const nodes = [0, 1, 2, 3].map((i) => nodeN(i));
    put(json(nodes));
    const src = new FileSource(`file:${p}`);
    const first = await src.load();
    nodes[2] = nodeN(2, '0e:00:00:00:00:22');
    put(json(nodes));
    const u = await src.update();
    assert.equal(u.delta?.upserts.map((x) => x.name), ['n2']);
    const second = await u.state();
    assert.equal(second.nodes.map((n, i) => n === first.nodes[i]), [true, true, false, true], 'the unchanged nodes are the same objects');
    assert.equal(second, await new FileSource(`file:${p}`).load(), 'the same state as a fresh read');
    // A bad key in a changed node is still refused; an unchanged node is not checked again, and the memo stays the last good read's.
    put(json([...nodes.slice(0, 3), { ...nodes[3], subnett: 'x' }]));
    try {
      await src.load();
      assert.unreachable('an unknown key was taken');
    } catch (e) {
      assert.instance(e, SourceError);
      assert.match((e as Error).message, /nodes\[3\]: unknown key "subnett"/);
    }
    put(json(nodes));
    const third = await src.load();
    assert.equal(third.nodes.map((n, i) => n === second.nodes[i]), [true, true, true, true]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
