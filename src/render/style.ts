// Colour only for people: chalk on a TTY, off for pipes, NO_COLOR and --no-color.
import chalk, { Chalk, type ChalkInstance } from 'chalk';

export function makeStyle(stream: { isTTY?: boolean }, noColor: boolean, env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const off = noColor || (env.NO_COLOR !== undefined && env.NO_COLOR !== '' && !forced) || (!stream.isTTY && !forced);
  return new Chalk({ level: off ? 0 : (Math.max(1, chalk.level) as 1 | 2 | 3) });
}
