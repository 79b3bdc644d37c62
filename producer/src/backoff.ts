// Reconnect delays for the send loop: exponential, capped, with jitter. Many serving
// nodes lose the same broker at the same moment; without jitter they would all come
// back in lock-step and hit it together when it returns.

export interface Backoff {
  /** The delay before the next attempt, in ms; each call doubles the ceiling up to the cap. */
  next(): number;
  /** Back to the initial delay, after a success. */
  reset(): void;
}

export function createBackoff({
  initialMs,
  maxMs,
  random = Math.random,
}: {
  initialMs: number;
  maxMs: number;
  random?: () => number;
}): Backoff {
  let attempt = 0;
  return {
    next() {
      // 2^30 already exceeds any sane cap; stopping there keeps the arithmetic finite.
      const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
      attempt += 1;
      // "Equal jitter": never less than half the ceiling, so a flapping broker is not
      // hammered, yet spread over the other half.
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    },
    reset() {
      attempt = 0;
    },
  };
}
