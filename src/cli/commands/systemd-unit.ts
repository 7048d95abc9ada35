// ovlnet systemd-unit: print the systemd unit for `ovlnet daemon` with this
// installation's paths (as `ovlnet completion` prints completions), so
// ExecStart names a file that exists whatever the install prefix.
import { join } from 'node:path';
import type { Context, GlobalOptions } from '../context.js';
import { renderSystemdUnit } from '../systemd-unit.js';
import { EXIT_OK } from '../exit.js';
import { UsageError } from '../../errors.js';
import { packageInfo } from '../../package.js';

export default async function systemdUnit(o: GlobalOptions & { exec?: string }, ctx: Context): Promise<number> {
  const { root, version } = packageInfo();
  // node by its absolute path: the unit must not depend on PATH (or on which node `env` finds there).
  const command = o.exec !== undefined ? [o.exec] : [process.execPath, join(root, 'bin', 'ovlnet')];
  if (o.exec !== undefined && !/^[^\s]+$/.test(o.exec)) throw new UsageError(`--exec ${JSON.stringify(o.exec).slice(0, 60)}: expected one program name or absolute path`);
  const hidden = command.filter((p) => /^\/(home|root|run\/user)(\/|$)/.test(p));
  if (hidden.length) {
    ctx.err(ctx.errStyle.yellow(`warning: ${hidden.join(' and ')} is under a home directory, which the unit's ProtectHome=yes hides from the service; install ovlnet (and node) system-wide, e.g. npm install -g`));
  }
  ctx.out(renderSystemdUnit(command, [`# Printed by \`ovlnet systemd-unit\` (ovlnet ${version}): ExecStart runs this installation's node and ovlnet.`]).replace(/\n$/, ''));
  return EXIT_OK;
}
