// ovlnet plan: what this node's kernel should hold. Reads, never writes.
// With --out FILE: the changes that would make the host match, saved with
// fingerprints of the states they come from, for `apply FILE`.
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { outputFormat, takePlanSnapshot } from '../load.js';
import { planCommands, planJSON, planTable } from '../../render/views/plan.js';
import { EXIT_OK } from '../exit.js';
import { UsageError } from '../../errors.js';

export interface PlanFlags extends GlobalOptions {
  out?: string;
}

export default async function plan(o: PlanFlags, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json', 'commands']);
  if (o.out) {
    if (format === 'commands') throw new UsageError('--out with -o commands: a saved plan holds changes, not commands', 'use -o table or -o json with --out');
    // The changes need the whole host read: the diff's path, loaded only here.
    const { default: diff } = await import('./diff.js');
    const code = await diff(o, ctx);
    return code === 1 ? code : EXIT_OK;
  }
  const snap = await takePlanSnapshot(o, ctx);
  if (format === 'json') {
    ctx.out(JSON.stringify(planJSON(snap.desired, snap.problems), null, 2));
    return EXIT_OK;
  }
  printProblems(ctx, snap.problems);
  ctx.out(format === 'commands' ? planCommands(snap.desired).join('\n') : planTable(snap.desired, ctx.style, ctx.table));
  return EXIT_OK;
}
