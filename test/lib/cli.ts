// Runs the real CLI (bin/ovlnet) as a child process.
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = `${ROOT}bin/ovlnet`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  /** Runs the CLI under this command, e.g. ['ip', 'netns', 'exec', NS] or setpriv as another user. */
  prefix?: string[];
}

/** Never let a test take the host's /run/ovlnet locks: test/run.mjs gives every test file its own directory. */
export function requireTestRunDir(): void {
  if (!process.env.OVLNET_RUN_DIR) throw new Error('OVLNET_RUN_DIR is not set: run tests through test/run.mjs, which points it at a temporary directory (ovlnet would lock /run/ovlnet on the host)');
}

export async function ovlnet(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  requireTestRunDir();
  const argv = [...(opts.prefix ?? []), process.execPath, BIN, ...args];
  const r = await execa(argv[0], argv.slice(1), {
    reject: false,
    env: { NO_COLOR: '1', ...opts.env },
    input: opts.input ?? '',
    timeout: opts.timeoutMs ?? 60_000,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
