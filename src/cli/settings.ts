// Where a command's option values come from, for every command alike:
//   flag (after the command, or before it) > OVLNET_<FLAG> > config file > default.
// Generic over commander's option definitions, so an option added to main.ts
// is settable from the environment and the config file the day it is added,
// and `diff` on a node sees exactly the settings its daemon sees. Pure: works
// on commander's parsed Command objects and data handed in; reads no file.
import type { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { closest } from '../suggest.js';
import type { GlobalOptions } from './context.js';

export const DEFAULT_CONFIG_FILE = '/etc/ovlnet/ovlnet.yaml';
export const ENV_PREFIX = 'OVLNET_';

/** Options that say where the settings are, or only print: not settings themselves. */
const NOT_SETTINGS = new Set(['help', 'version', 'config', 'show-config']);

export type OriginKind = 'flag' | 'env' | 'file' | 'default';

export interface Setting {
  /** The long option without its dashes, as the config file spells it: `ip-masq`. */
  key: string;
  /** commander's attribute name: `ipMasq` (a --no-x option: `x`). */
  attr: string;
  value: unknown;
  origin: OriginKind;
  /** The variable or the file the value came from. */
  from?: string;
  /** A hidden option (flanneld's spelling): shown only when set. */
  hidden?: boolean;
}

/** A parsed config file: option keys (long names, no dashes) to values. */
export interface ConfigFile {
  path: string;
  values: Record<string, unknown>;
}

/** `--ip-masq` -> `OVLNET_IP_MASQ`. */
export function envName(key: string, prefix = ENV_PREFIX): string {
  return prefix + key.toUpperCase().replace(/-/g, '_');
}

export function keyOf(o: Option): string {
  return (o.long ?? '').replace(/^--/, '');
}

/** The option of `cmd` that stores `attr`, if it has one (a --no-x option stores x too). */
function optionFor(cmd: Command, attr: string): Option | undefined {
  return cmd.options.find((o) => o.attributeName() === attr);
}

/**
 * Merges the program's options given before the command (`ovlnet -n NS diff`,
 * as kubectl takes its global flags) into the command's. A value after the
 * command wins over one before it. A global option the command does not take
 * is refused by name rather than silently ignored.
 */
export function mergeGlobalFlags(cmd: Command): void {
  const program = cmd.parent;
  if (!program) return;
  for (const o of program.options) {
    const attr = o.attributeName();
    if (program.getOptionValueSource(attr) !== 'cli') continue;
    if (!optionFor(cmd, attr)) {
      throw new UsageError(`option ${o.long} does not apply to "ovlnet ${cmd.name()}"`, `see "ovlnet ${cmd.name()} --help"`);
    }
    if (cmd.getOptionValueSource(attr) === 'cli') continue;
    cmd.setOptionValueWithSource(attr, program.getOptionValue(attr), 'cli');
  }
}

/** Only the global flags merged (no environment, no file): what the unit tests of argv parsing need. */
export function withGlobalOptions(cmd: Command): GlobalOptions {
  mergeGlobalFlags(cmd);
  return cmd.opts() as GlobalOptions;
}

/** The config file to read: --config (before or after the command), else $OVLNET_CONFIG, else the default (if present). */
export function configFileChoice(cmd: Command, env: NodeJS.ProcessEnv): { path: string; explicit: boolean; from: string } {
  const flag = cmd.getOptionValueSource('config') === 'cli' ? (cmd.getOptionValue('config') as string) : undefined;
  if (flag) return { path: flag, explicit: true, from: '--config' };
  const fromEnv = env[envName('config')];
  if (fromEnv) return { path: fromEnv, explicit: true, from: envName('config') };
  return { path: DEFAULT_CONFIG_FILE, explicit: false, from: 'default' };
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function parseBool(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new UsageError(`${where}: "${String(v)}" is not a boolean`, 'use true or false');
}

/** A value from the environment or the file, checked and converted as commander converts a flag's. */
function convert(o: Option, raw: unknown, where: string, previous: unknown): unknown {
  if (o.negate) return !parseBool(raw, where);
  if (!(o.required || o.optional)) return parseBool(raw, where);
  const values = Array.isArray(raw) ? raw : [raw];
  let out = previous;
  for (const item of values) {
    if (item === null || typeof item === 'object') throw new UsageError(`${where}: expected a value, not ${JSON.stringify(item)}`);
    const s = String(item);
    if (o.argChoices && !o.argChoices.includes(s)) {
      throw new UsageError(`${where}: "${s}" is not one of ${o.argChoices.join(', ')}`);
    }
    out = o.parseArg ? o.parseArg(s, out) : s;
  }
  return out;
}

/**
 * Where the environment may set option `o`, in order: OVLNET_<FLAG>; a
 * `--no-x` option also as OVLNET_X=false (`positive`: the value is x's).
 */
export type EnvNames = (o: Option) => Array<{ name: string; positive?: boolean }>;
export const defaultEnvNames: EnvNames = (o) => {
  const names: Array<{ name: string; positive?: boolean }> = [{ name: envName(keyOf(o)) }];
  if (o.negate) names.push({ name: envName(keyOf(o).replace(/^no-/, '')), positive: true });
  return names;
};

/**
 * Fills every option the command line left unset from the environment, then
 * the file, leaving the rest at their defaults, and reports where each value
 * came from. Mutates `cmd`'s option values (commander sources 'env'/'config').
 */
export function resolveSettings(cmd: Command, env: NodeJS.ProcessEnv, file: ConfigFile | undefined, envNames: EnvNames = defaultEnvNames): Setting[] {
  mergeGlobalFlags(cmd);
  const out: Setting[] = [];
  for (const o of cmd.options) {
    const key = keyOf(o);
    if (!key || NOT_SETTINGS.has(key)) continue;
    const attr = o.attributeName();
    // Shown as the key reads: `no-color: false`, not the stored `color: true`.
    const value = () => (o.negate ? !cmd.getOptionValue(attr) : cmd.getOptionValue(attr));
    const setting = (origin: OriginKind, from?: string): Setting => ({ key, attr, value: value(), origin, from, ...(o.hidden ? { hidden: true } : {}) });
    if (cmd.getOptionValueSource(attr) === 'cli') {
      out.push(setting('flag'));
      continue;
    }
    const found = envNames(o).find((n) => env[n.name] !== undefined && env[n.name] !== '');
    if (found) {
      const raw = env[found.name];
      const v = found.positive ? parseBool(raw, found.name) : convert(o, raw, found.name, undefined);
      cmd.setOptionValueWithSource(attr, v, 'env');
      out.push(setting('env', found.name));
      continue;
    }
    if (file && Object.prototype.hasOwnProperty.call(file.values, key)) {
      cmd.setOptionValueWithSource(attr, convert(o, file.values[key], `${file.path}: ${key}`, undefined), 'config');
      out.push(setting('file', file.path));
      continue;
    }
    out.push(setting('default'));
  }
  return out;
}

/** Every key a config file may hold: the long options of every command. */
export function settingKeys(program: Command): string[] {
  const keys = new Set<string>();
  for (const c of [program, ...program.commands]) {
    for (const o of c.options) {
      const k = keyOf(o);
      if (k && !NOT_SETTINGS.has(k)) keys.add(k);
    }
  }
  return [...keys].sort();
}

/** Refuses a config file key no command knows, naming it and the closest known key. */
export function checkConfigKeys(file: ConfigFile, known: readonly string[]): void {
  for (const key of Object.keys(file.values)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    throw new UsageError(`${file.path}: unknown setting "${key}"${near ? ` (did you mean ${near}?)` : ''}`,
      'keys are the long options without their dashes, e.g. "ip-masq: true"; see "ovlnet config"');
  }
}
