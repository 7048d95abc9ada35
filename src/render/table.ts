// Tables for people and for pipes, via cli-table3.
//   box:   light borders, a rule under the header, no rules between rows
//          (compact, like `systemctl` or `docker`), for a UTF-8 terminal;
//   ascii: the same with + - | for terminals without UTF-8 (serial consoles);
//   plain: borderless space-aligned columns, header first, no trailing blanks,
//          for pipes: `grep`, `awk '{print $2}'` and `column` work on it.
// Programs should use -o json; plain is stable, but meant for eyes and awk.
import Table from 'cli-table3';
import type { TableKind } from './table-kind.js';

export { localeIsUTF8, tableKind, type TableKind } from './table-kind.js';

const NO_ROW_RULES = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
const ASCII = {
  top: '-', 'top-mid': '+', 'top-left': '+', 'top-right': '+',
  bottom: '-', 'bottom-mid': '+', 'bottom-left': '+', 'bottom-right': '+',
  left: '|', right: '|', middle: '|',
};
const NONE = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', right: '', middle: '  ', ...NO_ROW_RULES,
};

export function renderTable(kind: TableKind, head: string[], rows: string[][]): string {
  if (kind === 'plain') {
    const t = new Table({ head, chars: NONE, style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 } });
    // An empty cell would shift awk's fields: show "-" instead.
    t.push(...rows.map((r) => r.map((c) => (c === '' ? '-' : c))));
    return t.toString().split('\n').map((l) => l.trimEnd()).join('\n');
  }
  const t = new Table({ head, chars: kind === 'ascii' ? { ...ASCII, ...NO_ROW_RULES } : NO_ROW_RULES, style: { head: [], border: [] } });
  t.push(...rows);
  const lines = t.toString().split('\n');
  // cli-table3 drops the header rule together with the row rules; put it back,
  // drawn from the top border (┌─┬─┐ becomes ├─┼─┤).
  const rule = kind === 'ascii' ? lines[0] : lines[0].replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤');
  lines.splice(2, 0, rule);
  return lines.join('\n');
}
