import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FailureStreak, fieldValue, formatLine, Logger, type Level } from '../../../src/daemon/logger.js';

const T = new Date('2025-01-02T03:04:05.678Z');

const lines: Array<[string, Parameters<typeof formatLine>, string]> = [
  ['text with fields', [T, 'info', 'cycle: applied 2 changes', { added: 2, duration_ms: 14, reason: ['watch'] }, { format: 'text' }],
    '2025-01-02T03:04:05.678Z info  cycle: applied 2 changes added=2 duration_ms=14 reason=watch'],
  ['text quotes values with spaces', [T, 'warn', 'x', { msg: 'a b', empty: '' }, { format: 'text' }],
    '2025-01-02T03:04:05.678Z warn  x msg="a b" empty=""'],
  ['text escapes newlines in values', [T, 'error', 'source failed', { why: 'line1\nline2' }, { format: 'text' }],
    '2025-01-02T03:04:05.678Z error source failed why="line1\\nline2"'],
  ['text keeps a message on one line', [T, 'error', 'bad\nforged 2025 info ok', {}, { format: 'text' }],
    '2025-01-02T03:04:05.678Z error bad ⏎ forged 2025 info ok'],
  ['text drops undefined fields', [T, 'debug', 'm', { a: undefined, b: true }, { format: 'text' }],
    '2025-01-02T03:04:05.678Z debug m b=true'],
  ['journal: priority prefix, no timestamp', [T, 'warn', 'm', { k: 1 }, { format: 'text', journal: true }], '<4>warn m k=1'],
  ['journal error priority', [T, 'error', 'm', {}, { format: 'text', journal: true }], '<3>error m'],
  ['json', [T, 'info', 'cycle', { added: 1, changes: ['+ route a', '- route b'], skip: undefined }, { format: 'json' }],
    '{"time":"2025-01-02T03:04:05.678Z","level":"info","msg":"cycle","added":1,"changes":["+ route a","- route b"]}'],
  ['json fields never override time/level/msg', [T, 'warn', 'real', { msg: 'fake', level: 'debug' }, { format: 'json' }],
    '{"time":"2025-01-02T03:04:05.678Z","level":"warn","msg":"real"}'],
];
for (const [name, args, want] of lines) {
  test(`formatLine: ${name}`, () => {
    assert.is(formatLine(...args), want);
  });
}

test('json lines parse back', () => {
  const s = formatLine(T, 'error', 'quote " and \n newline', { path: '/a b/"c"' }, { format: 'json' });
  assert.not.match(s, /\n/);
  const o = JSON.parse(s);
  assert.is(o.msg, 'quote " and \n newline');
  assert.is(o.path, '/a b/"c"');
});

const values: Array<[string | number | boolean | string[], string]> = [
  ['plain', 'plain'], ['198.18.0.0/24', '198.18.0.0/24'], ['a=b', '"a=b"'], [42, '42'], [false, 'false'],
  [['x', 'y'], '"x, y"'], ['', '""'], ['é', '"é"'],
];
for (const [v, want] of values) {
  test(`fieldValue(${JSON.stringify(v)})`, () => assert.is(fieldValue(v), want));
}

function capture(level: Level) {
  const out: string[] = [];
  const log = new Logger({ format: 'json', level, write: (s) => out.push(s), now: () => T });
  return { log, out, parsed: () => out.map((l) => JSON.parse(l)) };
}

const levelTable: Array<[Level, Level[]]> = [
  ['debug', ['debug', 'info', 'warn', 'error']],
  ['info', ['info', 'warn', 'error']],
  ['warn', ['warn', 'error']],
  ['error', ['error']],
];
for (const [min, shown] of levelTable) {
  test(`level ${min} shows ${shown.join(',')}`, () => {
    const c = capture(min);
    c.log.debug('d'); c.log.info('i'); c.log.warn('w'); c.log.error('e');
    assert.equal(c.parsed().map((o) => o.level), shown);
    assert.ok(c.out.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1), 'one line each');
  });
}

test('FailureStreak: logs once per streak, again when the message changes, once on recovery', () => {
  const c = capture('info');
  let now = 1000;
  const s = new FailureStreak(c.log, 'source', () => now);
  s.ok(); // nothing to recover from
  s.fail('no such file');
  now += 1000; s.fail('no such file');
  now += 1000; s.fail('no such file');
  now += 1000; s.fail('invalid YAML');
  now += 1000; s.ok();
  s.ok();
  s.fail('no such file');
  const o = c.parsed();
  assert.equal(o.map((x) => [x.level, x.msg]), [
    ['error', 'source failed: no such file'],
    ['error', 'source failed: invalid YAML'],
    ['info', 'source recovered'],
    ['error', 'source failed: no such file'],
  ]);
  assert.is(o[1].failures, 4);
  assert.is(o[2].failures, 4);
  assert.is(o[2].down_ms, 4000);
  assert.is(o[3].failures, undefined, 'a new streak counts from one');
});

test('FailureStreak: repeats are at debug level', () => {
  const c = capture('debug');
  const s = new FailureStreak(c.log, 'watch');
  s.fail('x', {}, 'warn');
  s.fail('x', {}, 'warn');
  assert.equal(c.parsed().map((x) => x.level), ['warn', 'debug']);
  assert.ok(s.failing);
});

test.run();
