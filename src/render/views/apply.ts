// `ovlnet apply` output: the changes written, what failed and what is still
// missing, as text (stdout for the changes and the summary, stderr for the
// failures) and as the versioned JSON document (docs/output.md). Pure.
import type { ChalkInstance } from 'chalk';
import type { ApplyResult } from '../../engine/cycle.js';
import type { DesiredState, Problem } from '../../model/types.js';
import { problemJSON } from '../problems.js';
import { changeJSON, CHANGES_JSON_VERSION, peerIndex } from '../changes-view.js';
import { countChanges, describeChange } from '../describe.js';
import { changeLine } from './diff.js';

export interface ApplyView {
  result: Pick<ApplyResult, 'applied' | 'failures' | 'remaining'>;
  conflicts: Problem[];
  problems: Problem[];
  desired: Pick<DesiredState, 'peers'>;
  durationMs: number;
  /** The saved plan applied (apply FILE), if any. */
  planFile?: string;
}

/** Whether the host converged: everything written, nothing missing, no foreign route in the way. */
export function applyOk(v: Pick<ApplyView, 'result' | 'conflicts'>): boolean {
  return v.result.failures.length === 0 && v.result.remaining.length === 0 && v.conflicts.length === 0;
}

export function applyJSON(v: ApplyView): object {
  const r = v.result;
  const n = countChanges(r.applied);
  const peerOf = peerIndex(v.desired);
  return {
    version: CHANGES_JSON_VERSION,
    ok: applyOk(v),
    ...(v.planFile ? { planFile: v.planFile } : {}),
    summary: { add: n.add, change: n.change, delete: n.delete, failed: r.failures.length, remaining: r.remaining.length },
    applied: r.applied.map((c) => changeJSON(c, peerOf)),
    failures: r.failures.map((f) => ({ ...changeJSON(f.change, peerOf), line: f.line, error: f.message })),
    remaining: r.remaining.map((c) => changeJSON(c, peerOf)),
    conflicts: v.conflicts.map(problemJSON),
    problems: v.problems.map(problemJSON),
    durationMs: v.durationMs,
  };
}

export interface TextView {
  /** For stdout. */
  out: string[];
  /** For stderr. */
  err: string[];
}

export function applyText(v: ApplyView, c: ChalkInstance, errC: ChalkInstance): TextView {
  const r = v.result;
  const peerOf = peerIndex(v.desired);
  const out: string[] = [];
  const err: string[] = [];
  const n = countChanges(r.applied);
  const ok = applyOk(v);
  // One write for all the change lines (the same bytes as a write per line):
  // a cold apply at 10 000 peers prints 30 000 of them.
  if (r.applied.length) out.push(r.applied.map((ch) => changeLine(ch, c, peerOf)).join('\n'));
  for (const f of r.failures) err.push(errC.red(`failed: ${describeChange(f.change)}: ${f.message}`));
  // A set, not a scan of the failures per remaining change: both can be every entry.
  const failedKeys = new Set(r.failures.map((f) => f.change.key));
  for (const ch of r.remaining) {
    if (!failedKeys.has(ch.key)) err.push(errC.red(`not converged: ${describeChange(ch)}`));
  }
  const summary = `${n.add} added, ${n.change} changed, ${n.delete} removed`;
  const nc = v.conflicts.length;
  const tail = `${r.failures.length ? `, ${r.failures.length} failed` : ''}${nc ? `, ${nc} conflict${nc === 1 ? '' : 's'} with foreign routes (left as is)` : ''}`;
  out.push(`${r.applied.length ? '\n' : ''}${ok ? c.green('Apply complete:') : c.red('Apply incomplete:')} ${summary}${tail} (${v.durationMs} ms).`);
  if (!ok && (r.failures.length || nc)) err.push('hint: fix the cause above and run apply again; it only retries what is missing');
  return { out, err };
}
