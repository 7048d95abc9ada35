// The mass-deletion guard over time. Pure: the clock is injected.
//
// The per-run guard (guard.ts) looks at one cycle. A source that shrinks in
// steps (a hundred etcd leases expiring per transaction, an API server that
// half-synced, a file emptied by a slow writer) passes it every cycle and
// still takes nearly every peer away within seconds. The window counts the
// peers removed over the last `windowMs` and applies the same --max-delete
// limit to the peers there were when the window began (the current ones plus
// those removed since): with the default limit, at most half of the peers go
// within any window, however the removals are spread over cycles.
import type { Change } from '../model/types.js';
import { checkMassDeletion, type MaxDelete } from './guard.js';

export const DEFAULT_DELETE_WINDOW_MS = 5 * 60_000;
/** Removals are kept per cycle; past this many, the oldest are merged (memory stays bounded). */
const MAX_RECORDS = 1024;

export interface WindowVerdict {
  /** Peers this cycle would remove. */
  removing: number;
  /** Peers removed within the window before this cycle. */
  removedBefore: number;
  /** Peers there were when the window began: current + removed before. */
  baseline: number;
  allowed: number;
  refused: boolean;
  windowMs: number;
}

/** Peers a change set removes, counted as the per-run guard counts them (one route per peer). */
export function peersRemovedBy(changes: readonly Change[]): number {
  return changes.filter((c) => c.kind === 'route' && c.action === 'delete').length;
}

export class DeleteWindow {
  private records: Array<{ at: number; removed: number }> = [];

  constructor(readonly windowMs: number, private readonly now: () => number) {}

  /** Peers removed within the window, up to now. */
  removedWithin(): number {
    this.prune();
    return this.records.reduce((s, r) => s + r.removed, 0);
  }

  /** Whether removing `removing` more of `currentPeers` now stays within the limit for the window. */
  check(removing: number, currentPeers: number, max: MaxDelete): WindowVerdict {
    const removedBefore = this.removedWithin();
    const baseline = currentPeers + removedBefore;
    // The same limit as one run's, applied to the window's starting peers.
    const allowed = checkMassDeletion([], baseline, max).allowed;
    const refused = removing > 0 && removedBefore + removing > allowed;
    return { removing, removedBefore, baseline, allowed, refused, windowMs: this.windowMs };
  }

  /** Records peers actually removed now. */
  record(removed: number): void {
    if (removed <= 0) return;
    this.prune();
    this.records.push({ at: this.now(), removed });
    if (this.records.length > MAX_RECORDS) {
      // Merge the two oldest into the newer's time: they stay counted a little longer, never shorter.
      const [a, b] = this.records.splice(0, 2);
      this.records.unshift({ at: b.at, removed: a.removed + b.removed });
    }
  }

  private prune(): void {
    const from = this.now() - this.windowMs;
    let i = 0;
    while (i < this.records.length && this.records[i].at <= from) i++;
    if (i) this.records.splice(0, i);
  }
}
