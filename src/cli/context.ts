// What every command gets: its options, output streams and styles.
import type { ChalkInstance } from 'chalk';
import { makeStyle } from '../render/style.js';
import { tableKind, type TableKind } from '../render/table-kind.js';
import type { Problem } from '../model/types.js';

export interface GlobalOptions {
  source?: string;
  node?: string;
  publicIp?: string;
  iface?: string;
  netns?: string;
  output?: string;
  debug?: boolean;
  color?: boolean;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  netConf?: string;
  annotationPrefix?: string;
  disableTxOffload?: string;
  ipMasq?: boolean;
  config?: string;
  ipMasqFullyRandomDisable?: boolean;
  /** --iptables-forward-rules: true, false, or (commander) true for the bare flag. */
  iptablesForwardRules?: boolean;
  etcdUsername?: string;
  etcdPassword?: string;
}

export interface Context {
  out: (s: string) => void;
  err: (s: string) => void;
  style: ChalkInstance;
  errStyle: ChalkInstance;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** How tables look on stdout: boxed on a terminal, plain columns in a pipe. */
  table: TableKind;
}

export function makeContext(opts: { color?: boolean }): Context {
  const noColor = opts.color === false;
  return {
    out: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
    err: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
    style: makeStyle(process.stdout, noColor),
    errStyle: makeStyle(process.stderr, noColor),
    stdoutIsTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    table: tableKind(Boolean(process.stdout.isTTY)),
  };
}

const MAX_WARNINGS = 20;

/** Warnings go to stderr, shortened: a broken source must not flood the terminal. */
export function printProblems(ctx: Context, problems: Problem[]): void {
  for (const p of problems.slice(0, MAX_WARNINGS)) ctx.err(ctx.errStyle.yellow(`warning: ${p.subject}: ${p.message}`));
  if (problems.length > MAX_WARNINGS) {
    ctx.err(ctx.errStyle.yellow(`warning: … and ${problems.length - MAX_WARNINGS} more (see -o json)`));
  }
}

export type OutputFormat = 'table' | 'json' | 'commands';
