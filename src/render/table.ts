// Box tables, as cli-table3 draws them with `style: { head: [], border: [] }`.
//
// cli-table3 lays a table out cell by cell with row/column-span bookkeeping
// that grows faster than linearly: a 10 000-peer plan table took over 30 s.
// Our tables are plain: one line per cell, printable ASCII, same number of
// cells in every row. For those this draws the identical text in linear time;
// anything else (colour codes, wide or control characters, ragged rows) is
// still handed to cli-table3, loaded only then.
import { createRequire } from 'node:module';

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

function slowTable(head: string[], rows: string[][]): string {
  const Table = createRequire(import.meta.url)('cli-table3') as new (o: object) => { push(...r: string[][]): void; toString(): string };
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows);
  return t.toString();
}

/** The table as text, lines joined by "\n" (no trailing newline), exactly as cli-table3 would. */
export function renderTable(head: string[], rows: string[][]): string {
  if (!isPlain(head, rows)) return slowTable(head, rows);
  // Column width: the longest cell plus one space of padding either side.
  const widths = head.map((h) => h.length + 2);
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) if (r[i].length + 2 > widths[i]) widths[i] = r[i].length + 2;
  }
  const rule = (left: string, mid: string, right: string) => left + widths.map((w) => '─'.repeat(w)).join(mid) + right;
  const line = (cells: string[]) => '│' + cells.map((c, i) => ' ' + c + ' '.repeat(widths[i] - 1 - c.length)).join('│') + '│';
  const between = rule('├', '┼', '┤');
  const out: string[] = [rule('┌', '┬', '┐'), line(head)];
  for (const r of rows) out.push(between, line(r));
  out.push(rule('└', '┴', '┘'));
  return out.join('\n');
}
