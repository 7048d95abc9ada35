// The daemon's mass-deletion guard around each write: the sliding window
// (reconcile/delete-window.ts) on top of the per-cycle guard the engine
// applies, and `daemon --force`, which lets the first refused cycle through.
import { GuardError } from '../errors.js';
import type { Change } from '../model/types.js';
import { DeleteWindow, peersRemovedBy, type WindowVerdict } from '../reconcile/delete-window.js';
import type { MaxDelete } from '../reconcile/guard.js';
import { formatDuration } from './duration.js';
import type { Logger } from './logger.js';

export class DaemonDeleteGuard {
  readonly window: DeleteWindow;
  private forceLeft: boolean;

  constructor(private readonly o: { maxDelete: MaxDelete; windowMs: number; force: boolean; now: () => number; log: Logger }) {
    this.window = new DeleteWindow(o.windowMs, o.now);
    this.forceLeft = o.force;
  }

  /**
   * Before writing: throws a GuardError when the window's limit would be
   * passed; returns whether the engine's own per-cycle guard may be passed
   * (--force, not used yet).
   */
  before(changes: readonly Change[], currentPeers: number): { force: boolean } {
    const v = this.window.check(peersRemovedBy(changes), currentPeers, this.o.maxDelete);
    // Nothing removed before in the window: the verdict is the per-cycle guard's, whose message says it better.
    if (!v.refused || v.removedBefore === 0) return { force: this.forceLeft };
    if (!this.forceLeft) throw windowError(v);
    this.useForce(v);
    return { force: true };
  }

  /** After writing: counts what was removed; `perCycleRefused` says the engine's guard was passed by force. */
  after(applied: readonly Change[], perCycleRefused: boolean): void {
    if (perCycleRefused && this.forceLeft) this.useForce();
    this.window.record(peersRemovedBy(applied));
  }

  private useForce(v?: WindowVerdict): void {
    this.forceLeft = false;
    this.o.log.warn('--force: letting this cycle past the --max-delete guard, once', v ? { removing: v.removing, removed_in_window: v.removedBefore } : {});
  }
}

function windowError(v: WindowVerdict): GuardError {
  const win = formatDuration(v.windowMs);
  return new GuardError(
    `refusing to remove ${v.removing} more peers: ${v.removedBefore} were removed in the last ${win}, and ${v.removedBefore + v.removing} of the ${v.baseline} peers there were would be more than the ${v.allowed} allowed by --max-delete per --max-delete-window; nothing was changed`,
    `check the source (is it losing nodes in steps?); removals resume as the ${win} window slides, or restart the daemon with --force to allow one cycle`,
  );
}
