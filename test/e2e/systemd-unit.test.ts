// `systemd-analyze verify` on the unit `ovlnet systemd-unit` prints and on
// contrib/ovlnet.service "once the package is installed": the latter in a
// temporary root laid out as `npm install -g` leaves it (usr/local/bin/ovlnet,
// the man page under usr/local/share/man), with copies of the host's stock
// units so the default dependencies resolve. verify only loads units; nothing
// is installed, enabled or started on the host (test/run.mjs installs the
// systemd package for systemd-analyze when it is missing).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ovlnet, ROOT } from '../lib/cli.js';

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-unit-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A man tree holding ovlnet.8 where man(1) looks for section 8. */
function manTree(dir: string): string {
  mkdirSync(join(dir, 'man8'), { recursive: true });
  copyFileSync(join(ROOT, 'man/ovlnet.8'), join(dir, 'man8/ovlnet.8'));
  return dir;
}

async function verify(args: string[], manpath: string): Promise<{ code: number; out: string }> {
  const r = await execa('systemd-analyze', ['verify', ...args], { reject: false, env: { MANPATH: manpath, SYSTEMD_LOG_COLOR: '0' } });
  return { code: r.exitCode ?? -1, out: `${r.stdout}${r.stderr}`.trim() };
}

test('the unit `ovlnet systemd-unit` prints passes systemd-analyze verify', () => withDir(async (dir) => {
  const r = await ovlnet(['systemd-unit']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^ExecStart=${process.execPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\S+/bin/ovlnet daemon \\$OVLNET_DAEMON_ARGS$`, 'm'));
  const unit = join(dir, 'ovlnet.service');
  writeFileSync(unit, r.stdout + '\n');
  const v = await verify([unit], manTree(join(dir, 'man')));
  assert.is(v.code, 0, v.out);
  assert.is(v.out, '', 'no warnings either');

  const named = await ovlnet(['systemd-unit', '--exec', 'ovlnet']);
  assert.match(named.stdout, /^ExecStart=ovlnet daemon \$OVLNET_DAEMON_ARGS$/m);
  const spaced = await ovlnet(['systemd-unit', '--exec', 'a b']);
  assert.is(spaced.code, 1);
  assert.match(spaced.stderr, /--exec "a b": expected one program name or absolute path/);
}));

test('contrib/ovlnet.service passes systemd-analyze verify once the package is installed', () => withDir(async (root) => {
  const install = (to: string, from: string) => {
    mkdirSync(join(root, to, '..'), { recursive: true });
    copyFileSync(from, join(root, to));
  };
  // As npm install -g with prefix /usr/local leaves it (a copy stands in for the link; verify only checks it is executable).
  install('usr/local/bin/ovlnet', BIN);
  const man = manTree(join(root, 'usr/local/share/man'));
  install('bin/kill', '/bin/kill');
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
  install('etc/systemd/system/ovlnet.service', join(ROOT, 'contrib/ovlnet.service'));
  const v = await verify([`--root=${root}`, '/etc/systemd/system/ovlnet.service'], man);
  assert.is(v.code, 0, v.out);
  assert.is(v.out, '', 'no warnings either');

  // The check is real: without the installed program the same unit fails.
  rmSync(join(root, 'usr/local/bin/ovlnet'));
  const missing = await verify([`--root=${root}`, '/etc/systemd/system/ovlnet.service'], man);
  assert.is.not(missing.code, 0);
  assert.match(missing.out, /Command ovlnet is not executable/);
}));

test.run();
