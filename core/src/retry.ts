// The one retry policy of witnesslog, for Qdrant writes, dead-letter writes,
// offset commits and the producer's resends alike: exponential backoff with jitter, and a bail-out for any
// error whose `retriable` flag is not true (ours and kafkajs's errors both carry
// one). Many consumers lose the same Qdrant at the same moment; without jitter
// they would all come back in lock-step and hit it together when it returns.
import { WitnessError } from './errors.js';

export interface RetryPolicy {
  /** First delay, ms. */
  initialMs: number;
  /** Ceiling of the delay, ms. */
  maxMs: number;
  /** Growth per attempt (2 doubles). */
  factor?: number;
  /** Attempts in all, the first included; Infinity retries for as long as the errors are retriable. */
  maxAttempts?: number;
  random?: () => number;
}

export interface RetryCallOptions {
  /** Stops the waiting (and the loop) with the signal's reason (a WITNESS_ABORTED error when it has none). */
  signal?: AbortSignal;
  /** Called before each wait: for metrics and a log line that says we are waiting. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export type Retry = <T>(fn: (attempt: number) => Promise<T>, options?: RetryCallOptions) => Promise<T>;

export function isRetriable(err: unknown): boolean {
  return (err as { retriable?: unknown } | null)?.retriable === true;
}

/** The delay before attempt `attempt + 1` ("equal jitter": half fixed, half random). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const { initialMs, maxMs, factor = 2, random = Math.random } = policy;
  // Past 2^30 any cap is reached; stopping there keeps the arithmetic finite.
  const ceiling = Math.min(maxMs, initialMs * factor ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Successive delays of one policy, for a loop that keeps its own state (the producer's send loop). */
export interface Backoff {
  /** The delay before the next attempt, ms; each call moves one attempt further, up to the cap. */
  next(): number;
  /** Back to the first delay, after a success. */
  reset(): void;
}

export function createBackoff(policy: RetryPolicy): Backoff {
  let attempt = 0;
  return {
    next: () => backoffDelay(policy, (attempt += 1)),
    reset() {
      attempt = 0;
    },
  };
}

export function createRetry(policy: RetryPolicy): Retry {
  const maxAttempts = policy.maxAttempts ?? Infinity;
  return async function retry<T>(fn: (attempt: number) => Promise<T>, { signal, onRetry }: RetryCallOptions = {}) {
    for (let attempt = 1; ; attempt += 1) {
      if (signal?.aborted) throw abortReason(signal);
      try {
        return await fn(attempt);
      } catch (err) {
        if (!isRetriable(err) || attempt >= maxAttempts || signal?.aborted) throw err;
        const delay = backoffDelay(policy, attempt);
        onRetry?.(err, attempt, delay);
        await sleep(delay, signal);
      }
    }
  };
}

/** setTimeout as a promise that an AbortSignal can cut short (with the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new WitnessError('WITNESS_ABORTED', 'aborted');
}
