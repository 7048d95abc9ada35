import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PermissionError } from '../../../src/errors.js';
import type { Batch } from '../../../src/engine/batches.js';
import type { BatchWriters } from '../../../src/host/batch-writer.js';
import { realHost } from '../../../src/host/real.js';
import type { Change } from '../../../src/model/types.js';

/** Long-lived writers that take every batch without running ip or bridge. */
function fakeWriters(): { writers: BatchWriters; batches: string[][] } {
  const batches: string[][] = [];
  const writers = { write: async (_tool: string, lines: readonly string[]) => (batches.push([...lines]), { errors: new Map() }) };
  return { writers: writers as unknown as BatchWriters, batches };
}

const change = { kind: 'neigh', action: 'add', key: 'neigh:x' } as unknown as Change;
const batch = (line: string): Batch[][] => [[{ tool: 'ip', lines: [{ line, change }] }]];

/** The capability check as the writes see it: fails the first `failing` times, then passes; counts its calls. */
function check(failing: number): { canWrite: () => void; calls: () => number } {
  let n = 0;
  return {
    canWrite: () => {
      n++;
      if (n <= failing) throw new PermissionError('changing the network needs root (CAP_NET_ADMIN)', 'run it with sudo');
    },
    calls: () => n,
  };
}

const cases: Array<{ name: string; failing: number; writes: Batch[][][]; calls: number; written: number; errors: number }> = [
  { name: 'an empty write asks nothing', failing: 0, writes: [[], [[]]], calls: 0, written: 0, errors: 0 },
  { name: 'asked before the first write only (a daemon writes once per event)', failing: 0, writes: [batch('a'), batch('b'), batch('c')], calls: 1, written: 3, errors: 0 },
  { name: 'a refusal is not remembered: asked again until it passes', failing: 2, writes: [batch('a'), batch('b'), batch('c'), batch('d')], calls: 3, written: 2, errors: 2 },
];

for (const c of cases) {
  test(`realHost write: ${c.name}`, async () => {
    const { writers, batches } = fakeWriters();
    const { canWrite, calls } = check(c.failing);
    const host = realHost(undefined, writers, canWrite);
    let errors = 0;
    for (const phases of c.writes) {
      try {
        await host.write(phases);
      } catch (e) {
        assert.instance(e, PermissionError);
        errors++;
      }
    }
    assert.is(calls(), c.calls, 'capability checks');
    assert.is(batches.length, c.written, 'batches written');
    assert.is(errors, c.errors, 'permission errors');
  });
}

test.run();
