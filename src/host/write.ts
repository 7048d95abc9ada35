// Runs batches with `-force` so independent objects still go in when one
// fails; maps the kernel's "Command failed -:N" lines back to the changes.
import type { Change } from '../model/types.js';
import type { Batch } from '../engine/batches.js';
import { isPermissionDenied, permissionError, run } from './exec.js';
import type { BatchOutcome, BatchWriters } from './batch-writer.js';
import { writeNetfilter } from './netfilter.js';
import { writeSysctl } from './sysctl.js';
import { specOf } from '../kinds/index.js';

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


/**
 * Runs phases in order, the batches of one phase at the same time (see
 * toPhases). Each batch is its own process with its own line numbers, so a
 * "Command failed -:N" maps to a line of that batch alone. Failures come back
 * in phase and batch order, whichever process ended first.
 */
export async function writePhases(phases: Batch[][], netns: string | undefined, writers?: BatchWriters): Promise<WriteResult> {
  const failures: Failure[] = [];
  let processes = 0;
  for (const phase of phases) {
    if (!phase.length) continue;
    processes += phase.length;
    // Every process of the phase is waited for before a permission error is
    // thrown: none is left writing behind the caller's back.
    const results = await Promise.allSettled(phase.map((b) => writeBatch(b, netns, writers)));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    for (const r of results) if (r.status === 'fulfilled') failures.push(...r.value);
  }
  return { failures: firstPerChange(failures), processes };
}

async function writeBatch(b: Batch, netns: string | undefined, writers: BatchWriters | undefined): Promise<Failure[]> {
  if (b.tool === 'ethtool') return writeEthtool(b, netns);
  if (b.tool === 'sysctl') return writeSysctlBatch(b, netns);
  // A kind's own writer (its driver, loaded only when it writes).
  const driver = b.tool !== 'ip' && b.tool !== 'bridge' && b.lines[0] ? specOf(b.lines[0].change.kind).driver : undefined;
  if (driver) {
    const d = await driver();
    if (!d.write) throw new Error(`${b.lines[0]!.change.kind} entries have no writer of their own`);
    return d.write(b, netns);
  }
  if (b.tool === 'iptables-restore' || b.tool === 'ip6tables-restore') {
    const message = await writeNetfilter(netns, b.tool === 'ip6tables-restore' ? 6 : 4, b.input ?? '');
    // One transaction: it failed for every rule.
    return message ? b.lines.map((l) => ({ change: l.change, line: l.line, message })) : [];
  }
  const tool = b.tool as 'ip' | 'bridge';
  const { errors, whole } = writers ? await writers.write(tool, b.lines.map((l) => l.line)) : await writeOnce(tool, b, netns);
  if (whole !== undefined) {
    if (isPermissionDenied(whole)) throw permissionError();
    // Failed as a whole: every line of the batch is reported.
    return b.lines.map((l) => ({ change: l.change, line: l.line, message: whole }));
  }
  if (errors.size === 0) return [];
  if ([...errors.values()].every(isPermissionDenied)) throw permissionError();
  const failures: Failure[] = [];
  for (const [n, message] of errors) {
    const l = b.lines[n - 1];
    if (l) failures.push({ change: l.change, line: l.line, message });
  }
  return failures;
}

/** One `ip`/`bridge -force -batch -` process for the batch. */
async function writeOnce(tool: 'ip' | 'bridge', b: Batch, netns: string | undefined): Promise<BatchOutcome> {
  let input = '';
  for (const l of b.lines) input += l.line + '\n';
  const r = await run(tool, ['-force', '-batch', '-'], { netns, input });
  if (r.exitCode === 0) return { errors: new Map() };
  const errors = parseBatchErrors(r.stderr);
  return errors.size ? { errors } : { errors, whole: r.stderr.trim() || `${tool} exited ${r.exitCode}` };
}

/** One `ethtool -K` per line (a line holds its arguments, validated when rendered). */
async function writeEthtool(b: Batch, netns: string | undefined): Promise<Failure[]> {
  const failures: Failure[] = [];
  for (const l of b.lines) {
    const r = await run('ethtool', l.line.split(' '), { netns });
    if (r.exitCode === 0) continue;
    if (isPermissionDenied(r.stderr)) throw permissionError();
    failures.push({ change: l.change, line: `ethtool ${l.line}`, message: r.stderr.trim().split('\n')[0] || `ethtool exited ${r.exitCode}` });
  }
  return failures;
}

/** One `sysctl -w` for every setting of the batch (a line is `path=value`, validated when rendered). */
async function writeSysctlBatch(b: Batch, netns: string | undefined): Promise<Failure[]> {
  const entries = b.lines.flatMap((l) => (l.change.desired?.kind === 'sysctl' ? [{ entry: l.change.desired, l }] : []));
  const failed = await writeSysctl(netns, entries.map((x) => x.entry));
  return entries.flatMap(({ entry, l }) => {
    const message = failed.get(entry);
    return message ? [{ change: l.change, line: `sysctl -w ${l.line}`, message }] : [];
  });
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
