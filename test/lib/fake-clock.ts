// A fake clock for the daemon's scheduler: timers fire only when the test
// advances time, and pending promise callbacks run between timers.
import type { Clock, TimerHandle } from '../../src/daemon/scheduler.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets every queued promise callback run (uses the real event loop, not the fake clock). */
export function flush(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: ++this.seq, at: this.t + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(h: TimerHandle): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** The time the earliest timer fires at, or undefined. */
  get nextAt(): number | undefined {
    return this.timers.length ? Math.min(...this.timers.map((x) => x.at)) : undefined;
  }

  /** Moves time forward by ms, firing due timers in order and flushing promises after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}
