// When to repair an object the kernel lost between resyncs (a route,
// neighbour, fdb entry or device of ovlnet's deleted by hand or by another
// agent). Pure: time is passed in.
//
// Each object may be repaired `maxRepairs` times within `windowMs`. The next
// loss within the window means something keeps undoing ovlnet's write (another
// agent, a script in a loop): ovlnet gives up on that object instead of
// fighting it in a tight loop, says so once (the caller logs and counts the
// 'give-up' verdict), and tries again from the next full resync on, which
// re-reads the host and writes what the plan needs like any other cycle.

import { UsageError } from '../errors.js';
import { parseDuration } from './duration.js';

export interface RepairLimit {
  /** Repairs of one object allowed within the window. */
  maxRepairs: number;
  windowMs: number;
}

export const DEFAULT_REPAIR_LIMIT: RepairLimit = { maxRepairs: 5, windowMs: 60_000 };

/** `--repair-limit N/DURATION` (`5/1m`): N repairs of one object within DURATION. */
export function parseRepairLimit(text: string, flag = '--repair-limit'): RepairLimit {
  const m = /^\s*([0-9]+)\s*\/\s*(\S+)\s*$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected repairs per window, such as 5/1m (at least 1 repair)`);
  return { maxRepairs: n, windowMs: parseDuration(m[2], flag, { minMs: 1000 }) };
}

/**
 * - 'repair': repair it now.
 * - 'give-up': the limit was just passed: do not repair; warn once and count it.
 * - 'given-up': already given up on since the last resync: do nothing.
 */
export type RepairVerdict = 'repair' | 'give-up' | 'given-up';

/** Past this many objects remembered, the ones without a repair within the window are forgotten. */
const SWEEP_AT = 4096;

export class RepairPolicy {
  /** Times of the recent repairs, by object. */
  private readonly recent = new Map<string, number[]>();
  private readonly gaveUp = new Set<string>();
  /** The size that triggers the next sweep: doubled past what a sweep leaves, so a burst of repairs (a device's flush) costs linear time, not quadratic. */
  private sweepAt = SWEEP_AT;

  constructor(private readonly limit: RepairLimit = DEFAULT_REPAIR_LIMIT) {}

  /** The kernel lost `object` (a kinds key: `route:198.18.2.0/24`) at `now`. */
  decide(object: string, now: number): RepairVerdict {
    if (this.gaveUp.has(object)) return 'given-up';
    const since = now - this.limit.windowMs;
    const times = (this.recent.get(object) ?? []).filter((t) => t > since);
    if (times.length >= this.limit.maxRepairs) {
      this.gaveUp.add(object);
      this.recent.delete(object);
      return 'give-up';
    }
    times.push(now);
    this.recent.set(object, times);
    if (this.recent.size > this.sweepAt) {
      this.sweep(since);
      this.sweepAt = Math.max(SWEEP_AT, this.recent.size * 2);
    }
    return 'repair';
  }

  /** A full resync ran: every object is repaired again. Returns the ones given up on until now. */
  resume(): string[] {
    const was = [...this.gaveUp];
    this.gaveUp.clear();
    this.recent.clear();
    this.sweepAt = SWEEP_AT;
    return was;
  }

  /** Objects given up on since the last resync. */
  get givenUp(): readonly string[] {
    return [...this.gaveUp];
  }

  /** Objects with repairs remembered (bounded: see SWEEP_AT). */
  get tracked(): number {
    return this.recent.size;
  }

  private sweep(since: number): void {
    for (const [k, times] of this.recent) if (!times.some((t) => t > since)) this.recent.delete(k);
  }
}
