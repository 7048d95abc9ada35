// The linear table drawing of render/table.ts draws, for plain cells, what
// cli-table3 draws (the slow path, kept for anything else).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { renderTable, type TableKind } from '../../src/render/table.js';

type CliTable = new (o: object) => { push(...r: string[][]): void; toString(): string };
const Table = createRequire(import.meta.url)('cli-table3') as CliTable;
const NO_ROW_RULES = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };
const ASCII = {
  top: '-', 'top-mid': '+', 'top-left': '+', 'top-right': '+', bottom: '-', 'bottom-mid': '+', 'bottom-left': '+', 'bottom-right': '+',
  left: '|', right: '|', middle: '|',
};
const NONE = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', right: '', middle: '  ', ...NO_ROW_RULES,
};

/** cli-table3, configured as render/table.ts configures it. */
function cliTable3(kind: TableKind, head: string[], rows: string[][]): string {
  if (kind === 'plain') {
    const t = new Table({ head, chars: NONE, style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 } });
    t.push(...rows.map((r) => r.map((c) => (c === '' ? '-' : c))));
    return t.toString().split('\n').map((l) => l.trimEnd()).join('\n');
  }
  const t = new Table({ head, chars: kind === 'ascii' ? { ...ASCII, ...NO_ROW_RULES } : NO_ROW_RULES, style: { head: [], border: [] } });
  t.push(...rows);
  const lines = t.toString().split('\n');
  const rule = kind === 'ascii' ? lines[0] : lines[0].replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤');
  lines.splice(2, 0, rule);
  return lines.join('\n');
}

const cell = fc.oneof(fc.constant(''), fc.constantFrom('node-a', '198.18.0.0/24', 'via 192.0.2.1 dev eth0 onlink', '(direct)', '-'),
  fc.string({ unit: fc.constantFrom('a', 'B', '7', '.', '/', ':', '-'), maxLength: 12 }));

test('plain, ASCII and box tables: the text cli-table3 draws', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.array(cell, { minLength: 5, maxLength: 5 }), { maxLength: 6 }),
    fc.array(fc.string({ unit: fc.constantFrom('A', 'b', ' '), minLength: 1, maxLength: 8 }), { minLength: 5, maxLength: 5 }),
    fc.constantFrom<TableKind>('plain', 'ascii', 'box'), (cols, rows, head, kind) => {
      const h = head.slice(0, cols).map((x) => x.trim() || 'H');
      const r = rows.map((x) => x.slice(0, cols));
      assert.is(renderTable(kind, h, r), cliTable3(kind, h, r));
    }), { numRuns: 300 });
});

test('tables: a cell that is not plain text goes to cli-table3 as it did', () => {
  for (const kind of ['plain', 'ascii', 'box'] as TableKind[]) {
    const head = ['Peer', 'Note'];
    const rows = [['node-a', 'ünïcode'], ['node-b', '']];
    assert.is(renderTable(kind, head, rows), cliTable3(kind, head, rows), kind);
  }
});

test('tables: plain, empty cells as "-", the last column not padded', () => {
  const rows: Array<[string[], string[][], string[]]> = [
    [['A', 'B', 'C'], [['', '', '']], ['A  B  C', '-  -  -']],
    [['Peer', 'Route'], [['x', ''], ['longer-name', 'via 1.2.3.4']], ['Peer         Route', 'x            -', 'longer-name  via 1.2.3.4']],
    [['A', 'B'], [], ['A  B']],
  ];
  for (const [head, body, want] of rows) assert.equal(renderTable('plain', head, body).split('\n'), want);
});

test.run();
