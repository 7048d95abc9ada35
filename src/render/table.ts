// Tables for people and for pipes, via cli-table3.
//   box:   light borders, a rule under the header, no rules between rows
//          (compact, like `systemctl` or `docker`), for a UTF-8 terminal;
//   ascii: the same with + - | for terminals without UTF-8 (serial consoles);
//   plain: borderless space-aligned columns, header first, no trailing blanks,
//          for pipes: `grep`, `awk '{print $2}'` and `column` work on it.
// Programs should use -o json; plain is stable, but meant for eyes and awk.
import { createRequire } from 'node:module';
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

// Plain cells: one line of printable ASCII each, every row as long as the head.
const PLAIN = /^[\x20-\x7e]*$/;

function isPlain(head: string[], rows: string[][]): boolean {
  if (head.length === 0) return false;
  for (const h of head) if (typeof h !== 'string' || !PLAIN.test(h)) return false;
  for (const r of rows) {
    if (!Array.isArray(r) || r.length !== head.length) return false;
    for (const c of r) if (typeof c !== 'string' || !PLAIN.test(c)) return false;
  }
  return true;
}

/**
 * The text cli-table3 draws below, for plain cells, in linear time.
 * cli-table3 lays a table out cell by cell with row/column-span bookkeeping
 * that grows much faster than the row count: a 10 000-peer plan table took
 * over 30 s (`npm run bench`). Anything not plain still goes to cli-table3.
 */
function fastTable(kind: TableKind, head: string[], rows: string[][]): string {
  if (kind === 'plain') {
    const cells = rows.map((r) => r.map((c) => (c === '' ? '-' : c)));
    const widths = head.map((h) => Math.max(1, h.length)); // cli-table3 never draws a column narrower than 1
    for (const r of cells) for (let i = 0; i < r.length; i++) if (r[i].length > widths[i]) widths[i] = r[i].length;
    const line = (r: string[]) => r.map((c, i) => c + ' '.repeat(widths[i] - c.length)).join('  ').trimEnd();
    return [head, ...cells].map(line).join('\n');
  }
  const b = kind === 'ascii'
    ? { h: '-', v: '|', tl: '+', tm: '+', tr: '+', ml: '+', mm: '+', mr: '+', bl: '+', bm: '+', br: '+' }
    : { h: '─', v: '│', tl: '┌', tm: '┬', tr: '┐', ml: '├', mm: '┼', mr: '┤', bl: '└', bm: '┴', br: '┘' };
  // Column width: the longest cell plus one space of padding either side.
  const widths = head.map((h) => h.length + 2);
  for (const r of rows) for (let i = 0; i < r.length; i++) if (r[i].length + 2 > widths[i]) widths[i] = r[i].length + 2;
  const rule = (l: string, m: string, r: string) => l + widths.map((w) => b.h.repeat(w)).join(m) + r;
  const line = (cells: string[]) => b.v + cells.map((c, i) => ' ' + c + ' '.repeat(widths[i] - 1 - c.length)).join(b.v) + b.v;
  const out = [rule(b.tl, b.tm, b.tr), line(head), rule(b.ml, b.mm, b.mr)];
  for (const r of rows) out.push(line(r));
  out.push(rule(b.bl, b.bm, b.br));
  return out.join('\n');
}

export function renderTable(kind: TableKind, head: string[], rows: string[][]): string {
  if (isPlain(head, rows) && (kind === 'plain' || kind === 'ascii' || kind === 'box')) return fastTable(kind, head, rows);
  return slowTable(kind, head, rows);
}

type CliTable = new (o: object) => { push(...r: string[][]): void; toString(): string };

function slowTable(kind: TableKind, head: string[], rows: string[][]): string {
  // Loaded only for tables the fast path does not draw.
  const Table = createRequire(import.meta.url)('cli-table3') as CliTable;
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
