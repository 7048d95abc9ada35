// Records every `ip` / `bridge` process the CLI starts: a directory with
// wrapper scripts put first in PATH. Each call logs its arguments and stdin
// (the batch lines) before running the real tool, so a test can check that a
// command wrote nothing, how many processes it spawned, and the exact lines
// it ran (processes that run at the same time are logged in no promised
// order). An optional hook runs once, just before the first write batch, to
// simulate something changing the host between ovlnet's read and its write.
import { execaSync } from 'execa';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Call {
  tool: 'ip' | 'bridge';
  args: string[];
  /** The batch lines fed on stdin, without the trailing empty line. */
  lines: string[];
  /** Started with -force: a write batch. */
  write: boolean;
}

export interface Spy {
  /** Environment for ovlnet(): PATH with the wrappers first. */
  env: Record<string, string>;
  calls(): Call[];
  writes(): Call[];
  reset(): void;
  /** Runs `script` (sh) once, right before the next write batch starts. */
  beforeFirstWrite(script: string): void;
}

function realPath(tool: string): string {
  return String(execaSync('sh', ['-c', `command -v ${tool}`]).stdout).trim();
}

export function makeSpy(dir: string): Spy {
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'calls.log');
  const hook = join(dir, 'hook.sh');
  for (const tool of ['ip', 'bridge']) {
    const real = realPath(tool);
    if (!real) throw new Error(`${tool} not found: the tests need iproute2`);
    writeFileSync(join(dir, tool), `#!/bin/sh
in="${dir}/stdin.$$"
cat > "$in"
case " $* " in *" -force "*)
  if [ -f "${hook}" ]; then mv "${hook}" "${hook}.ran"; sh "${hook}.ran" >/dev/null 2>&1; fi;;
esac
# Processes run concurrently (reads, and writes within one phase): one
# record per call, appended under a lock so two never interleave.
{ printf '@@ ${tool} %s\\n' "$*"; cat "$in"; } > "$in.rec"
flock "${log}.lock" sh -c 'cat "$1" >> "$2"' sh "$in.rec" "${log}"
rm -f "$in.rec"
"${real}" "$@" < "$in"
rc=$?
rm -f "$in"
exit $rc
`);
    chmodSync(join(dir, tool), 0o755);
  }
  const calls = (): Call[] => {
    if (!existsSync(log)) return [];
    const out: Call[] = [];
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const m = /^@@ (ip|bridge) (.*)$/.exec(line);
      if (m) {
        const args = m[2].split(' ');
        out.push({ tool: m[1] as Call['tool'], args, lines: [], write: args.includes('-force') });
      } else if (line !== '' && out.length) out[out.length - 1].lines.push(line);
    }
    return out;
  };
  return {
    env: { PATH: `${dir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
    calls,
    writes: () => calls().filter((c) => c.write),
    reset: () => rmSync(log, { force: true }),
    beforeFirstWrite: (script) => writeFileSync(hook, script),
  };
}
