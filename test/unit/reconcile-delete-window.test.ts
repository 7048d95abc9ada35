// The --max-delete guard over a sliding window (reconcile/delete-window.ts),
// with a fake clock: a source shrinking in steps is stopped at the limit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeleteWindow } from '../../src/reconcile/delete-window.js';
import { parseMaxDelete } from '../../src/reconcile/guard.js';

type Step = { at: number; peers: number; removing: number; refused: boolean };
const MIN = 60_000;

// Each row: the limit, the window, then the cycles in order (a refused cycle removes nothing).
const scenarios: Array<[string, string | undefined, number, Step[]]> = [
  ['100 peers shrinking by 10 per second: stopped at half', undefined, 5 * MIN, [
    { at: 0, peers: 100, removing: 10, refused: false },
    { at: 1000, peers: 90, removing: 10, refused: false },
    { at: 2000, peers: 80, removing: 10, refused: false },
    { at: 3000, peers: 70, removing: 10, refused: false },
    { at: 4000, peers: 60, removing: 10, refused: false },
    { at: 5000, peers: 50, removing: 10, refused: true },
    { at: 6000, peers: 50, removing: 1, refused: true },
  ]],
  ['the window slides: removals resume once the old ones age out', undefined, 5 * MIN, [
    { at: 0, peers: 10, removing: 5, refused: false },
    { at: 1 * MIN, peers: 5, removing: 1, refused: true },
    { at: 5 * MIN - 1, peers: 5, removing: 1, refused: true },
    { at: 5 * MIN, peers: 5, removing: 2, refused: false },
  ]],
  ['a count limit is per window', '3', MIN, [
    { at: 0, peers: 50, removing: 2, refused: false },
    { at: 10_000, peers: 48, removing: 1, refused: false },
    { at: 20_000, peers: 47, removing: 1, refused: true },
    { at: 69_999, peers: 47, removing: 3, refused: true },
    { at: 70_000, peers: 47, removing: 3, refused: false },
  ]],
  ['a percentage of the peers when the window began', '20%', MIN, [
    { at: 0, peers: 20, removing: 3, refused: false },
    { at: 1000, peers: 17, removing: 1, refused: false },
    { at: 2000, peers: 16, removing: 1, refused: true },
  ]],
  ['additions do not count; one cycle alone is still the per-run guard\'s (here also refused)', undefined, MIN, [
    { at: 0, peers: 4, removing: 0, refused: false },
    { at: 1000, peers: 4, removing: 3, refused: true },
    { at: 2000, peers: 4, removing: 2, refused: false },
  ]],
];

for (const [name, limit, windowMs, steps] of scenarios) {
  test(`DeleteWindow: ${name}`, () => {
    let now = 0;
    const w = new DeleteWindow(windowMs, () => now);
    const max = parseMaxDelete(limit);
    for (const s of steps) {
      now = s.at;
      const v = w.check(s.removing, s.peers, max);
      assert.is(v.refused, s.refused, `at ${s.at} ms: ${JSON.stringify(v)}`);
      if (!v.refused) w.record(s.removing);
    }
  });
}

test('DeleteWindow: memory stays bounded under many small removals, and nothing is forgotten early', () => {
  let now = 0;
  const w = new DeleteWindow(MIN, () => now);
  for (let i = 0; i < 5000; i++) {
    now = i;
    w.record(1);
  }
  assert.is(w.removedWithin(), 5000);
  assert.ok((w as unknown as { records: unknown[] }).records.length <= 1024);
  now = 5000 + MIN;
  assert.is(w.removedWithin(), 0);
});

test.run();
