// A monitor's output as the daemon gets it (monitorBatch): parsed only when
// asked, and a deleted device found without parsing, agreeing with the
// parser on output recorded from a real ip/bridge (test/fixtures/host/monitor/).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorBatch } from '../../../src/host/monitor.js';
import { parseBridgeFdbLine, parseIpMonitorLine } from '../../../src/host/parse-monitor.js';

const FIX = fileURLToPath(new URL('../../../../test/fixtures/host/monitor/', import.meta.url));
const lines = (name: string) => readFileSync(FIX + name, 'utf8').split('\n').filter((l) => l.length > 0);
const ip = lines('ip-monitor.txt');
const fdb = lines('bridge-monitor-fdb.txt');

const ROWS: Array<{ name: string; tool: 'ip' | 'bridge'; lines: string[] }> = [
  { name: 'every recorded ip line', tool: 'ip', lines: ip },
  ...ip.map((l, i) => ({ name: `ip line ${i + 1} alone`, tool: 'ip' as const, lines: [l] })),
  { name: 'every recorded bridge line', tool: 'bridge', lines: fdb },
  { name: 'no lines', tool: 'ip', lines: [] },
];

for (const row of ROWS) {
  test(`${row.name}: the parser's events; a deleted device exactly when the parser finds one`, () => {
    const parse = row.tool === 'ip' ? parseIpMonitorLine : parseBridgeFdbLine;
    const want = row.lines.flatMap((l) => parse(l) ?? []);
    const b = monitorBatch(row.tool, row.lines);
    assert.is(b.linkDeleted, want.some((e) => e.kind === 'link' && e.deleted));
    assert.equal(b.events(), want);
    assert.is(b.events(), b.events(), 'parsed once');
  });
}

test('the recorded ip lines hold a deleted device (the rows above can tell)', () => {
  assert.ok(monitorBatch('ip', ip).linkDeleted);
  assert.not.ok(monitorBatch('ip', ip.filter((l) => !l.startsWith('[LINK]Deleted'))).linkDeleted);
});

test.run();
