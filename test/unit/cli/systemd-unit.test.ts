// The systemd unit: quoting of ExecStart words, contrib/ovlnet.service is the
// rendered unit, and its man reference names the page's real section.
// (test/e2e/systemd-unit.test.ts runs systemd-analyze verify on both.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTRIB_HEADER, DAEMON_NODE_OPTIONS, renderSystemdUnit, systemdWord } from '../../../src/cli/systemd-unit.js';
import { ROOT } from '../../lib/cli.js';

test('systemdWord: plain words as they are, the rest quoted; % and $ doubled', () => {
  const rows: Array<[string, string]> = [
    ['/usr/bin/node', '/usr/bin/node'],
    ['ovlnet', 'ovlnet'],
    ['/opt/my tools/ovlnet', '"/opt/my tools/ovlnet"'],
    ['/opt/50%/ovlnet', '/opt/50%%/ovlnet'],
    ['/opt/$HOME/x', '/opt/$$HOME/x'],
    ['/opt/a"b', '"/opt/a\\"b"'],
    ['/opt/a\\b', '"/opt/a\\\\b"'],
    ['/opt/a;b', '"/opt/a;b"'],
  ];
  for (const [word, want] of rows) assert.is(systemdWord(word), want, word);
  for (const bad of ['', 'a\nb', 'a\tb\u0000']) assert.throws(() => systemdWord(bad), /refusing/);
});

test('contrib/ovlnet.service is the rendered unit with the bare command ovlnet (run `npm run contrib` when this fails)', () => {
  const committed = readFileSync(join(ROOT, 'contrib/ovlnet.service'), 'utf8');
  assert.fixture(committed, renderSystemdUnit(['ovlnet'], CONTRIB_HEADER));
  assert.match(committed, /^ExecStart=ovlnet daemon \$OVLNET_DAEMON_ARGS$/m);
});

test('the daemon\'s Node options are set in the unit, before the environment file that may override them', () => {
  const unit = renderSystemdUnit(['ovlnet']);
  const lines = unit.split('\n');
  const env = lines.indexOf(`Environment=NODE_OPTIONS=${DAEMON_NODE_OPTIONS}`);
  assert.ok(env >= 0, 'Environment=NODE_OPTIONS line');
  assert.ok(env < lines.indexOf('EnvironmentFile=-/etc/ovlnet/ovlnet.env'), 'before EnvironmentFile=');
  assert.is(DAEMON_NODE_OPTIONS, '--max-semi-space-size=2');
});

test('Documentation= names the man page in the section it is in', () => {
  const th = /^\.TH\s+"?(\S+?)"?\s+"?(\d)"?/m.exec(readFileSync(join(ROOT, 'man/ovlnet.8'), 'utf8'));
  assert.ok(th, '.TH line');
  const unit = renderSystemdUnit(['/usr/bin/node', '/usr/lib/node_modules/ovlnet/bin/ovlnet']);
  assert.match(unit, new RegExp(`^Documentation=man:${th![1].toLowerCase()}\\(${th![2]}\\)$`, 'm'));
  assert.match(unit, /^ExecStart=\/usr\/bin\/node \/usr\/lib\/node_modules\/ovlnet\/bin\/ovlnet daemon \$OVLNET_DAEMON_ARGS$/m);
});

test.run();
