// createWitnessProducer: what a serving node calls on every LLM request. Its first
// duty is to never hurt the request: record() is synchronous, never throws, never
// waits, and holds at most maxQueueDepth entries / maxQueueBytes bytes. Its second
// is to lose nothing it does not count: every entry handed to it ends up delivered,
// pending, or dropped under one reason (see counts.ts for the invariants).
import { performance } from 'node:perf_hooks';
import { createCodec, InvalidEntryError, isSuccess, WitnessError, type WitnessCodec, type WitnessEntry } from '@witnesslog/schemas';
import { CriticalTimeoutError, ProducerClosedError, QueueFullError } from './errors.js';
import { Counts, type WitnessProducerStats } from './counts.js';
import { createLog, rateLimiter, type Log } from './log.js';
import { createProducerMetrics, type ProducerMetrics } from './metrics.js';
import { resolveOptions, type ResolvedOptions, type WitnessProducerOptions } from './options.js';
import { QueuedMessage, type Settle } from './queue.js';
import { Sender } from './sender.js';

export interface WitnessProducer {
  /**
   * Validate, encode and enqueue one entry. Synchronous and never throws; false when
   * the entry was dropped (invalid, queue full, or producer closed), and counted.
   */
  record(entry: WitnessEntry): boolean;
  /** record() for each entry, in order; returns how many were accepted. */
  recordBatch(entries: readonly WitnessEntry[]): number;
  /**
   * For entries that must not be lost (errors, incidents): resolves once the broker
   * acknowledged it with acks=all. Rejects with InvalidEntryError, ProducerClosedError,
   * QueueFullError (byte cap reached), SendFailedError (refused by the broker) or,
   * after criticalTimeoutMs, CriticalTimeoutError (the entry then stays queued).
   * Critical entries are not held back by maxQueueDepth, only by maxQueueBytes.
   */
  recordCritical(entry: WitnessEntry): Promise<void>;
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

export function createWitnessProducer(options: WitnessProducerOptions): WitnessProducer {
  const resolved = resolveOptions(options);
  const producer = new Producer(resolved);
  return Object.freeze({
    record: (entry: WitnessEntry) => producer.record(entry),
    recordBatch: (entries: readonly WitnessEntry[]) => producer.recordBatch(entries),
    recordCritical: (entry: WitnessEntry) => producer.recordCritical(entry),
    flush: () => producer.flush(),
    close: () => producer.close(),
    stats: () => producer.stats(),
  });
}

class Producer {
  private readonly counts = new Counts();
  private readonly sender: Sender;
  private readonly metrics: ProducerMetrics;
  private readonly log: Log;
  private readonly codec: WitnessCodec;
  private accepting = true;
  /** Drops since the queue last accepted: one warning per episode, not one per entry. */
  private droppedFull = 0;
  private readonly warnInvalid = rateLimiter(10_000);
  private readonly warnFull = rateLimiter(10_000);

  constructor(private readonly options: ResolvedOptions) {
    this.log = createLog(options.logger, { component: 'witness-producer' });
    // Its own codec for its dimension; encode() validates, so each entry is read once.
    this.codec = createCodec({ dim: options.embeddingDim });
    this.metrics = createProducerMetrics(options.registry, () => ({
      recorded: this.counts.recorded,
      success: this.counts.success,
      error: this.counts.error,
      witnessed: this.counts.witnessed,
      delivered: this.counts.delivered,
      dropped: this.counts.dropped,
      pending: this.sender.pending,
      pendingBytes: this.sender.pendingBytes,
      connected: this.sender.connected,
    }));
    this.sender = new Sender(options, this.counts, this.metrics, this.log);
    this.log.info(
      {
        brokers: options.brokers,
        topic: options.topic,
        clientId: options.clientId,
        ssl: options.ssl !== undefined && options.ssl !== false,
        // The mechanism only: the rest of `sasl` is credentials.
        sasl: options.sasl?.mechanism,
        compression: options.compression,
        maxQueueDepth: options.maxQueueDepth,
        maxQueueBytes: options.maxQueueBytes,
      },
      'witness producer created',
    );
  }

  record(entry: WitnessEntry): boolean {
    if (!this.accepting) {
      this.counts.dropped.closed += 1;
      return false;
    }
    // Checked before encoding: during an outage a refused entry should cost nothing.
    if (this.sender.pending >= this.options.maxQueueDepth) {
      this.queueFull();
      return false;
    }
    const message = this.encode(entry, undefined);
    if (message === undefined) return false;
    if (this.sender.pendingBytes + message.size > this.options.maxQueueBytes) {
      this.queueFull();
      return false;
    }
    this.accept(message, entry);
    return true;
  }

  recordBatch(entries: readonly WitnessEntry[]): number {
    if (!Array.isArray(entries)) {
      this.log.warn({ got: typeof entries }, 'recordBatch expects an array of witness entries; nothing recorded');
      return 0;
    }
    let accepted = 0;
    for (let i = 0; i < entries.length; i++) if (this.record(entries[i] as WitnessEntry)) accepted += 1;
    return accepted;
  }

