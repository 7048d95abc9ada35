// doctor's output: JSON shape, plain columns in a pipe, wrapped table on a terminal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Chalk } from 'chalk';
import { doctorJSON, doctorTable, wrap } from '../../../../src/render/views/doctor.js';
import type { DoctorReport } from '../../../../src/doctor/decide.js';
import { peerNames } from '../../../../src/cli/commands/doctor.js';

const plain = new Chalk({ level: 0 });
const report: DoctorReport = {
  version: 1, ok: false,
  checks: [
    { name: 'host.ip_forward', status: 'pass', message: 'net.ipv4.ip_forward = 1' },
    { name: 'peer.overlay', status: 'fail', peer: 'node-d', message: 'overlay blocked: 192.0.2.13 answers on the underlay, 198.18.3.0 does not answer through flannel.1', hint: 'run ovlnet doctor on node-d' },
  ],
};

test('JSON: version, ok, checks with peer and hint only when set', () => {
  const j = JSON.parse(doctorJSON(report));
  assert.equal(Object.keys(j), ['version', 'ok', 'checks']);
  assert.equal(j.checks[0], { name: 'host.ip_forward', status: 'pass', message: 'net.ipv4.ip_forward = 1' });
  assert.equal(Object.keys(j.checks[1]), ['name', 'status', 'peer', 'message', 'hint']);
});

test('pipe: one line per check, status first, then a summary', () => {
  const lines = doctorTable(report, 'plain', plain).split('\n');
  assert.match(lines[0], /^STATUS\s+CHECK\s+PEER\s+FINDING\s+HINT$/);
  assert.match(lines[1], /^pass\s+host\.ip_forward\s+-\s+net\.ipv4\.ip_forward = 1\s+-$/);
  assert.match(lines[2], /^fail\s+peer\.overlay\s+node-d\s+overlay blocked/);
  assert.is(lines.at(-1), 'Doctor: 1 passed, 0 warnings, 1 failed.');
});

test('terminal: findings wrapped to the width', () => {
  const out = doctorTable(report, 'box', plain, 80);
  assert.ok(out.split('\n').every((l) => [...l].length <= 100), out);
  assert.match(out, /node-d/);
});

const wraps: Array<[string, number, string]> = [
  ['short', 10, 'short'],
  ['one two three four', 9, 'one two\nthree\nfour'],
  ['averyveryverylongword x', 5, 'averyveryverylongword\nx'],
];
for (const [text, width, want] of wraps) test(`wrap ${JSON.stringify(text)} at ${width}`, () => assert.is(wrap(text, width), want));

test('--peer: repeated flags, or one string from the environment or the config file', () => {
  const table: Array<[string[] | string | undefined, string[]]> = [[undefined, []], [['a', 'b'], ['a', 'b']], ['a', ['a']], ['a, b c', ['a', 'b', 'c']], ['', []]];
  for (const [v, want] of table) assert.equal(peerNames(v), want, JSON.stringify(v));
});

test.run();
