import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backoffDelay, Scheduler } from '../../../src/daemon/scheduler.js';
import { FakeClock, flush } from '../../lib/fake-clock.js';

interface Run {
  at: number;
  reasons: string[];
  finish(ok: boolean): void;
  done: boolean;
}

/** A scheduler whose cycles the test finishes by hand (or that finish at once with `auto`). */
function harness(o: { intervalMs?: number; coalesceMs?: number; sourceCoalesceMs?: number; maxEventGapMs?: number; backoffInitialMs?: number; backoffMaxMs?: number; auto?: () => boolean; durationMs?: number } = {}) {
  const clock = new FakeClock();
  const runs: Run[] = [];
  let active = 0;
  let maxActive = 0;
  const s = new Scheduler({
    intervalMs: o.intervalMs ?? 10_000,
    coalesceMs: o.coalesceMs ?? 50,
    sourceCoalesceMs: o.sourceCoalesceMs,
    maxEventGapMs: o.maxEventGapMs ?? 1000,
    backoffInitialMs: o.backoffInitialMs ?? 1000,
    backoffMaxMs: o.backoffMaxMs ?? 30_000,
    clock,
    run: (reasons) => new Promise<boolean>((resolve) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const r: Run = {
        at: clock.now(), reasons, done: false,
        finish: (ok) => { if (!r.done) { r.done = true; active--; resolve(ok); } },
      };
      runs.push(r);
      if (o.durationMs !== undefined) clock.setTimeout(() => r.finish(true), o.durationMs);
      else if (o.auto) r.finish(o.auto());
    }),
  });
  return { clock, s, runs, maxActive: () => maxActive };
}

test('start runs the first cycle at once', async () => {
  const h = harness({ auto: () => true });
  h.s.start();
  await h.clock.advance(0);
  assert.is(h.runs.length, 1);
  assert.equal(h.runs[0].reasons, ['start']);
});

test('a burst of events within the coalescing window is one cycle', async () => {
  const h = harness({ auto: () => true, coalesceMs: 50 });
  h.s.start();
  await h.clock.advance(0);
  for (let i = 0; i < 20; i++) {
    h.s.notify('watch');
    await h.clock.advance(2);
  }
  await h.clock.advance(100);
  assert.is(h.runs.length, 2, 'start + one coalesced cycle');
  assert.is(h.runs[1].at, 50, 'the window starts at the first event, later events do not extend it');
  assert.equal(h.runs[1].reasons, ['watch']);
});

test('events far apart are separate cycles', async () => {
  const h = harness({ auto: () => true });
  h.s.start();
  await h.clock.advance(0);
  h.s.notify();
  await h.clock.advance(500);
  h.s.notify();
  await h.clock.advance(500);
  assert.is(h.runs.length, 3);
});

test('cycles never overlap: events during a cycle give exactly one more cycle after it', async () => {
  const h = harness({ coalesceMs: 50 });
  h.s.start();
  await h.clock.advance(0);
  assert.is(h.runs.length, 1);
  for (let i = 0; i < 5; i++) {
    h.s.notify('watch');
    h.s.force('sighup');
    await h.clock.advance(1000);
  }
  assert.is(h.runs.length, 1, 'nothing starts while the first cycle runs');
  h.runs[0].finish(true);
  await h.clock.advance(0);
  assert.is(h.runs.length, 2, 'a forced rerun starts right after');
  assert.equal(h.runs[1].reasons.sort(), ['sighup', 'watch']);
  h.runs[1].finish(true);
  await h.clock.advance(1000);
  assert.is(h.runs.length, 2);
  assert.is(h.maxActive(), 1);
});

test('an event during a cycle reruns after the coalescing delay', async () => {
  const h = harness({ coalesceMs: 50 });
  h.s.start();
  await h.clock.advance(0);
  h.s.notify();
  await h.clock.advance(10);
  h.runs[0].finish(true);
  await h.clock.advance(49);
  assert.is(h.runs.length, 1);
  await h.clock.advance(1);
  assert.is(h.runs.length, 2);
});

test('full resync every interval after success', async () => {
  const h = harness({ auto: () => true, intervalMs: 1000 });
  h.s.start();
  await h.clock.advance(3500);
  assert.equal(h.runs.map((r) => r.at), [0, 1000, 2000, 3000]);
  assert.equal(h.runs[1].reasons, ['resync']);
});

test('an event resets the resync timer to one interval after its cycle', async () => {
  const h = harness({ auto: () => true, intervalMs: 1000, coalesceMs: 50 });
  h.s.start();
  await h.clock.advance(600);
  h.s.notify();
  await h.clock.advance(1100);
  assert.equal(h.runs.map((r) => r.at), [0, 650, 1650], 'no resync at 1000: the event cycle at 650 moved it');
});

