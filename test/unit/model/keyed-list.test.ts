import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ListEdit, ListIndexer, without } from '../../../src/model/keyed-list.js';

type Item = { k: string; v: number };
const item = (k: string, v: number): Item => ({ k, v });

/** An indexer that counts the keys it builds. */
function counting(): { by: ListIndexer<Item>; calls: () => number } {
  let n = 0;
  return { by: new ListIndexer<Item>((x) => (n++, x.k)), calls: () => n };
}

/** The index of `list` as a fresh build gives it: key -> values in list order. */
function expected(list: readonly Item[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const x of list) (out[x.k] ??= []).push(x.v);
  return out;
}
function asked(by: ListIndexer<Item>, list: readonly Item[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const k of by.index(list, false).keys()) out[k] = by.lookup(list, k).map((x) => x.v);
  return out;
}

type Step = (e: ListEdit<Item>) => void;
const removeKey = (k: string): Step => (e) => { for (const x of e.get(k)) e.remove(x); };
const add = (k: string, v: number): Step => (e) => e.add(item(k, v));

const cases: Array<{ name: string; list: Item[]; steps: Step[]; after: Array<[string, number]> }> = [
  { name: 'nothing edited: the same list', list: [item('a', 1)], steps: [], after: [['a', 1]] },
  { name: 'one removed', list: [item('a', 1), item('b', 2), item('c', 3)], steps: [removeKey('b')], after: [['a', 1], ['c', 3]] },
  { name: 'one replaced: the new one at the end', list: [item('a', 1), item('b', 2), item('c', 3)], steps: [removeKey('a'), add('a', 9)], after: [['b', 2], ['c', 3], ['a', 9]] },
  { name: 'two of one key, one removed', list: [item('a', 1), item('a', 2), item('b', 3)], steps: [(e) => e.remove(e.get('a')[0])], after: [['a', 2], ['b', 3]] },
  { name: 'an addition removed again', list: [item('a', 1)], steps: [add('b', 2), removeKey('b'), add('c', 3)], after: [['a', 1], ['c', 3]] },
  { name: 'removeWhere over the list and the additions', list: [item('a', 1), item('b', 2)], steps: [add('c', 3), (e) => e.removeWhere((x) => x.v !== 2)], after: [['b', 2]] },
];

for (const c of cases) {
  test(`ListEdit: ${c.name}: the list, its handed-on index, and the input untouched`, () => {
    const { by } = counting();
    const input = c.list.slice();
    by.index(input, false); // indexed before, as a model used by an earlier cycle is
    const e = new ListEdit(input, by);
    for (const s of c.steps) s(e);
    const out = e.result();
    assert.equal(out.map((x) => [x.k, x.v]), c.after);
    assert.equal(input, c.list, 'the input list unchanged');
    assert.equal(asked(by, out), expected(out), "the new list's index describes it");
    assert.equal(asked(by, input), expected(input), "the old list's index describes the old list");
    if (!c.steps.length) assert.is(out, input);
  });
}

test('ListEdit: a chain of edits builds the index once, then costs keys per edit only', () => {
  const { by, calls } = counting();
  let list = Array.from({ length: 1000 }, (_, i) => item(`k${i}`, i));
  for (let round = 0; round < 5; round++) {
    const e = new ListEdit(list, by);
    removeKey(`k${round}`)(e);
    add(`k${round}`, 1000 + round)(e);
    list = e.result();
  }
  // 1000 for the first build, then a removal and an addition per round.
  assert.ok(calls() <= 1000 + 5 * 2, `keys built: ${calls()}`);
  assert.equal(asked(by, list), expected(list));
});

test('ListEdit: a read-only lookup leaves the index with its list', () => {
  const { by, calls } = counting();
  const list = [item('a', 1), item('b', 2)];
  assert.equal(new ListEdit(list, by).get('b').map((x) => x.v), [2]);
  assert.equal(new ListEdit(list, by).get('a').map((x) => x.v), [1]);
  assert.is(calls(), 2, 'built once');
});

/** A small deterministic generator (no timing, no Math.random: a failure replays). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
}

const withoutCases: Array<{ name: string; size: number; removals: number; duplicates: boolean; strangers: number }> = [
  { name: 'nothing removed', size: 10, removals: 0, duplicates: false, strangers: 0 },
  { name: 'one of many (an event\'s write)', size: 500, removals: 1, duplicates: false, strangers: 0 },
  { name: 'first and last', size: 50, removals: 2, duplicates: false, strangers: 0 },
  { name: 'an entry listed twice goes twice', size: 40, removals: 3, duplicates: true, strangers: 0 },
  { name: 'entries not in the list (an addition removed again)', size: 40, removals: 2, duplicates: false, strangers: 3 },
  { name: 'at the indexOf limit', size: 100, removals: 16, duplicates: true, strangers: 0 },
  { name: 'past it: one filter', size: 100, removals: 40, duplicates: true, strangers: 2 },
  { name: 'all of them', size: 30, removals: 30, duplicates: false, strangers: 0 },
];

for (const c of withoutCases) {
  test(`without: ${c.name}: the same list as a filter, in order, the input untouched`, () => {
    for (let seed = 1; seed <= 25; seed++) {
      const rnd = lcg(seed * 7919 + c.size);
      const items = Array.from({ length: c.size }, (_, i) => item(`k${i}`, i));
      const list = [...items];
      if (c.duplicates) for (let i = 0; i < 5; i++) list.splice(Math.floor(rnd() * list.length), 0, items[Math.floor(rnd() * items.length)]);
      const removed = new Set<Item>();
      if (c.removals === 2 && c.name.startsWith('first')) removed.add(items[0]).add(items[items.length - 1]);
      while (removed.size < c.removals) removed.add(items[Math.floor(rnd() * items.length)]);
      for (let i = 0; i < c.strangers; i++) removed.add(item(`s${i}`, -i));
      const before = [...list];
      const out = without(list, removed);
      assert.equal(out, list.filter((x) => !removed.has(x)), `seed ${seed}`);
      assert.equal(list, before, 'input untouched');
      assert.is.not(out, list, 'a new array');
    }
  });
}

test('ListIndexer: a key with one entry holds the entry itself, an array only with several (edits keep it so)', () => {
  const { by } = counting();
  const a1 = item('a', 1);
  const a2 = item('a', 2);
  const b = item('b', 3);
  const list = [a1, a2, b];
  const ix = by.index(list, false);
  const table: Array<[key: string, held: unknown]> = [['a', [a1, a2]], ['b', b], ['z', undefined]];
  for (const [key, held] of table) assert.equal(ix.get(key), held, key);
  assert.equal(by.lookup(list, 'b'), [b]);
  assert.equal(by.lookup(list, 'z'), []);
  const e = new ListEdit(list, by);
  e.remove(a1);
  e.add(item('c', 4));
  e.add(item('b', 5));
  const out = e.result();
  const after = by.index(out, false);
  assert.is(after.get('a'), a2, 'one left: held alone');
  assert.ok(!Array.isArray(after.get('c')));
  assert.equal((after.get('b') as Item[]).map((x) => x.v), [3, 5]);
});

test.run();
