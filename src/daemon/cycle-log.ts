// What a daemon cycle says in its log: the changes it applied (counted in the
// metrics whatever the log level) and the problems it found, each warned once
// and said resolved when it is gone, so a problem that stays does not fill
// the journal with one warning per cycle.
import type { ApplyResult } from '../engine/cycle.js';
import type { Problem } from '../model/types.js';
import { countChanges, describeChange, SYMBOL } from '../render/describe.js';
import type { Logger } from './logger.js';
import type { DaemonMetrics } from './metrics.js';

/** Changes listed in one log line; the rest are counted. */
const MAX_LISTED = 20;
/** Warnings logged per cycle; the rest are counted. */
const MAX_WARNINGS = 50;

/** `explained`: the failures are the device vanishing under the write (repaired next), not worth a warning. */
export function logApplied(log: Logger, metrics: DaemonMetrics, r: ApplyResult, ms: number, reasons: string[], fromModel: boolean, explained = false): void {
  for (const c of r.applied) metrics.changes.inc({ kind: c.kind, action: c.action });
  if (r.applied.length === 0 && r.failures.length === 0) return;
  const level = r.failures.length && !explained ? 'warn' : 'info';
  // At --log-level warn an event cycle's line is not written: its list of changes is not built either.
  if (!log.enabled(level)) return;
  const n = countChanges(r.applied);
  const listed = r.applied.slice(0, MAX_LISTED).map((c) => `${SYMBOL[c.action]} ${describeChange(c)}`);
  if (r.applied.length > MAX_LISTED) listed.push(`… ${r.applied.length - MAX_LISTED} more`);
  log.log(level, `cycle: applied ${r.applied.length} change${r.applied.length === 1 ? '' : 's'}`, {
    added: n.add, changed: n.change, removed: n.delete, failed: r.failures.length || undefined,
    duration_ms: ms, reason: reasons, host: fromModel ? 'model' : 'read', changes: listed,
  });
}

/** Warns once per new problem (skipped node, conflict); says when one is gone. */
export class ProblemLog {
  private warned = new Set<string>();

  constructor(private readonly log: Logger) {}

  report(problems: Problem[]): void {
    const now = new Set(problems.map((p) => `${p.subject}: ${p.message}`));
    let shown = 0;
    for (const p of now) {
      if (this.warned.has(p)) continue;
      if (shown++ < MAX_WARNINGS) this.log.warn(p);
    }
    if (shown > MAX_WARNINGS) this.log.warn(`… and ${shown - MAX_WARNINGS} more warnings`);
    // As many as were warned at most: a cluster file fixed after thousands of
    // bad nodes says so in a bounded number of lines too.
    let resolved = 0;
    for (const p of this.warned) {
      if (now.has(p)) continue;
      if (resolved++ < MAX_WARNINGS) this.log.info(`resolved: ${p}`);
    }
    if (resolved > MAX_WARNINGS) this.log.info(`… and ${resolved - MAX_WARNINGS} more resolved`);
    this.warned = now;
  }
}