test('failures back off exponentially up to the cap, success resets', async () => {
  let ok = false;
  const h = harness({ auto: () => ok, intervalMs: 10_000, backoffInitialMs: 1000, backoffMaxMs: 8000 });
  h.s.start();
  await h.clock.advance(40_000);
  const at = h.runs.map((r) => r.at);
  assert.equal(at.slice(0, 7), [0, 1000, 3000, 7000, 15000, 23000, 31000]);
  assert.ok(h.runs.slice(1).every((r) => r.reasons[0] === 'retry'));
  ok = true;
  const n = h.runs.length;
  const last = h.runs[n - 1].at;
  await h.clock.advance(last + 8000 - h.clock.now() + 1);
  assert.is(h.runs.length, n + 1, 'the retry after the cap succeeds');
  const okAt = h.runs[n].at;
  await h.clock.advance(10_000);
  assert.is(h.runs[n + 1].at, okAt + 10_000, 'after a success the interval applies again');
  assert.is(h.s.failures, 0);
});

test('a source event runs a cycle during backoff (it is usually the fix)', async () => {
  let ok = false;
  const h = harness({ auto: () => ok, backoffInitialMs: 1000 });
  h.s.start();
  await h.clock.advance(7001); // runs at 0, 1000, 3000, 7000; next retry at 15000
  assert.is(h.runs.length, 4);
  ok = true;
  h.s.notify('watch');
  await h.clock.advance(50);
  assert.is(h.runs.length, 5);
  assert.is(h.runs[4].at, 7051);
});

test('force (SIGHUP) runs now and restarts the backoff', async () => {
  const h = harness({ auto: () => false, backoffInitialMs: 1000 });
  h.s.start();
  await h.clock.advance(7001);
  assert.is(h.s.failures, 4);
  h.s.force('sighup');
  await h.clock.advance(0);
  assert.is(h.runs.length, 5);
  assert.equal(h.runs[4].reasons, ['sighup']);
  assert.is(h.s.failures, 1, 'the forced cycle failed once more, counted from zero');
  assert.is(h.s.nextDueAt, h.clock.now() + 1000);
});

test('a throwing cycle counts as a failure and the loop goes on', async () => {
  const clock = new FakeClock();
  let n = 0;
  const s = new Scheduler({ intervalMs: 1000, backoffInitialMs: 100, clock, run: async () => { n++; throw new Error('boom'); } });
  s.start();
  await clock.advance(350);
  assert.is(n, 3); // 0, 100, 300
  assert.is(s.failures, 3);
});

test('stop waits for the running cycle and schedules nothing more', async () => {
  const h = harness({ intervalMs: 1000 });
  h.s.start();
  await h.clock.advance(0);
  let stopped = false;
  const p = h.s.stop().then(() => { stopped = true; });
  await flush();
  assert.is(stopped, false);
  h.runs[0].finish(true);
  await p;
  assert.is(stopped, true);
  h.s.notify();
  await h.clock.advance(5000);
  assert.is(h.runs.length, 1);
  assert.is(h.clock.pending, 0);
});

test('events before start are ignored; start is idempotent', async () => {
  const h = harness({ auto: () => true });
  h.s.notify();
  await h.clock.advance(100);
  assert.is(h.runs.length, 0);
  h.s.start();
  h.s.start();
  await h.clock.advance(0);
  assert.is(h.runs.length, 1);
});

test('a continuously firing source: event cycles back to back would be its whole time; they get about half, events merged', async () => {
  const h = harness({ durationMs: 100, coalesceMs: 5, intervalMs: 60_000 });
  h.s.start();
  for (let i = 0; i < 100; i++) {
    h.s.notify();
    await h.clock.advance(10);
  }
  await h.clock.advance(500);
  // The start cycle imposes no pause; each 100 ms event cycle is followed by a
  // 100 ms pause, and the events of the cycle and the pause join the next one.
  assert.equal(h.runs.map((r) => r.at), [0, 105, 305, 505, 705, 905, 1105]);
  assert.ok(h.runs.slice(1).every((r) => r.reasons.join() === 'watch'));
  assert.is(h.maxActive(), 1);
});

test('a single event after a quiet spell runs after the coalescing delay only', async () => {
  const h = harness({ durationMs: 100, coalesceMs: 5, intervalMs: 60_000 });
  h.s.start();
  await h.clock.advance(5000);
  h.s.notify();
  await h.clock.advance(5);
  assert.equal(h.runs.map((r) => r.at), [0, 5005]);
});

test('an event shortly after an event cycle waits out the pause (as long as that cycle took)', async () => {
  const h = harness({ durationMs: 100, coalesceMs: 5, intervalMs: 60_000 });
  h.s.start();
  await h.clock.advance(1000);
  h.s.notify(); // runs 1005..1105
  await h.clock.advance(130);
  h.s.notify();
  await h.clock.advance(100);
  assert.equal(h.runs.map((r) => r.at), [0, 1005, 1205]);
});

