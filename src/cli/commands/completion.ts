// ovlnet completion bash|zsh|fish: print the completion script (the same
// text as completions/ in the package).
import type { Context, GlobalOptions } from '../context.js';
import { completionScript, SHELLS, type Shell } from '../completions.js';
import { buildProgram } from '../main.js';
import { UsageError } from '../../errors.js';
import { EXIT_OK } from '../exit.js';

export default async function completion(o: GlobalOptions & { shell?: string }, ctx: Context): Promise<number> {
  const shell = o.shell as Shell;
  if (!SHELLS.includes(shell)) {
    throw new UsageError(`completion ${o.shell}: unknown shell`, `use one of: ${SHELLS.join(', ')}`);
  }
  ctx.out(completionScript(shell, buildProgram()).replace(/\n$/, ''));
  return EXIT_OK;
}
