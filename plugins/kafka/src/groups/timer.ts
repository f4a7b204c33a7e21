/**
 * Time for the group coordinator: session, rebalance and retention deadlines are scheduled
 * through this seam, so unit tests drive them with a fake clock instead of waiting.
 */
export interface Timer {
  /** Wall-clock milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` after `delayMs`; the returned function cancels it. */
  schedule(delayMs: number, fn: () => void): () => void;
}

export const systemTimer: Timer = {
  now: () => Date.now(),
  schedule(delayMs, fn) {
    const t = setTimeout(fn, Math.min(Math.max(delayMs, 0), 2 ** 31 - 1));
    // Group deadlines must not keep a stopping broker alive.
    t.unref();
    return () => clearTimeout(t);
  },
};
