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

/** The counts of changes by action: one vocabulary (add, change, delete) for text and JSON (changes-view.ts). */
export { changeCounts as countChanges, type ChangeCounts as Counts } from './changes-view.js';
