// A token bucket: at most `ratePerSecond` takes per second on average, with a
// burst of one second's worth, so a re-drive does not flood the source topic
// (and the consumer behind it) with every dead letter at once.
export interface TokenBucket {
  /** Resolves when a token is available, and takes it. */
  take(): Promise<void>;
}

export function createTokenBucket(ratePerSecond: number, now: () => number = Date.now): TokenBucket {
  const capacity = Math.max(1, ratePerSecond);
  let tokens = capacity;
  let last = now();
  return {
    async take() {
      for (;;) {
        const t = now();
        tokens = Math.min(capacity, tokens + ((t - last) / 1000) * ratePerSecond);
        last = t;
        if (tokens >= 1) {
          tokens -= 1;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.ceil(((1 - tokens) / ratePerSecond) * 1000)));
      }
    },
  };
}
