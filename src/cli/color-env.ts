// Settles NO_COLOR against FORCE_COLOR once, at start-up, before anything
// asks Node for the terminal's colours. Node warns ("The 'NO_COLOR' env is
// ignored due to the 'FORCE_COLOR' env being set") whenever it sees both, on
// the user's terminal; ovlnet decides itself (render/style.ts) and removes the
// loser from its own environment, so Node never sees the two together.
//   NO_COLOR set + FORCE_COLOR empty         -> NO_COLOR wins (an empty FORCE_COLOR is
//                                               usually a leftover `FORCE_COLOR=`);
//   FORCE_COLOR forcing + NO_COLOR (or NODE_DISABLE_COLORS) -> FORCE_COLOR wins.
export function settleColorEnv(env: NodeJS.ProcessEnv = process.env): void {
  const force = env.FORCE_COLOR;
  if (force === undefined) return;
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  if (force === '' && noColor) {
    delete env.FORCE_COLOR;
    return;
  }
  if (force !== '0' && force !== 'false') {
    delete env.NO_COLOR;
    delete env.NODE_DISABLE_COLORS;
  }
}
