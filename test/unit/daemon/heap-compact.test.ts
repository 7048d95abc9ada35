import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compactHeap } from '../../../src/daemon/heap-compact.js';

// The start's pattern: many objects, a few of them kept, spread over every
// page. V8's own collections free the rest but keep the pages.
test('compactHeap hands back the pages of a fragmented old generation', () => {
  let all: Array<{ i: number; a: number[] }> | undefined = [];
  for (let i = 0; i < 400_000; i++) all.push({ i, a: [i, i + 1] });
  const kept = all.filter((_, i) => i % 20 === 0);
  all = undefined;
  const c = compactHeap();
  assert.ok(c.heapAfter < c.heapBefore * 0.7, `heap ${c.heapBefore} -> ${c.heapAfter} bytes`);
  assert.is(kept.length, 20_000);
});

test.run();
