// ProblemLog: each problem warned once, said resolved once it is gone, and
// both bounded per cycle however many nodes go bad or good at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProblemLog } from '../../../src/daemon/cycle-log.js';
import { Logger } from '../../../src/daemon/logger.js';
import type { Problem } from '../../../src/model/types.js';

function setup() {
  const lines: Array<{ level: string; msg: string }> = [];
  const log = new Logger({ format: 'json', level: 'debug', write: (s) => { const j = JSON.parse(s); lines.push({ level: j.level, msg: j.msg }); } });
  return { lines, problems: new ProblemLog(log) };
}
const bad = (n: number): Problem[] => Array.from({ length: n }, (_, i) => ({ subject: `node n${i}`, message: 'subnet outside the network' } as Problem));

const cases: Array<{ what: string; steps: number[]; want: Array<[string, number]> }> = [
  // [problems in each cycle] -> per cycle: lines logged (level, count)
  { what: 'one problem: warned once, then resolved once', steps: [1, 1, 0, 0], want: [['warn', 1], ['', 0], ['info', 1], ['', 0]] },
  { what: 'many problems: 50 warnings and a count', steps: [3000], want: [['warn', 51]] },
  { what: 'many resolved: 50 lines and a count', steps: [3000, 0], want: [['warn', 51], ['info', 51]] },
  { what: 'a few resolved among many that stay', steps: [3000, 2990], want: [['warn', 51], ['info', 10]] },
];

for (const c of cases) {
  test(`ProblemLog: ${c.what}`, () => {
    const { lines, problems } = setup();
    c.steps.forEach((n, i) => {
      const before = lines.length;
      problems.report(bad(n));
      const got = lines.slice(before);
      const [level, count] = c.want[i];
      assert.is(got.length, count, `cycle ${i}: ${got.length} lines`);
      for (const l of got) assert.is(l.level, level);
    });
  });
}

test('ProblemLog: the count line says how many more', () => {
  const { lines, problems } = setup();
  problems.report(bad(3000));
  problems.report([]);
  assert.equal(lines.filter((l) => l.msg.startsWith('…')).map((l) => l.msg), ['… and 2950 more warnings', '… and 2950 more resolved']);
});

test.run();
