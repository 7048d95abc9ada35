// The linear table drawing of render/table.ts draws, for plain cells, what
// cli-table3 draws (render/table.ts slowTable: the path kept for anything else).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { renderTable, slowTable, type TableKind } from '../../../src/render/table.js';

const cell = fc.oneof(fc.constant(''), fc.constantFrom('node-a', '198.18.0.0/24', 'via 192.0.2.1 dev eth0 onlink', '(direct)', '-'),
  fc.string({ unit: fc.constantFrom('a', 'B', '7', '.', '/', ':', '-'), maxLength: 12 }));

test('plain, ASCII and box tables: the text cli-table3 draws', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.array(cell, { minLength: 5, maxLength: 5 }), { maxLength: 6 }),
    fc.array(fc.string({ unit: fc.constantFrom('A', 'b', ' '), minLength: 1, maxLength: 8 }), { minLength: 5, maxLength: 5 }),
    fc.constantFrom<TableKind>('plain', 'ascii', 'box'), (cols, rows, head, kind) => {
      const h = head.slice(0, cols).map((x) => x.trim() || 'H');
      const r = rows.map((x) => x.slice(0, cols));
      assert.is(renderTable(kind, h, r), slowTable(kind, h, r));
    }), { numRuns: 300 });
});

test('tables: a cell that is not plain text goes to cli-table3 as it did', () => {
  for (const kind of ['plain', 'ascii', 'box'] as TableKind[]) {
    const head = ['Peer', 'Note'];
    const rows = [['node-a', 'ünïcode'], ['node-b', '']];
    assert.is(renderTable(kind, head, rows), slowTable(kind, head, rows), kind);
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
