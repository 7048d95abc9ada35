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
function isPlainText(c: unknown): c is string {
  if (typeof c !== 'string') return false;
  for (let i = 0; i < c.length; i++) {
    const x = c.charCodeAt(i);
    if (x < 0x20 || x > 0x7e) return false;
  }
  return true;
}

/** Each column's widest cell (an empty cell counting as `empty`), or undefined when a cell is not plain. */
function plainWidths(head: string[], rows: string[][], empty: number): number[] | undefined {
  if (head.length === 0) return undefined;
  const widths: number[] = [];
  for (const h of head) {
    if (!isPlainText(h)) return undefined;
    widths.push(h.length);
  }
  const cols = head.length;
  for (const r of rows) {
    if (!Array.isArray(r) || r.length !== cols) return undefined;
    for (let i = 0; i < cols; i++) {
      const c = r[i];
      if (!isPlainText(c)) return undefined;
      const w = c === '' ? empty : c.length;
      if (w > widths[i]) widths[i] = w;
    }
  }
  return widths;
}

/**
 * The text cli-table3 draws below, for plain cells, in linear time, or
 * undefined when a cell is not plain. cli-table3 lays a table out cell by
 * cell with row/column-span bookkeeping that grows much faster than the row
 * count: a 10 000-peer plan table took over 30 s (`npm run bench`). One pass
 * measures (and checks) the cells; the text is then written into one buffer
 * sized from those widths, so nothing is allocated per row or per cell (a
 * string per line and per piece was most of a 10 000-row table's cost,
 * mostly in the garbage collector).
 */
function fastTable(kind: TableKind, head: string[], rows: string[][]): string | undefined {
  if (kind === 'plain') {
    // cli-table3 never draws a column narrower than 1; an empty cell is shown as "-".
    const widths = plainWidths(head, rows, 1);
    if (!widths) return undefined;
    for (let i = 0; i < widths.length; i++) if (widths[i] < 1) widths[i] = 1;
    const cols = widths.length;
    let lineMax = 2 * (cols - 1) + 1;
    for (const w of widths) lineMax += w;
    const buf = Buffer.allocUnsafe(lineMax * (rows.length + 1));
    let off = 0;
    // Cells are printable ASCII (checked above): one byte per character,
    // copied and padded by plain loops: cells are short, and a Buffer.write
    // and a Buffer.fill per cell cost more in native calls than the bytes
    // themselves (a third less CPU for a 10 000-row table).
    const line = (r: string[], empty: string) => {
      const start = off;
      for (let i = 0; i < cols; i++) {
        const c = r[i] === '' ? empty : r[i];
        if (i > 0) {
          buf[off++] = 32;
          buf[off++] = 32;
        }
        for (let k = 0; k < c.length; k++) buf[off++] = c.charCodeAt(k);
        if (i < cols - 1) for (let n = widths[i] - c.length; n > 0; n--) buf[off++] = 32;
      }
      // No trailing blanks (cells may end in spaces too, as trimEnd would remove).
      while (off > start && buf[off - 1] === 32) off--;
    };
    line(head, '');
    for (const r of rows) {
      buf[off++] = 10;
      line(r, '-');
    }
    return buf.toString('latin1', 0, off);
  }
  if (kind !== 'ascii' && kind !== 'box') return undefined;
  const measured = plainWidths(head, rows, 0);
  if (!measured) return undefined;
  const b = kind === 'ascii'
    ? { h: '-', v: '|', tl: '+', tm: '+', tr: '+', ml: '+', mm: '+', mr: '+', bl: '+', bm: '+', br: '+' }
    : { h: '─', v: '│', tl: '┌', tm: '┬', tr: '┐', ml: '├', mm: '┼', mr: '┤', bl: '└', bm: '┴', br: '┘' };
  // Column width: the longest cell plus one space of padding either side.
  const widths = measured.map((w) => w + 2);
  const rule = (l: string, m: string, r: string) => l + widths.map((w) => b.h.repeat(w)).join(m) + r;
  const rules = [rule(b.tl, b.tm, b.tr), rule(b.ml, b.mm, b.mr), rule(b.bl, b.bm, b.br)];
  const v = Buffer.from(b.v, 'utf8');
  let lineBytes = v.length * (widths.length + 1) + 1;
  for (const w of widths) lineBytes += w;
  let size = lineBytes * (rows.length + 1);
  for (const r of rules) size += Buffer.byteLength(r, 'utf8') + 1;
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  const text = (t: string) => {
    off += buf.write(t, off, 'utf8');
  };
  const vLen = v.length;
  const bar = () => {
    for (let k = 0; k < vLen; k++) buf[off++] = v[k];
  };
  const line = (cells: string[]) => {
    bar();
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i];
      buf[off++] = 32;
      for (let k = 0; k < c.length; k++) buf[off++] = c.charCodeAt(k);
      for (let n = widths[i] - 1 - c.length; n > 0; n--) buf[off++] = 32;
      bar();
    }
  };
  text(rules[0]);
  buf[off++] = 10;
  line(head);
  buf[off++] = 10;
  text(rules[1]);
  for (const r of rows) {
    buf[off++] = 10;
    line(r);
  }
  buf[off++] = 10;
  text(rules[2]);
  return buf.toString('utf8', 0, off);
}

export function renderTable(kind: TableKind, head: string[], rows: string[][]): string {
  return fastTable(kind, head, rows) ?? slowTable(kind, head, rows);
}

type CliTable = new (o: object) => { push(...r: string[][]): void; toString(): string };

/** cli-table3's drawing of a table: the fallback, and the reference the fast path is tested against. */
export function slowTable(kind: TableKind, head: string[], rows: string[][]): string {
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
