// Answers of an `ip -j -force -batch` whose commands fail one by one, from recorded output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { batchAnswers } from '../../../src/host/read.js';

// Recorded: route get for 198.18.1.1 (unicast), 198.18.1.254 (a blackhole), 198.18.2.1 (a rule to an unreachable table), 198.18.1.2.
const STDOUT = '[{"type":"1","dst":"198.18.1.1","gateway":"192.0.2.11","dev":"eth0","table":"254"}]\n[{"type":"1","dst":"198.18.1.2","gateway":"192.0.2.11","dev":"eth0","table":"254"}]\n';
const STDERR = 'RTNETLINK answers: Invalid argument\nCommand failed -:2\nRTNETLINK answers: No route to host\nCommand failed -:3\n';

test('answers dealt to the commands that did not fail, in order; failures carry the kernel\'s reason', () => {
  const got = batchAnswers(4, STDOUT, STDERR)!;
  assert.equal(got.map((a) => (a.error ?? (a.json![0] as { dst: string }).dst)), ['198.18.1.1', 'Invalid argument', 'No route to host', '198.18.1.2']);
});

test('answers that do not add up are refused, not guessed', () => {
  assert.is(batchAnswers(5, STDOUT, STDERR), undefined);
  assert.equal(batchAnswers(2, STDOUT, '')!.map((a) => a.error), [undefined, undefined]);
});

test.run();
