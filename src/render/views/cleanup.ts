// `ovlnet cleanup` output: what is (or would be) removed, as text and as the
// versioned JSON document (docs/output.md). Pure.
import type { ChalkInstance } from 'chalk';
import { chainsRemoved, cleanupChanges, ruleChanges } from '../../engine/cleanup.js';
import type { Change, Problem } from '../../model/types.js';
import type { CleanupPlan } from '../../reconcile/cleanup.js';
import { problemJSON } from '../problems.js';
import { changeJSON, CHANGES_JSON_VERSION } from '../changes-view.js';
import { changeLine } from './diff.js';

export function cleanupLines(p: CleanupPlan, c: ChalkInstance): string[] {
  const lines = cleanupChanges(p).map((ch) => changeLine(ch, c));
  for (const chain of chainsRemoved(p)) lines.push(c.red(`  - ${chain}`));
  if (p.subnetFile) lines.push(c.red(`  - file ${p.subnetFile}`));
  return lines;
}

/** Everything cleanup removes: entries, rules, chains and the subnet file. */
export function cleanupCount(p: CleanupPlan): number {
  return p.changes.length + ruleChanges(p).length + chainsRemoved(p).length + (p.subnetFile ? 1 : 0);
}

export interface CleanupOutcome {
  ok: boolean;
  failures: string[];
  remaining: Change[];
  durationMs: number;
}

export function cleanupJSON(p: CleanupPlan, dryRun: boolean, unread: Problem[], outcome?: CleanupOutcome): object {
  return {
    version: CHANGES_JSON_VERSION,
    dryRun,
    // Everything cleanup removes is a delete; the vocabulary is diff's and apply's.
    summary: { add: 0, change: 0, delete: cleanupCount(p) },
    // Cleanup knows no source, so no peer: every change says peer null.
    remove: cleanupChanges(p).map((c) => changeJSON(c, () => null)),
    // The IPv4 masquerade chain, as before; every chain in removeChains.
    removeChain: p.netfilter.some((c) => c.deleteChain && c.family === 4 && c.set.table === 'nat') ? 'FLANNEL-POSTRTG' : null,
    removeChains: chainsRemoved(p),
    removeFile: p.subnetFile ?? null,
    kept: p.kept.map(problemJSON),
    unread: unread.map(problemJSON),
    ...(outcome
      ? { ok: outcome.ok, failures: outcome.failures, remaining: outcome.remaining.map((c) => changeJSON(c, () => null)), durationMs: outcome.durationMs }
      : { ok: true }),
  };
}

/** Text when nothing is written: nothing to clean up, or a dry run. */
export function cleanupPreviewText(p: CleanupPlan, clean: boolean, unreadSomething: boolean, c: ChalkInstance): string {
  if (clean) return unreadSomething ? 'Nothing to clean up among the routes, devices and subnet file (iptables was not read: see above).' : 'Nothing to clean up: no ovlnet routes, devices, iptables rules or subnet file here.';
  return [...cleanupLines(p, c), '', c.bold(`Dry run: ${cleanupCount(p)} to remove. Nothing was changed.`)].join('\n');
}

export function cleanupText(p: CleanupPlan, o: CleanupOutcome, c: ChalkInstance, errC: ChalkInstance): { out: string[]; err: string[] } {
  const err: string[] = [];
  for (const f of o.failures) err.push(errC.red(`failed: ${f}`));
  for (const ch of o.remaining) err.push(errC.red(`not removed: ${changeLine(ch, errC).trim()}`));
  const tail = o.ok ? `${cleanupCount(p)} removed` : `${cleanupCount(p)} to remove, ${o.failures.length} failed, ${o.remaining.length} still there`;
  if (!o.ok) err.push('hint: fix the cause above and run cleanup again; it only removes what is left');
  return { out: [cleanupLines(p, c).join('\n'), `\n${o.ok ? c.green('Cleanup complete:') : c.red('Cleanup incomplete:')} ${tail} (${o.durationMs} ms).`], err };
}
