// ovlnet config [COMMAND]: the settings COMMAND would run with and where each
// comes from, so an operator sees what the daemon sees before trusting a diff.
import type { Context, GlobalOptions } from '../context.js';
import { outputFormat } from '../load.js';
import { EXIT_OK } from '../exit.js';
import { renderTable } from '../../render/table.js';
import type { Setting } from '../settings.js';

interface ConfigOptions extends GlobalOptions {
  settings: Setting[];
  configFile?: string;
  command: string;
}

/** Secrets are shown as set or not, never printed. */
function shown(s: Setting): unknown {
  if (/password/.test(s.key) && s.value !== undefined) return '(set)';
  return s.value;
}

function text(v: unknown): string {
  if (v === undefined) return '-';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

function origin(s: Setting): string {
  if (s.origin === 'flag' && s.from) return `flag ${s.from}`;
  if (s.origin === 'env') return `env ${s.from}`;
  if (s.origin === 'file') return `file ${s.from}`;
  return s.origin;
}

export default async function config(o: ConfigOptions, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json']);
  // flanneld's spellings only when they are set: they are the options' aliases.
  o = { ...o, settings: o.settings.filter((s) => !s.hidden || s.origin !== 'default') };
  if (format === 'json') {
    ctx.out(JSON.stringify({
      version: 1,
      command: o.command,
      configFile: o.configFile ?? null,
      settings: o.settings.map((s) => ({ key: s.key, value: shown(s) ?? null, origin: s.origin, ...(s.from ? { from: s.from } : {}) })),
    }, null, 2));
    return EXIT_OK;
  }
  ctx.out(`${ctx.style.bold('Settings of')} ovlnet ${o.command}  ${ctx.style.bold('config file')} ${o.configFile ?? '(none)'}`);
  ctx.out(renderTable(ctx.table, ['Setting', 'Value', 'From'], o.settings.map((s) => [s.key, text(shown(s)), origin(s)])));
  return EXIT_OK;
}
