// Output conventions: when colour is on, how tables look for terminals and
// for pipes, and that the spinner stays out of the way.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { colorEnabled, makeStyle } from '../../src/render/style.js';
import { settleColorEnv } from '../../src/cli/color-env.js';
import { localeIsUTF8, renderTable, tableKind } from '../../src/render/table.js';
import { withSpinner } from '../../src/cli/spinner.js';
import { retypeCommand } from '../../src/cli/exit.js';

const TTY = { isTTY: true };
const PIPE = { isTTY: false };

test('settleColorEnv leaves Node one of NO_COLOR and a forcing FORCE_COLOR, the one ovlnet obeys', () => {
  const cases: Array<[NodeJS.ProcessEnv, NodeJS.ProcessEnv]> = [
    [{ NO_COLOR: '1', FORCE_COLOR: '' }, { NO_COLOR: '1' }],
    [{ NO_COLOR: '1', FORCE_COLOR: '1' }, { FORCE_COLOR: '1' }],
    [{ NODE_DISABLE_COLORS: '1', FORCE_COLOR: '2' }, { FORCE_COLOR: '2' }],
    [{ NO_COLOR: '1', FORCE_COLOR: '0' }, { NO_COLOR: '1', FORCE_COLOR: '0' }],
    [{ NO_COLOR: '1' }, { NO_COLOR: '1' }],
    [{ FORCE_COLOR: '' }, { FORCE_COLOR: '' }],
  ];
  for (const [env, want] of cases) {
    const before = colorEnabled(TTY, false, { ...env, TERM: 'xterm' });
    const e = { ...env };
    settleColorEnv(e);
    assert.equal(e, want, JSON.stringify(env));
    assert.is(colorEnabled(TTY, false, { ...e, TERM: 'xterm' }), before, `same decision: ${JSON.stringify(env)}`);
  }
});

test('colour: --no-color, FORCE_COLOR, NO_COLOR, TTY and TERM=dumb, in that order', () => {
  const cases: Array<[string, { isTTY: boolean }, boolean, NodeJS.ProcessEnv, boolean]> = [
    ['terminal', TTY, false, { TERM: 'xterm' }, true],
    ['pipe', PIPE, false, { TERM: 'xterm' }, false],
    ['--no-color on a terminal', TTY, true, { TERM: 'xterm' }, false],
    ['--no-color beats FORCE_COLOR', TTY, true, { FORCE_COLOR: '1' }, false],
    ['NO_COLOR on a terminal', TTY, false, { NO_COLOR: '1', TERM: 'xterm' }, false],
    ['empty NO_COLOR is not set (no-color.org)', TTY, false, { NO_COLOR: '', TERM: 'xterm' }, true],
    ['FORCE_COLOR in a pipe', PIPE, false, { FORCE_COLOR: '1' }, true],
    ['FORCE_COLOR empty means on (as chalk and Node read it)', PIPE, false, { FORCE_COLOR: '' }, true],
    ['FORCE_COLOR beats NO_COLOR (as Node does)', PIPE, false, { FORCE_COLOR: '1', NO_COLOR: '1' }, true],
    ['NO_COLOR beats an empty FORCE_COLOR', TTY, false, { FORCE_COLOR: '', NO_COLOR: '1', TERM: 'xterm' }, false],
    ['an empty NO_COLOR does not beat an empty FORCE_COLOR', PIPE, false, { FORCE_COLOR: '', NO_COLOR: '' }, true],
    ['FORCE_COLOR=0 on a terminal', TTY, false, { FORCE_COLOR: '0', TERM: 'xterm' }, false],
    ['FORCE_COLOR=false on a terminal', TTY, false, { FORCE_COLOR: 'false', TERM: 'xterm' }, false],
    ['TERM=dumb terminal', TTY, false, { TERM: 'dumb' }, false],
    ['TERM=dumb with FORCE_COLOR', TTY, false, { TERM: 'dumb', FORCE_COLOR: '1' }, true],
  ];
  for (const [name, stream, noColor, env, want] of cases) {
    assert.is(colorEnabled(stream, noColor, env), want, name);
    const styled = makeStyle(stream, noColor, env).red('x');
    assert.is(styled !== 'x', want, `${name}: makeStyle`);
  }
});

test('tables: boxed with a header rule and no rules between rows on a UTF-8 terminal', () => {
  const t = renderTable('box', ['Name', 'Subnet'], [['node-a', '198.18.0.0/24'], ['node-b', '198.18.1.0/24']]);
  assert.equal(t.split('\n'), [
    '┌────────┬───────────────┐',
    '│ Name   │ Subnet        │',
    '├────────┼───────────────┤',
    '│ node-a │ 198.18.0.0/24 │',
    '│ node-b │ 198.18.1.0/24 │',
    '└────────┴───────────────┘',
  ]);
});

test('tables: ASCII borders outside UTF-8, plain columns in a pipe', () => {
  assert.equal(renderTable('ascii', ['A', 'B'], [['x', 'y']]).split('\n'), ['+---+---+', '| A | B |', '+---+---+', '| x | y |', '+---+---+']);
  // Plain: aligned, no trailing blanks, an empty cell is "-" so awk's fields stay put.
  assert.equal(renderTable('plain', ['Name', 'Route', 'Expires'], [['node-a', 'via 1.2.3.4', ''], ['b', '', '1h']]).split('\n'), [
    'Name    Route        Expires',
    'node-a  via 1.2.3.4  -',
    'b       -            1h',
  ]);
});

test('table kind follows the terminal and the locale', () => {
  const cases: Array<[boolean, NodeJS.ProcessEnv, string]> = [
    [false, { LANG: 'en_US.UTF-8' }, 'plain'],
    [true, { LANG: 'en_US.UTF-8' }, 'box'],
    [true, { LANG: 'C.utf8' }, 'box'],
    [true, { LANG: 'C' }, 'ascii'],
    [true, {}, 'ascii'],
    [true, { LC_ALL: 'C', LANG: 'en_US.UTF-8' }, 'ascii'],
    [true, { LC_CTYPE: 'de_DE.UTF-8', LANG: 'C' }, 'box'],
  ];
  for (const [tty, env, want] of cases) assert.is(tableKind(tty, env), want, JSON.stringify(env));
  assert.is(localeIsUTF8({ LC_ALL: 'en_US.utf-8' }), true);
});

test('spinner: not a terminal means no spinner, the result and errors pass through', async () => {
  const ctx = { stderrIsTTY: false, errStyle: makeStyle(PIPE, true) };
  let wrote = '';
  const orig = process.stderr.write.bind(process.stderr);
  (process.stderr as { write: unknown }).write = (s: string) => { wrote += s; return true; };
  try {
    assert.is(await withSpinner(ctx, 'waiting', () => new Promise((r) => setTimeout(() => r(42), 60)), 10), 42);
    try {
      await withSpinner(ctx, 'waiting', async () => { throw new Error('boom'); }, 10);
      assert.unreachable('should throw');
    } catch (e) {
      assert.is((e as Error).message, 'boom');
    }
  } finally {
    (process.stderr as { write: unknown }).write = orig;
  }
  assert.is(wrote, '');
});

test('the sudo hint retypes the command line, quoted for the shell', () => {
  assert.is(retypeCommand(['apply', '--source', 'file:/etc/ovlnet/cluster.yaml']), 'sudo ovlnet apply --source file:/etc/ovlnet/cluster.yaml');
  assert.is(retypeCommand(['apply', '--node', "it's a node"]), `sudo ovlnet apply --node 'it'\\''s a node'`);
});

test.run();
