// The one place errors become exit codes and messages.
//   0  success (diff: in sync)
//   1  error: bad input, unreadable source, failed or partial apply, refused by a guard
//   2  diff found drift (changes to make); doctor: a check failed
//   3  apply FILE: the saved plan is stale (the source or the host moved since plan --out)
import { OvlnetError, PermissionError, StalePlanError } from '../errors.js';

/** The command line as the operator would retype it: `sudo ovlnet apply --source ...`. */
export function retypeCommand(argv: string[]): string {
  const quote = (a: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['sudo', 'ovlnet', ...argv].map(quote).join(' ');
}

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_DRIFT = 2;
/** doctor: at least one check failed (1 stays "could not run"). */
export const EXIT_CHECK_FAILED = 2;
/** apply FILE refused a saved plan whose source or host state moved: scripts can plan again. */
export const EXIT_STALE_PLAN = 3;

export function reportError(e: unknown, debug: boolean, err: (s: string) => void, argv: string[] = process.argv.slice(2)): number {
  if (e instanceof OvlnetError) {
    err(`ovlnet: ${e.message}`);
    // Not root: show the exact command to rerun.
    if (e instanceof PermissionError && process.getuid?.() !== 0) err(`hint: run it as root: ${retypeCommand(argv)}`);
    else if (e.hint) err(`hint: ${e.hint}`);
    if (debug && e.stack) err(e.stack);
    return e instanceof StalePlanError ? EXIT_STALE_PLAN : EXIT_ERROR;
  }
  const ex = e as Error & { code?: string };
  if (ex?.code === 'commander.helpDisplayed' || ex?.code === 'commander.version') return EXIT_OK;
  err(`ovlnet: internal error: ${ex?.message ?? String(e)}`);
  err(debug && ex?.stack ? ex.stack : 'hint: rerun with --debug for a stack trace, and report it');
  return EXIT_ERROR;
}
