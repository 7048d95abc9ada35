// ovlnet doctor's choice of the subnet.env it checks: the daemon's own for the
// same --netns, so a node in a namespace is not judged by the host's file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { subnetFileToCheck } from '../../../../src/cli/commands/doctor.js';
import { buildProgram } from '../../../../src/cli/main.js';

const cases: Array<{ what: string; o: { subnetFile?: string; netns?: string }; want: string }> = [
  { what: 'the host', o: {}, want: '/run/flannel/subnet.env' },
  { what: 'a node in a namespace: the file the daemon writes for it', o: { netns: 'lab-a' }, want: '/run/flannel/netns/lab-a/subnet.env' },
  { what: 'a file named', o: { netns: 'lab-a', subnetFile: '/tmp/x.env' }, want: '/tmp/x.env' },
  { what: "'' turns the check off", o: { netns: 'lab-a', subnetFile: '' }, want: '' },
];

for (const c of cases) {
  test(`subnetFileToCheck: ${c.what}`, () => {
    assert.is(subnetFileToCheck(c.o), c.want);
  });
}

test('doctor --subnet-file has no fixed default (it follows --netns)', () => {
  const doctor = buildProgram().commands.find((c) => c.name() === 'doctor');
  const option = doctor?.options.find((o) => o.long === '--subnet-file');
  assert.ok(option, 'doctor has --subnet-file');
  assert.is(option.defaultValue, undefined);
});

test.run();
