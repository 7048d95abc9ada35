// ovlnet apply: make the host match the plan, changing only the difference.
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { cycleOptions, outputFormat, takeSnapshot } from '../load.js';
import { applySnapshot } from '../../engine/cycle.js';
import { parseMaxDelete } from '../../reconcile/guard.js';
import { diffJSON, diffText } from '../../render/views/diff.js';
import { applyJSON, applyOk, applyText } from '../../render/views/apply.js';
import { EXIT_ERROR, EXIT_OK } from '../exit.js';
import { withSpinner } from '../spinner.js';
import { takeWriterLock, type WriterLock } from '../../host/lock.js';
import { preflightWrite } from '../../host/privilege.js';
import { GuardError } from '../../errors.js';
import { resolveSourceURI } from '../../sources/index.js';
import { checkSavedPlan, type SavedPlan } from '../../engine/saved-plan.js';
import { currentState, readSavedPlan } from '../saved-plan-io.js';

/** Another apply holding the namespace is waited for this long. */
const APPLY_WAIT_MS = 10_000;

/** The namespace's writer lock; with --force, a holder is reported and ignored. */
async function lockNamespace(o: ApplyFlags, ctx: Context): Promise<WriterLock | undefined> {
  try {
    return await takeWriterLock({ netns: o.netns, kind: 'apply', source: resolveSourceURI(o.source), waitMs: APPLY_WAIT_MS });
  } catch (e) {
    if (!(e instanceof GuardError) || !o.force) throw e;
    ctx.err(ctx.errStyle.red(`--force: applying although ${e.message.replace(/; nothing was changed$/, '')}`));
    return undefined;
  }
}

export interface ApplyFlags extends GlobalOptions {
  dryRun?: boolean;
  maxDelete?: string;
  force?: boolean;
  /** apply FILE: the saved plan (plan --out) to apply, if its states did not move. */
  planFile?: string;
}

export default async function apply(o: ApplyFlags, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json']);
  const maxDelete = parseMaxDelete(o.maxDelete);
  const started = Date.now();
  // A corrupt or modified plan file is refused before anything else (no root needed to hear it).
  const saved = o.planFile ? await readSavedPlan(o.planFile) : undefined;
  // Held from the host read to the end of the write: a second writer would diff against a stale read.
  if (!o.dryRun) preflightWrite(o.netns);
  const lock = o.dryRun ? undefined : await lockNamespace(o, ctx);
  try {
    return await applyLocked(o, ctx, format, maxDelete, started, saved);
  } finally {
    await lock?.release();
  }
}

async function applyLocked(o: ApplyFlags, ctx: Context, format: string, maxDelete: ReturnType<typeof parseMaxDelete>, started: number, saved: SavedPlan | undefined): Promise<number> {
  const snap = await takeSnapshot(o, ctx);
  if (saved) {
    // The state read now against the state the plan was made from: applied only if neither moved.
    checkSavedPlan(o.planFile!, saved, await currentState(snap, o));
  }
  if (format !== 'json') printProblems(ctx, snap.problems);
  if (o.dryRun) {
    ctx.out(format === 'json' ? JSON.stringify({ ...diffJSON(snap.result, snap.problems, snap.desired), dryRun: true }, null, 2) : diffText(snap.result, ctx.style, snap.desired));
    return EXIT_OK;
  }
  const pending = snap.result.changes.length;
  const r = await withSpinner(ctx, `applying ${pending} change${pending === 1 ? '' : 's'}`, () => applySnapshot(snap, { ...cycleOptions(o), maxDelete, force: o.force }));
  const view = { result: r, conflicts: snap.result.conflicts, problems: snap.problems, desired: snap.desired, durationMs: Date.now() - started, planFile: o.planFile };
  if (format === 'json') ctx.out(JSON.stringify(applyJSON(view), null, 2));
  else {
    const text = applyText(view, ctx.style, ctx.errStyle);
    for (const line of text.out) ctx.out(line);
    for (const line of text.err) ctx.err(line);
  }
  return applyOk(view) ? EXIT_OK : EXIT_ERROR;
}
