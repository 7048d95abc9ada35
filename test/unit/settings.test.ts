// Where option values come from: the command line after the command, the
// program's options before it (kubectl style), with the command's own winning.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { withGlobalOptions } from '../../src/cli/settings.js';

/** Parses argv with every action replaced by one that captures the merged options. */
async function parsed(args: string[]): Promise<Record<string, unknown>> {
  const program = buildProgram().exitOverride();
  let got: Record<string, unknown> | undefined;
  let error: unknown;
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    c.action(function (this: Command) {
      try {
        got = withGlobalOptions(this) as Record<string, unknown>;
      } catch (e) {
        error = e;
      }
    });
  }
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  await program.parseAsync(args, { from: 'user' });
  if (error) throw error;
  return got!;
}

const GLOBALS: Array<[string, string[], Record<string, unknown>]> = [
  ['-n is --netns', ['diff', '-n', 'ns1'], { netns: 'ns1' }],
  ['--netns before the command', ['--netns', 'ns1', 'diff'], { netns: 'ns1' }],
  ['-n before the command', ['-n', 'ns1', 'apply'], { netns: 'ns1' }],
  ['after the command wins', ['-n', 'ns1', 'diff', '-n', 'ns2'], { netns: 'ns2' }],
  ['--source and --debug before', ['-s', 'file:/x.yaml', '--debug', 'plan'], { source: 'file:/x.yaml', debug: true }],
  ['--no-color before', ['--no-color', 'nodes'], { color: false }],
  ['cleanup takes -n', ['cleanup', '-n', 'ns3', '--dry-run'], { netns: 'ns3', dryRun: true }],
  ['--debug before completion', ['--debug', 'completion', 'bash'], { debug: true }],
];

for (const [name, args, want] of GLOBALS) {
  test(`global options: ${name}`, async () => {
    const o = await parsed(args);
    for (const [k, v] of Object.entries(want)) assert.equal(o[k], v, `${k} of ${args.join(' ')}`);
  });
}

test('a global option the command does not take is refused by name', async () => {
  try {
    await parsed(['-n', 'ns1', 'nodes']);
    assert.unreachable('accepted');
  } catch (e) {
    assert.match(String((e as Error).message), 'option --netns does not apply to "ovlnet nodes"');
  }
});

test.run();
