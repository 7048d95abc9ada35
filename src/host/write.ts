// Runs batches with `-force` so independent objects still go in when one
// fails; maps the kernel's "Command failed -:N" lines back to the changes.
import type { Change } from '../model/types.js';
import type { Batch } from './commands.js';
import { isPermissionDenied, permissionError, run } from './exec.js';

export interface Failure {
  change: Change;
  line: string;
  message: string;
}

export interface WriteResult {
  failures: Failure[];
  processes: number;
}

/** Parses ip/bridge -force -batch stderr into line number -> kernel message. */
export function parseBatchErrors(stderr: string): Map<number, string> {
  const out = new Map<number, string>();
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^Command failed (?:-|\S+):(\d+)$/.exec(line);
    if (m) {
      out.set(Number(m[1]), pending.join('; ') || 'failed');
      pending = [];
    } else {
      pending.push(line.replace(/^Error: /, ''));
    }
  }
  return out;
}

export async function writeBatches(batches: Batch[], netns: string | undefined): Promise<WriteResult> {
  const failures: Failure[] = [];
  for (const b of batches) {
    const input = b.lines.map((l) => l.line).join('\n') + '\n';
    const r = await run(b.tool, ['-force', '-batch', '-'], { netns, input });
    if (r.exitCode === 0) continue;
    const errors = parseBatchErrors(r.stderr);
    if (errors.size === 0) {
      if (isPermissionDenied(r.stderr)) throw permissionError();
      // Failed as a whole: every line of the batch is reported.
      for (const l of b.lines) failures.push({ change: l.change, line: l.line, message: r.stderr.trim() || `${b.tool} exited ${r.exitCode}` });
      continue;
    }
    if ([...errors.values()].every(isPermissionDenied)) throw permissionError();
    for (const [n, message] of errors) {
      const l = b.lines[n - 1];
      if (l) failures.push({ change: l.change, line: l.line, message });
    }
  }
  return { failures: firstPerChange(failures), processes: batches.length };
}

/**
 * One failure per change: a change may take several lines (a device is added,
 * then set up) and the first failure is the cause ("VNI already exists"),
 * the next ones only its echo ("Cannot find device").
 */
function firstPerChange(failures: Failure[]): Failure[] {
  const seen = new Set<Change>();
  return failures.filter((f) => !seen.has(f.change) && seen.add(f.change));
}
