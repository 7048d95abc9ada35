// The repair rate limit: each row is a sequence of kernel losses (object, at
// ms on a fake clock) and the verdicts expected, with resyncs in between.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_REPAIR_LIMIT, parseRepairLimit, RepairPolicy, type RepairLimit, type RepairVerdict } from '../../../src/daemon/drift.js';
import { FakeClock } from '../../lib/fake-clock.js';

type Step = { lose: string; after: number } | { resync: true };
const R = 'route:198.18.2.0/24';
const N = 'neigh:flannel.1/198.18.2.0';

const lose = (object: string, after: number): Step => ({ lose: object, after });

const ROWS: Array<{ name: string; limit: RepairLimit; steps: Step[]; want: RepairVerdict[]; givenUp?: string[] }> = [
  {
    name: 'within the limit every loss is repaired',
    limit: { maxRepairs: 3, windowMs: 10_000 },
    steps: [lose(R, 0), lose(R, 100), lose(R, 100)],
    want: ['repair', 'repair', 'repair'],
  },
  {
    name: 'one loss past the limit within the window gives up once, then stays quiet',
    limit: { maxRepairs: 3, windowMs: 10_000 },
    steps: [lose(R, 0), lose(R, 100), lose(R, 100), lose(R, 100), lose(R, 100), lose(R, 60_000)],
    want: ['repair', 'repair', 'repair', 'give-up', 'given-up', 'given-up'],
    givenUp: [R],
  },
  {
    name: 'losses spread wider than the window are all repaired',
    limit: { maxRepairs: 2, windowMs: 1000 },
    steps: [lose(R, 0), lose(R, 600), lose(R, 600), lose(R, 600), lose(R, 600)],
    want: ['repair', 'repair', 'repair', 'repair', 'repair'],
  },
  {
    name: 'objects are counted apart',
    limit: { maxRepairs: 1, windowMs: 10_000 },
    steps: [lose(R, 0), lose(N, 1), lose(R, 1), lose(N, 1)],
    want: ['repair', 'repair', 'give-up', 'give-up'],
    givenUp: [R, N],
  },
  {
    name: 'a resync resumes repairs and forgets the history',
    limit: { maxRepairs: 1, windowMs: 10_000 },
    steps: [lose(R, 0), lose(R, 1), lose(R, 1), { resync: true }, lose(R, 1), lose(R, 1)],
    want: ['repair', 'give-up', 'given-up', 'repair', 'give-up'],
    givenUp: [R],
  },
  {
    name: 'the default: 5 repairs a minute',
    limit: DEFAULT_REPAIR_LIMIT,
    steps: [lose(R, 0), lose(R, 50), lose(R, 50), lose(R, 50), lose(R, 50), lose(R, 50)],
    want: ['repair', 'repair', 'repair', 'repair', 'repair', 'give-up'],
    givenUp: [R],
  },
];

for (const row of ROWS) {
  test(row.name, async () => {
    const clock = new FakeClock();
    const policy = new RepairPolicy(row.limit);
    const got: RepairVerdict[] = [];
    for (const s of row.steps) {
      if ('resync' in s) {
        policy.resume();
        continue;
      }
      await clock.advance(s.after);
      got.push(policy.decide(s.lose, clock.now()));
    }
    assert.equal(got, row.want);
    assert.equal([...policy.givenUp].sort(), [...(row.givenUp ?? [])].sort());
  });
}

test('resume names what was given up on', () => {
  const p = new RepairPolicy({ maxRepairs: 0, windowMs: 1000 });
  assert.is(p.decide(R, 0), 'give-up');
  assert.equal(p.resume(), [R]);
  assert.equal(p.resume(), []);
});

test('memory stays bounded: objects without a recent repair are forgotten', () => {
  const p = new RepairPolicy({ maxRepairs: 1, windowMs: 10 });
  for (let i = 0; i < 10_000; i++) p.decide(`route:${i}`, i * 20);
  // Every object was lost once, long apart: none given up on, and the oldest are forgotten (a loss of one is a repair again).
  assert.equal(p.givenUp, []);
  assert.ok(p.tracked <= 4097, `${p.tracked} objects remembered`);
  assert.is(p.decide('route:0', 200_000), 'repair');
});

test('--repair-limit: n/duration; the default is DEFAULT_REPAIR_LIMIT; nonsense refused naming the flag', () => {
  assert.equal(parseRepairLimit('5/1m'), DEFAULT_REPAIR_LIMIT);
  assert.equal(parseRepairLimit(' 2 / 30s '), { maxRepairs: 2, windowMs: 30_000 });
  assert.equal(parseRepairLimit('100/1h30m'), { maxRepairs: 100, windowMs: 5_400_000 });
  for (const bad of ['5', '0/1m', '-1/1m', 'x/1m', '5/', '5/0s', '5/500ms', '5/1m/2']) {
    assert.throws(() => parseRepairLimit(bad), (e: Error) => e.message.startsWith('--repair-limit'), bad);
  }
});

test.run();
