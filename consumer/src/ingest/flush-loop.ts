// The flush loop: takes batches from the buffer in FIFO order and flushes them
// one at a time, so a commit never runs ahead of an earlier write. It also
// answers "wake me after the next flush" (intake waiting for room) and drains
// the buffer on demand (hand-over at a rebalance, shutdown).
import type { Logger } from 'pino';
import type { Batcher } from './batcher.js';
import { AbortedError } from '../errors.js';
import type { Flush, FlushEvent } from './flush.js';
import type { Received } from './intake.js';

export interface FlushLoop {
  /** Messages of the batch being flushed (0 between flushes). */
  readonly inFlight: number;
  start(): void;
  /** Resolves after the next flush, or after `ms`. */
  nextFlush(ms: number): Promise<void>;
  /** Flushes without waiting for batches to fill; true once nothing is held, false on timeout. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Aborts the flush in progress with `reason` (its messages stay uncommitted) and ends the loop. */
  stop(reason: Error): Promise<void>;
}

export interface FlushLoopOptions {
  batcher: Batcher<Received>;
  flush: Flush;
  logger: Logger;
  /** Once closing, a drain leaves the buffer urgent: nothing should wait to fill any more. */
  closing(): boolean;
  onFlushed(event: FlushEvent): void;
  /** After every flush, done or not: what is held changed. */
  onSettled(): void;
  /** A flush failed for a reason other than the shutdown: consumption stops. */
  onFatal(err: Error): void;
  now?: () => number;
}

export function createFlushLoop({ batcher, flush, logger: log, closing, onFlushed, onSettled, onFatal, now = Date.now }: FlushLoopOptions): FlushLoop {
  // Cuts the retries of writes at the shutdown deadline.
  const abort = new AbortController();
  const waiters = new Set<() => void>();
  let inFlight: Received[] | undefined;
  let done: Promise<void> | undefined;

  function nextFlush(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(wake, Math.max(0, ms));
      function wake() {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve();
      }
      waiters.add(wake);
    });
  }

  async function run(): Promise<void> {
    for (;;) {
      const items = await batcher.next();
      if (items === null) return;
      inFlight = items;
      try {
        onFlushed(await flush(items, abort.signal));
      } catch (err) {
        if (abort.signal.aborted || err instanceof AbortedError) {
          log.warn({ size: items.length }, 'flush abandoned at the shutdown deadline; its messages stay uncommitted');
          return;
        }
        // A bug, not a Qdrant or Kafka failure (those are retried inside): stop consuming
        // rather than commit past something that was not written.
        log.fatal({ err }, 'flush failed unexpectedly; consumption stops, nothing after this batch is committed');
        onFatal(err as Error);
        return;
      } finally {
        inFlight = undefined;
        onSettled();
        for (const wake of [...waiters]) wake();
      }
    }
  }

  return {
    get inFlight() {
      return inFlight?.length ?? 0;
    },
    start() {
      done ??= run();
    },
    nextFlush,
    async drain(timeoutMs) {
      batcher.setUrgent(true);
      try {
        const deadline = now() + Math.max(0, timeoutMs);
        while (batcher.size + (inFlight?.length ?? 0) > 0) {
          const left = deadline - now();
          if (left <= 0) return false;
          await nextFlush(left);
        }
        return true;
      } finally {
        if (!closing()) batcher.setUrgent(false);
      }
    },
    async stop(reason) {
      abort.abort(reason);
      batcher.close();
      if (done) await done;
    },
  };
}
