// nodeFlagGiven: the daemon leaves V8's heap growth to an operator who set it,
// on node's command line or in NODE_OPTIONS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeFlagGiven } from '../../../src/cli/node-flags.js';

const F = '--heap-growing-percent';
const cases: Array<[name: string, execArgv: string[], nodeOptions: string | undefined, want: boolean]> = [
  ['nothing given', [], undefined, false],
  ['empty NODE_OPTIONS', [], '', false],
  ['on the command line', ['--heap-growing-percent=50'], undefined, true],
  ['on the command line, underscores', ['--heap_growing_percent=50'], undefined, true],
  ['in NODE_OPTIONS (an operator\'s env file)', [], '--heap-growing-percent=50', true],
  ['in NODE_OPTIONS beside the unit\'s semi-space setting', [], '--max-semi-space-size=2  --heap_growing_percent=80', true],
  ['only the unit\'s semi-space setting', [], '--max-semi-space-size=2', false],
  ['another flag with the same beginning', ['--heap-growing-percentage=5'], '--heap-growing-percent-x=1', false],
  ['the bare flag', [], '--heap-growing-percent', true],
];
for (const [name, execArgv, nodeOptions, want] of cases) {
  test(`nodeFlagGiven: ${name}`, () => assert.is(nodeFlagGiven(F, execArgv, nodeOptions), want));
}

test.run();