  recordCritical(entry: WitnessEntry): Promise<void> {
    if (!this.accepting) {
      this.counts.dropped.closed += 1;
      return Promise.reject(new ProducerClosedError());
    }
    const started = performance.now();
    let settle: Settle | undefined;
    const done = new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new CriticalTimeoutError(this.options.criticalTimeoutMs, requestIdOf(entry)));
      }, this.options.criticalTimeoutMs);
      settle = (error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== undefined) {
          reject(error);
        } else {
          this.metrics.observeCritical((performance.now() - started) / 1000);
          resolve();
        }
      };
    });
    let invalid: unknown;
    const message = this.encode(entry, settle, (err) => (invalid = err));
    if (message === undefined) {
      settle!(asInvalidEntry(invalid));
      return done;
    }
    if (this.sender.pendingBytes + message.size > this.options.maxQueueBytes) {
      this.counts.dropped.queue_full += 1;
      settle!(new QueueFullError(this.sender.pendingBytes, this.options.maxQueueBytes));
      return done;
    }
    this.accept(message, entry);
    return done;
  }

  flush(): Promise<void> {
    return this.sender.flush(this.options.flushTimeoutMs);
  }

  close(): Promise<void> {
    this.accepting = false;
    return this.sender.close();
  }

  stats(): WitnessProducerStats {
    const c = this.counts;
    const d = c.dropped;
    return {
      attempted: c.recorded + d.invalid + d.queue_full + d.closed,
      total: c.recorded,
      success: c.success,
      error: c.error,
      success_rate: c.recorded === 0 ? 1 : c.success / c.recorded,
      delivered: c.delivered,
      pending: this.sender.pending,
      pending_bytes: this.sender.pendingBytes,
      dropped: { ...d },
      running: this.accepting,
      connected: this.sender.connected,
    };
  }

  /** Validate and encode; undefined (counted as invalid) when the entry cannot be sent. */
  private encode(entry: WitnessEntry, settle: Settle | undefined, onInvalid?: (err: unknown) => void): QueuedMessage | undefined {
    try {
      // Everything that reads the entry is in here: a getter that throws, a Proxy, a
      // non-object all end up as one invalid entry, never as an exception.
      const value = this.codec.encode(entry);
      const message = new QueuedMessage(entry.session_id, value, settle);
      if (message.size > this.options.maxBatchBytes) {
        throw new InvalidEntryError('(encoded entry)', `${message.size} bytes`, `at most maxBatchBytes = ${this.options.maxBatchBytes} bytes once encoded`);
      }
      return message;
    } catch (err) {
      this.counts.dropped.invalid += 1;
      onInvalid?.(err);
      if (this.warnInvalid()) {
        this.log.warn({ err: invalidSummary(err), dropped_invalid: this.counts.dropped.invalid }, 'invalid witness entry dropped');
      }
      return undefined;
    }
  }

  private accept(message: QueuedMessage, entry: WitnessEntry): void {
    // The entry was validated: reading `error` cannot throw any more.
    let ok = true;
    try {
      ok = isSuccess(entry);
    } catch {
      /* validated entries have a plain error field; be safe anyway */
    }
    this.counts.recorded += 1;
    if (ok) this.counts.success += 1;
    else this.counts.error += 1;
    // A bounded label: a model outside the four sizes cannot pass validation; `other` guards anyway.
    const byModel = this.counts.witnessed[entry.model_used] ?? this.counts.witnessed.other;
    if (ok) byModel.success += 1;
    else byModel.error += 1;
    if (this.droppedFull > 0) {
      this.log.info({ dropped: this.droppedFull, pending: this.sender.pending }, 'witness producer queue accepts entries again');
      this.droppedFull = 0;
    }
    this.sender.enqueue(message);
  }

  private queueFull(): void {
    this.counts.dropped.queue_full += 1;
    this.droppedFull += 1;
    if (this.droppedFull === 1 && this.warnFull()) {
      this.log.warn(
        { pending: this.sender.pending, pendingBytes: this.sender.pendingBytes, maxQueueDepth: this.options.maxQueueDepth },
        'witness producer queue is full; dropping entries (queue_full) until the broker catches up',
      );
    }
  }
}

function requestIdOf(entry: WitnessEntry): string {
  try {
    return String(entry.request_id);
  } catch {
    return '(unknown)';
  }
}

/** recordCritical rejects invalid entries with InvalidEntryError, whatever broke while reading them. */
function asInvalidEntry(err: unknown): Error {
  if (err instanceof WitnessError) return err;
  const reason = err instanceof Error ? `reading it threw ${err.name}: ${err.message}` : `reading it threw ${String(err)}`;
  return new InvalidEntryError('(entry)', undefined, reason, { cause: err });
}

function invalidSummary(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as { name?: unknown; code?: unknown; field?: unknown; reason?: unknown; message?: unknown };
  return { name: e.name, code: e.code, field: e.field, reason: e.reason, message: e.message };
}
