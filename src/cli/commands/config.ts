// ovlnet config [COMMAND] (and COMMAND --show-config): the settings COMMAND
// would run with and where each comes from, so an operator sees what the
// daemon sees before trusting a diff.
import type { Context, GlobalOptions } from '../context.js';
import { outputFormat } from '../load.js';
import { EXIT_OK } from '../exit.js';
import { configJSON, configText } from '../../render/views/config.js';
import type { Setting } from '../settings.js';

interface ConfigOptions extends GlobalOptions {
  settings: Setting[];
  configFile?: string;
  command: string;
}

export default async function config(o: ConfigOptions, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json']);
  const view = { command: o.command, configFile: o.configFile, settings: o.settings };
  ctx.out(format === 'json' ? JSON.stringify(configJSON(view), null, 2) : configText(view, ctx.style, ctx.table));
  return EXIT_OK;
}