test('an event shortly after a start or resync cycle runs after the coalescing delay only', async () => {
  const h = harness({ durationMs: 600, coalesceMs: 5, intervalMs: 60_000 });
  h.s.start();
  await h.clock.advance(610); // the start cycle ran 0..600
  h.s.notify();
  await h.clock.advance(5);
  assert.equal(h.runs.map((r) => r.at), [0, 615]);
});

test('the pause after a long cycle is capped by maxEventGapMs', async () => {
  const h = harness({ durationMs: 5000, coalesceMs: 5, maxEventGapMs: 1000, intervalMs: 60_000 });
  h.s.start();
  await h.clock.advance(5000);
  h.s.notify(); // an event cycle 5005..10005
  await h.clock.advance(10);
  h.s.notify();
  await h.clock.advance(7000);
  assert.equal(h.runs.map((r) => r.at), [0, 5005, 11005]);
});

const backoffTable: Array<[number, number]> = [[0, 0], [1, 500], [2, 1000], [3, 2000], [5, 8000], [6, 10_000], [60, 10_000]];
for (const [failures, want] of backoffTable) {
  test(`backoffDelay(${failures}) = ${want}`, () => {
    assert.is(backoffDelay(failures, 500, 10_000), want);
  });
}

const coalescing: Array<{ name: string; events: Array<[number, string]>; runs: number[]; reasons: string[][] }> = [
  { name: 'a source event alone waits the source\'s short coalescing', events: [[0, 'watch']], runs: [5001], reasons: [['watch']] },
  { name: 'a kernel event waits the longer one', events: [[0, 'kernel']], runs: [5005], reasons: [['kernel']] },
  { name: 'a source event joins a kernel event\'s cycle (the longer wait)', events: [[0, 'kernel'], [2, 'watch']], runs: [5005], reasons: [['kernel', 'watch']] },
  { name: 'a kernel event joins a source event\'s waiting cycle', events: [[0, 'watch'], [0, 'kernel']], runs: [5001], reasons: [['watch', 'kernel']] },
  { name: 'source events during a cycle: the rerun waits the short coalescing', events: [[0, 'watch'], [10, 'watch']], runs: [5001, 5052], reasons: [['watch'], ['watch']] },
];

for (const c of coalescing) {
  test(`coalescing by reason: ${c.name}`, async () => {
    const h = harness({ durationMs: 50, coalesceMs: 5, sourceCoalesceMs: 1, maxEventGapMs: 0, intervalMs: 60_000 });
    h.s.start();
    await h.clock.advance(5000);
    let at = 0;
    for (const [t, reason] of c.events) {
      await h.clock.advance(t - at);
      at = t;
      h.s.notify(reason);
    }
    await h.clock.advance(500);
    assert.equal(h.runs.slice(1).map((r) => r.at), c.runs);
    assert.equal(h.runs.slice(1).map((r) => r.reasons), c.reasons);
  });
}

test('event cycles move the resync without setting its timer again; it runs an interval after the last cycle', async () => {
  const h = harness({ auto: () => true, coalesceMs: 5, sourceCoalesceMs: 0, maxEventGapMs: 0, intervalMs: 10_000 });
  h.s.start();
  await h.clock.advance(0);
  let timersSet = 0;
  const set = h.clock.setTimeout.bind(h.clock);
  h.clock.setTimeout = (fn, ms) => { timersSet++; return set(fn, ms); };
  for (let i = 0; i < 5; i++) {
    await h.clock.advance(1000);
    h.s.notify('watch');
    await h.clock.advance(0);
  }
  assert.is(h.runs.length, 6, 'start + five event cycles, each at once (no coalescing wait)');
  assert.equal(h.runs.slice(1).map((r) => r.at), [1000, 2000, 3000, 4000, 5000]);
  assert.is(timersSet, 5, 'one timer per event; the resync timer set at start stays');
  assert.is(h.s.nextDueAt, 15_000, 'the resync is an interval after the last cycle');
  await h.clock.advance(9_999);
  assert.is(h.runs.length, 6, 'the resync timer fired at 10 000 and was set for the rest');
  await h.clock.advance(1);
  assert.is(h.runs.length, 7);
  assert.equal(h.runs[6].reasons, ['resync']);
  assert.is(h.runs[6].at, 15_000);
});

test('a retry sooner than the resync timer already set replaces it', async () => {
  let ok = true;
  const h = harness({ auto: () => ok, coalesceMs: 5, sourceCoalesceMs: 0, intervalMs: 60_000, backoffInitialMs: 1000 });
  h.s.start();
  await h.clock.advance(0);
  ok = false;
  await h.clock.advance(100);
  h.s.notify('watch');
  await h.clock.advance(0);
  assert.is(h.runs.length, 2);
  assert.is(h.s.nextDueAt, 1100, 'the retry, a second after the failed cycle');
  ok = true;
  await h.clock.advance(1000);
  assert.is(h.runs.length, 3);
  assert.equal(h.runs[2].reasons, ['retry']);
  assert.is(h.runs[2].at, 1100);
});

test.run();
