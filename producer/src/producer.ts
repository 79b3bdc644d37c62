// createWitnessProducer: what a serving node calls on every LLM request. Its first
// duty is to never hurt the request: record() is synchronous, never throws, never
// waits, and holds at most maxQueueDepth entries / maxQueueBytes bytes. Its second
// is to lose nothing it does not count: every entry handed to it ends up delivered,
// pending, or dropped under one reason (see counts.ts for the invariants).
//
// Whatever it is given (a Proxy, getters that throw or change their answer, an
// array-like whose length throws), record(), recordBatch() and recordCritical()
// neither throw nor leave a timer behind: every path that touches the caller's
// object is inside a try, and the object is read once (snapshot.ts).
// This file is the public face; recorder.ts does the work.
import type { WitnessEntryInput } from '@witnesslog/schemas';
import type { WitnessProducerStats } from './counts.js';
import { resolveOptions, type WitnessProducerOptions } from './options.js';
import { Recorder, type ProducerInternals } from './recorder.js';

export interface WitnessProducer {
  /**
   * Read, sample, redact, validate, encode and enqueue one entry. Synchronous and never
   * throws; false when the entry was dropped (invalid, sampled out, redact hook failed,
   * queue full, or producer closed), and counted under that reason.
   */
  record(entry: WitnessEntryInput): boolean;
  /**
   * record() for each entry, in order; returns how many were accepted. At most
   * maxQueueDepth entries are read; any past that are dropped as queue_full.
   */
  recordBatch(entries: readonly WitnessEntryInput[]): number;
  /**
   * For entries that must not be lost (errors, incidents): resolves once the broker
   * acknowledged it with acks=all. Never sampled. Never throws: rejects with
   * InvalidEntryError, RedactFailedError, ProducerClosedError, QueueFullError (byte cap
   * reached), SendFailedError (refused by the broker) or, after criticalTimeoutMs,
   * CriticalTimeoutError (the entry then stays queued). Critical entries are not held
   * back by maxQueueDepth, only by maxQueueBytes.
   */
  recordCritical(entry: WitnessEntryInput): Promise<void>;
  /**
   * Resolves when every entry accepted before the call is delivered or dropped (and
   * counted); rejects with FlushTimeoutError after flushTimeoutMs, dropping nothing.
   */
  flush(): Promise<void>;
  /**
   * Stop accepting, deliver what is pending (up to flushTimeoutMs), disconnect.
   * What the broker still has not acknowledged by then is counted as send_failed.
   * Never rejects; safe to call again, and concurrently (same promise).
   */
  close(): Promise<void>;
  stats(): WitnessProducerStats;
}

export function createWitnessProducer(options: WitnessProducerOptions = {}): WitnessProducer {
  return createWitnessProducerWith(options, {});
}

export type { ProducerInternals } from './recorder.js';

/**
 * FOR TESTS ONLY, not exported by the package (index.ts): createWitnessProducer with
 * some of its collaborators replaced (a fake Kafka client in unit tests).
 */
export function createWitnessProducerWith(options: WitnessProducerOptions, internals: ProducerInternals): WitnessProducer {
  const resolved = resolveOptions(options);
  const producer = new Recorder(resolved, internals);
  return Object.freeze({
    record: (entry: WitnessEntryInput) => producer.record(entry),
    recordBatch: (entries: readonly WitnessEntryInput[]) => producer.recordBatch(entries),
    recordCritical: (entry: WitnessEntryInput) => producer.recordCritical(entry),
    flush: () => producer.flush(),
    close: () => producer.close(),
    stats: () => producer.stats(),
  });
}
