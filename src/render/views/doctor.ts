// `ovlnet doctor` output: a checklist table (wrapped to the terminal on a
// TTY, plain columns in a pipe) or JSON. Pure.
import type { ChalkInstance } from 'chalk';
import type { DoctorReport } from '../../doctor/decide.js';
import type { CheckResult } from '../../doctor/types.js';
import { renderTable, type TableKind } from '../table.js';

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width: number): string {
  if (width <= 0 || text.length <= width) return text;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

export function doctorJSON(r: DoctorReport): string {
  return JSON.stringify({ version: r.version, ok: r.ok, checks: r.checks.map((c) => ({
    name: c.name, status: c.status, ...(c.peer !== undefined ? { peer: c.peer } : {}), message: c.message, ...(c.hint ? { hint: c.hint } : {}),
  })) }, null, 2);
}

export function summaryLine(r: DoctorReport, style: ChalkInstance): string {
  const n = (s: CheckResult['status']) => r.checks.filter((c) => c.status === s).length;
  const text = `${n('pass')} passed, ${n('warn')} warning${n('warn') === 1 ? '' : 's'}, ${n('fail')} failed`;
  return r.ok ? style.green(`Doctor: ${text}.`) : style.red(`Doctor: ${text}.`);
}

/**
 * The checklist. `columns`: the terminal's width (TTY tables wrap the
 * finding and hint to fit); undefined in a pipe, where each check is one line.
 */
export function doctorTable(r: DoctorReport, kind: TableKind, style: ChalkInstance, columns?: number): string {
  const paint = (s: CheckResult['status']) => (s === 'pass' ? style.green(s) : s === 'warn' ? style.yellow(s) : style.red(s));
  const wrapped = kind !== 'plain' && columns !== undefined;
  // status, check and peer take about 45 columns with the borders; the rest is shared by finding and hint.
  const room = wrapped ? Math.max(40, columns - 45) : 0;
  const rows = r.checks.map((c) => [
    paint(c.status), c.name, c.peer ?? '',
    wrapped ? wrap(c.message, Math.ceil(room * 0.6)) : c.message,
    wrapped ? wrap(c.hint ?? '', Math.floor(room * 0.4)) : c.hint ?? '',
  ]);
  return `${renderTable(kind, ['STATUS', 'CHECK', 'PEER', 'FINDING', 'HINT'], rows)}\n\n${summaryLine(r, style)}`;
}
