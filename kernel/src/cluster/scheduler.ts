/**
 * Timers as the cluster components see them. Injected like the Clock, so tests and the
 * simulator fire heartbeats, session checks and retries in virtual time.
 */
import { ManualClock } from '../clock.js';

export interface Scheduler {
  /** Runs `task` once after `delayMs`; the returned function cancels it. */
  schedule(delayMs: number, task: () => void): () => void;
}

export const timerScheduler: Scheduler = {
  schedule(delayMs, task) {
    const timer = setTimeout(task, delayMs);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** A scheduler driven by hand: `advance` moves its clock and runs what falls due, in time order. */
export class VirtualScheduler implements Scheduler {
  readonly clock: ManualClock;
  private tasks: Array<{ dueMs: number; seq: number; task: () => void }> = [];
  private seq = 0;

  constructor(clock = new ManualClock()) {
    this.clock = clock;
  }

  schedule(delayMs: number, task: () => void): () => void {
    const entry = { dueMs: this.clock.nowMs() + Math.max(0, delayMs), seq: this.seq++, task };
    this.tasks.push(entry);
    return () => {
      this.tasks = this.tasks.filter((t) => t !== entry);
    };
  }

  /**
   * Moves time forward by `ms`, running each task at its due time. `settle` runs after
   * every task so the promises a task starts finish before time moves on.
   */
  async advance(ms: number, settle: () => Promise<void> = flushMicrotasks): Promise<void> {
    const end = this.clock.nowMs() + ms;
    await settle();
    for (;;) {
      const next = this.tasks.filter((t) => t.dueMs <= end).sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.tasks = this.tasks.filter((t) => t !== next);
      this.clock.advance(next.dueMs - this.clock.nowMs());
      next.task();
      await settle();
    }
    this.clock.advance(end - this.clock.nowMs());
  }

  get pending(): number {
    return this.tasks.length;
  }
}

/** Lets every promise chain run until it waits on real I/O or a timer: the microtask queue drains before setImmediate. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
