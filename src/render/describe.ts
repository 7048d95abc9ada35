// One-line descriptions of kernel entries, shared by every renderer.
import { entryOf, specOf } from '../kinds/index.js';
import type { Change, Entry } from '../model/types.js';

export function describeEntry(e: Entry): string {
  return specOf(e.kind).describe(e);
}

export const SYMBOL: Record<Change['action'], string> = { add: '+', change: '~', delete: '-', replace: '-/+' };

export function describeChange(c: Change): string {
  const e = entryOf(c);
  return `${describeEntry(e)}${c.detail ? `  (${c.detail})` : ''}`;
}

export interface Counts {
  add: number;
  change: number;
  destroy: number;
}

export function countChanges(changes: Change[]): Counts {
  const n = { add: 0, change: 0, destroy: 0 };
  for (const c of changes) {
    if (c.action === 'add') n.add++;
    else if (c.action === 'delete') n.destroy++;
    else n.change++;
  }
  return n;
}
