// Where a command's option values come from. Pure: works on commander's
// parsed Command objects, decides, and does no I/O.
import type { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import type { GlobalOptions } from './context.js';

/** The option of `cmd` that stores `attr`, if it has one (a --no-x option stores x too). */
function optionFor(cmd: Command, attr: string): Option | undefined {
  return cmd.options.find((o) => o.attributeName() === attr);
}

/**
 * The command's options with the program's options given before it
 * (`ovlnet -n NS diff`, as kubectl takes its global flags) merged in. A value
 * after the command wins over one before it. A global option the command
 * does not take is refused by name rather than silently ignored.
 */
export function withGlobalOptions(cmd: Command): GlobalOptions {
  const program = cmd.parent;
  if (!program) return cmd.opts() as GlobalOptions;
  for (const o of program.options) {
    const attr = o.attributeName();
    if (program.getOptionValueSource(attr) !== 'cli') continue;
    if (!optionFor(cmd, attr)) {
      throw new UsageError(`option ${o.long} does not apply to "ovlnet ${cmd.name()}"`, `see "ovlnet ${cmd.name()} --help"`);
    }
    if (cmd.getOptionValueSource(attr) === 'cli') continue;
    cmd.setOptionValueWithSource(attr, program.getOptionValue(attr), 'cli');
  }
  return cmd.opts() as GlobalOptions;
}
