// ovlnet diff: the plan against the live host. Exit 0 in sync, 2 drift, 1 error.
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { outputFormat, takeSnapshot } from '../load.js';
import { diffJSON, diffText, savedPlanLine } from '../../render/views/diff.js';
import { EXIT_DRIFT, EXIT_OK } from '../exit.js';
import { writeSavedPlan } from '../saved-plan-io.js';

export interface DiffFlags extends GlobalOptions {
  /** --out FILE: also save these changes for `apply FILE`. */
  out?: string;
}

export default async function diffCommand(o: DiffFlags, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json']);
  const snap = await takeSnapshot(o, ctx);
  const r = snap.result;
  const saved = o.out ? await writeSavedPlan(o.out, snap, o) : undefined;
  if (format === 'json') ctx.out(JSON.stringify({ ...diffJSON(r, snap.problems, snap.desired), ...(o.out ? { planFile: o.out } : {}) }, null, 2));
  else {
    const conflicts = new Set(r.conflicts); // not includes() per problem: both can number every peer
    printProblems(ctx, snap.problems.filter((p) => !conflicts.has(p)));
    ctx.out(diffText(r, ctx.style, snap.desired));
    if (saved) ctx.out(savedPlanLine(o.out!, saved.summary, ctx.style));
  }
  return r.changes.length || r.conflicts.length ? EXIT_DRIFT : EXIT_OK;
}
