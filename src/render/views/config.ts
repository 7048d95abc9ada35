// `ovlnet config COMMAND` (and `COMMAND --show-config`) output: the settings
// a command runs with and where each comes from, as a table and as the
// versioned JSON document (docs/output.md). Pure.
import type { ChalkInstance } from 'chalk';
import type { Setting } from '../../cli/settings.js';
import { renderTable, type TableKind } from '../table.js';

export interface ConfigView {
  command: string;
  configFile?: string;
  settings: Setting[];
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

/** flanneld's spellings only when they are set: they are the options' aliases. */
function visible(v: ConfigView): Setting[] {
  return v.settings.filter((s) => !s.hidden || s.origin !== 'default');
}

export function configJSON(v: ConfigView): object {
  return {
    version: 1,
    command: v.command,
    configFile: v.configFile ?? null,
    settings: visible(v).map((s) => ({ key: s.key, value: shown(s) ?? null, origin: s.origin, ...(s.from ? { from: s.from } : {}) })),
  };
}

export function configText(v: ConfigView, c: ChalkInstance, table: TableKind): string {
  return [
    `${c.bold('Settings of')} ovlnet ${v.command}  ${c.bold('config file')} ${v.configFile ?? '(none)'}`,
    renderTable(table, ['Setting', 'Value', 'From'], visible(v).map((s) => [s.key, text(shown(s)), origin(s)])),
  ].join('\n');
}
