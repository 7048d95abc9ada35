// `ovlnet diff` and `apply` output, in the spirit of Terraform's plan:
// a `+ ~ - -/+` line per change and a summary footer.
import type { ChalkInstance } from 'chalk';
import type { Change, DesiredState, Problem } from '../../model/types.js';
import type { DiffResult } from '../../reconcile/diff.js';
import { orderChanges } from '../../reconcile/order.js';
import { countChanges, describeChange, SYMBOL } from '../describe.js';
import { problemJSON } from '../problems.js';
import { changeJSON, CHANGES_JSON_VERSION, peerIndex, type PeerIndex } from '../changes-view.js';

export const DIFF_JSON_VERSION = CHANGES_JSON_VERSION;

/** One `+ ~ - -/+` line; `peerOf` names the peer the entry serves (`  # node-b`), as the JSON's `peer` does. */
export function changeLine(ch: Change, c: ChalkInstance, peerOf?: PeerIndex): string {
  const sym = SYMBOL[ch.action];
  const paint = ch.action === 'add' ? c.green : ch.action === 'delete' ? c.red : c.yellow;
  const peer = peerOf ? peerOf(ch.desired) ?? peerOf(ch.actual) : null;
  return paint(`${sym.padStart(3)} ${describeChange(ch)}${peer ? `  # ${peer}` : ''}`);
}

/** `desired`: the plan, whose peers name the lines. */
export function diffText(r: DiffResult, c: ChalkInstance, desired?: Pick<DesiredState, 'peers'>): string {
  const peerOf = peerIndex(desired);
  const lines = orderChanges(r.changes).map((ch) => changeLine(ch, c, peerOf));
  for (const p of r.conflicts) lines.push(c.magenta(`  ! ${p.subject}: ${p.message}`));
  const n = countChanges(r.changes);
  if (lines.length) lines.push('');
  if (r.changes.length === 0 && r.conflicts.length === 0) {
    lines.push(c.green(`No changes. The host matches the plan (${r.inSync} entries in sync${r.adopted.length ? `, ${r.adopted.length} held by identical foreign routes` : ''}).`));
  } else {
    lines.push(c.bold(`Diff: ${n.add} to add, ${n.change} to change, ${n.delete} to destroy.`) +
      `${r.conflicts.length ? ` ${r.conflicts.length} conflict${r.conflicts.length === 1 ? '' : 's'} with foreign routes.` : ''} ${r.inSync} in sync.`);
  }
  return lines.join('\n');
}

/** `desired`: the plan, whose peers name the changes (`peer`). */
export function diffJSON(r: DiffResult, problems: Problem[], desired?: Pick<DesiredState, 'peers'>): object {
  const n = countChanges(r.changes);
  const peerOf = peerIndex(desired);
  return {
    version: DIFF_JSON_VERSION,
    inSync: r.changes.length === 0 && r.conflicts.length === 0,
    summary: { add: n.add, change: n.change, delete: n.delete, conflicts: r.conflicts.length, unchanged: r.inSync, adopted: r.adopted.length },
    changes: orderChanges(r.changes).map((c) => changeJSON(c, peerOf)),
    conflicts: r.conflicts.map(problemJSON),
    problems: problems.map(problemJSON),
  };
}

/** After plan --out / diff --out, as Terraform says it: where the plan went and how to apply exactly it. */
export function savedPlanLine(path: string, n: { add: number; change: number; delete: number }, c: ChalkInstance): string {
  const quoted = /^[A-Za-z0-9_@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
  return `\nSaved the plan to ${path} (${n.add} to add, ${n.change} to change, ${n.delete} to destroy).\nTo apply exactly these changes, run: ${c.bold(`ovlnet apply ${quoted}`)}`;
}
