// The one place errors become exit codes and messages.
//   0  success (diff: in sync)
//   1  error: bad input, unreadable source, failed or partial apply, refused by a guard
//   2  diff found drift (changes to make)
import { OvlnetError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_DRIFT = 2;

export function reportError(e: unknown, debug: boolean, err: (s: string) => void): number {
  if (e instanceof OvlnetError) {
    err(`ovlnet: ${e.message}`);
    if (e.hint) err(`hint: ${e.hint}`);
    if (debug && e.stack) err(e.stack);
    return EXIT_ERROR;
  }
  const ex = e as Error & { code?: string };
  if (ex?.code === 'commander.helpDisplayed' || ex?.code === 'commander.version') return EXIT_OK;
  err(`ovlnet: internal error: ${ex?.message ?? String(e)}`);
  err(debug && ex?.stack ? ex.stack : 'hint: rerun with --debug for a stack trace, and report it');
  return EXIT_ERROR;
}
