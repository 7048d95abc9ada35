// Colour only for people. In order:
//   --no-color                 never (an explicit flag beats the environment);
//   NO_COLOR set with FORCE_COLOR empty   never (an empty FORCE_COLOR forces nothing);
//   FORCE_COLOR set, not 0/false   always, even in a pipe (Node's and chalk's rule);
//   NO_COLOR set and not empty     never (no-color.org);
//   not a TTY, or TERM=dumb        never;
//   otherwise                      colour.
// Only the 16 basic colours are used, so level 1 is enough on any terminal.
import chalk, { Chalk, type ChalkInstance } from 'chalk';

export function colorEnabled(stream: { isTTY?: boolean }, noColor: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (noColor) return false;
  const force = env.FORCE_COLOR;
  const noColorEnv = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  if (force === '' && noColorEnv) return false;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return false;
    return true;
  }
  if (noColorEnv) return false;
  if (!stream.isTTY) return false;
  return env.TERM !== 'dumb';
}

export function makeStyle(stream: { isTTY?: boolean }, noColor: boolean, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  return new Chalk({ level: colorEnabled(stream, noColor, env) ? (Math.max(1, chalk.level) as 1 | 2 | 3) : 0 });
}
