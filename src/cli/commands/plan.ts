// ovlnet plan: what this node's kernel should hold. Reads, never writes.
import type { Context, GlobalOptions } from '../context.js';
import { printProblems } from '../context.js';
import { outputFormat, takePlanSnapshot } from '../load.js';
import { planCommands, planJSON, planTable } from '../../render/plan.js';
import { EXIT_OK } from '../exit.js';

export default async function plan(o: GlobalOptions, ctx: Context): Promise<number> {
  const format = outputFormat(o, ['table', 'json', 'commands']);
  const snap = await takePlanSnapshot(o, ctx);
  if (format === 'json') {
    ctx.out(JSON.stringify(planJSON(snap.desired, snap.problems), null, 2));
    return EXIT_OK;
  }
  printProblems(ctx, snap.problems);
  ctx.out(format === 'commands' ? planCommands(snap.desired).join('\n') : planTable(snap.desired, ctx.style, ctx.table));
  return EXIT_OK;
}
