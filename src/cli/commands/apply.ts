// ovlnet apply: make the host match the plan, changing only the difference.
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { cycleOptions, outputFormat, takeSnapshot } from '../load.js';
import { applySnapshot } from '../../engine/cycle.js';
import { parseMaxDelete } from '../../reconcile/guard.js';
import { changeLine, diffJSON, diffText } from '../../render/diff.js';
import { countChanges, describeChange } from '../../render/describe.js';
import { entryJSONForChange } from '../../render/json.js';
import { EXIT_ERROR, EXIT_OK } from '../exit.js';
import { withSpinner } from '../spinner.js';
import { takeWriterLock, type WriterLock } from '../../host/lock.js';
import { preflightWrite } from '../../host/privilege.js';
import { GuardError } from '../../errors.js';
import { resolveSourceURI } from '../../sources/index.js';

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
}

export default async function apply(o: ApplyFlags, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json']);
  const maxDelete = parseMaxDelete(o.maxDelete);
  const started = Date.now();
  // Held from the host read to the end of the write: a second writer would diff against a stale read.
  if (!o.dryRun) preflightWrite(o.netns);
  const lock = o.dryRun ? undefined : await lockNamespace(o, ctx);
  try {
    return await applyLocked(o, ctx, format, maxDelete, started);
  } finally {
    await lock?.release();
  }
}

async function applyLocked(o: ApplyFlags, ctx: Context, format: string, maxDelete: ReturnType<typeof parseMaxDelete>, started: number): Promise<number> {
  const snap = await takeSnapshot(o, ctx);
  if (format !== 'json') printProblems(ctx, snap.problems);
  if (o.dryRun) {
    ctx.out(format === 'json' ? JSON.stringify({ ...diffJSON(snap.result, snap.problems), dryRun: true }, null, 2) : diffText(snap.result, ctx.style));
    return EXIT_OK;
  }
  const pending = snap.result.changes.length;
  const r = await withSpinner(ctx, `applying ${pending} change${pending === 1 ? '' : 's'}`, () => applySnapshot(snap, { ...cycleOptions(o), maxDelete, force: o.force }));
  const n = countChanges(r.applied);
  const ok = r.failures.length === 0 && r.remaining.length === 0 && snap.result.conflicts.length === 0;
  if (format === 'json') {
    ctx.out(JSON.stringify({
      version: 1,
      ok,
      summary: { added: n.add, changed: n.change, removed: n.destroy, failed: r.failures.length, remaining: r.remaining.length },
      applied: r.applied.map(entryJSONForChange),
      failures: r.failures.map((f) => ({ ...entryJSONForChange(f.change), line: f.line, error: f.message })),
      remaining: r.remaining.map(entryJSONForChange),
      conflicts: snap.result.conflicts,
      problems: snap.problems,
      durationMs: Date.now() - started,
    }, null, 2));
    return ok ? EXIT_OK : EXIT_ERROR;
  }
  // One write for all the change lines (the same bytes as a write per line):
  // a cold apply at 10 000 peers prints 30 000 of them.
  if (r.applied.length) ctx.out(r.applied.map((c) => changeLine(c, ctx.style)).join('\n'));
  for (const f of r.failures) ctx.err(ctx.errStyle.red(`failed: ${describeChange(f.change)}: ${f.message}`));
  // A set, not a scan of the failures per remaining change: both can be every entry.
  const failedKeys = new Set(r.failures.map((f) => f.change.key));
  for (const c of r.remaining) {
    if (!failedKeys.has(c.key)) ctx.err(ctx.errStyle.red(`not converged: ${describeChange(c)}`));
  }
  const summary = `${n.add} added, ${n.change} changed, ${n.destroy} removed`;
  const nc = snap.result.conflicts.length;
  const tail = `${r.failures.length ? `, ${r.failures.length} failed` : ''}${nc ? `, ${nc} conflict${nc === 1 ? '' : 's'} with foreign routes (left as is)` : ''}`;
  ctx.out(`${r.applied.length ? '\n' : ''}${ok ? ctx.style.green('Apply complete:') : ctx.style.red('Apply incomplete:')} ${summary}${tail} (${Date.now() - started} ms).`);
  if (!ok && (r.failures.length || nc)) ctx.err('hint: fix the cause above and run apply again; it only retries what is missing');
  return ok ? EXIT_OK : EXIT_ERROR;
}
