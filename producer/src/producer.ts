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
import { performance } from 'node:perf_hooks';
import { createCodec, InvalidEntryError, type WitnessCodec, type WitnessEntry, type WitnessEntryInput } from '@witnesslog/schemas';
import { CriticalTimeoutError, ProducerClosedError, QueueFullError, RedactFailedError } from './errors.js';
import { Counts, type WitnessProducerStats, type WitnessedModel } from './counts.js';
import { installKafkajsCrc32c } from './kafka.js';
import { createLog, rateLimiter, type Log } from './log.js';
import { createProducerMetrics, type ProducerMetrics } from './metrics.js';
import { resolveOptions, type ResolvedOptions, type WitnessProducerOptions } from './options.js';
import { QueuedMessage, type Settle } from './queue.js';
import { Sender } from './sender.js';
import { snapshotEntry } from './snapshot.js';

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
  const resolved = resolveOptions(options);
  const producer = new Producer(resolved);
  return Object.freeze({
    record: (entry: WitnessEntryInput) => producer.record(entry),
    recordBatch: (entries: readonly WitnessEntryInput[]) => producer.recordBatch(entries),
    recordCritical: (entry: WitnessEntryInput) => producer.recordCritical(entry),
    flush: () => producer.flush(),
    close: () => producer.close(),
    stats: () => producer.stats(),
  });
}

/** An entry read, redacted, validated and encoded: what is left is to enqueue it. */
interface Prepared {
  readonly key: string;
  readonly value: Buffer;
  readonly requestId: string;
  readonly success: boolean;
  readonly model: string;
}

/** Why an entry was not prepared; the drop is already counted. */
interface Refused {
  readonly refused: Error;
}

class Producer {
  private readonly counts = new Counts();
  private readonly sender: Sender;
  private readonly metrics: ProducerMetrics;
  private readonly log: Log;
  private readonly codec: WitnessCodec;
  private readonly fastCrc32c: boolean;
  private accepting = true;
  /** Drops since the queue last accepted: one warning per episode, not one per entry. */
  private droppedFull = 0;
  private readonly warnInvalid = rateLimiter(10_000);
  private readonly warnFull = rateLimiter(10_000);
  private readonly warnRedact = rateLimiter(10_000);

  constructor(private readonly options: ResolvedOptions) {
    this.log = createLog(options.logger, { component: 'witness-producer' });
    this.codec = createCodec({ dim: options.embeddingDim });
    // Decided here, once, and only when asked: the replacement is process-wide.
    this.fastCrc32c = options.fastCrc32c && installKafkajsCrc32c();
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
        sampleRate: options.sampleRate,
        redact: options.redact !== undefined,
      },
      'witness producer created',
    );
    if (options.fastCrc32c) {
      if (this.fastCrc32c) {
        this.log.info({ fastCrc32c: true }, 'kafkajs computes record-batch CRC-32C with the witness SDK function, for every kafkajs client in this process');
      } else {
        this.log.warn(
          { fastCrc32c: false },
          'fastCrc32c requested but not in effect: kafkajs had already loaded its own CRC-32C (a client produced before), or is bundled',
        );
      }
    }
  }

  record(entry: WitnessEntryInput): boolean {
    try {
      if (!this.accepting) {
        this.counts.dropped.closed += 1;
        return false;
      }
      // Checked before reading: during an outage a refused entry should cost nothing.
      if (this.sender.pending >= this.options.maxQueueDepth) {
        this.queueFull();
        return false;
      }
      const prepared = this.prepare(entry, true);
      if ('refused' in prepared) return false;
      if (this.sender.pendingBytes + prepared.key.length + prepared.value.length > this.options.maxQueueBytes) {
        this.queueFull();
        return false;
      }
      this.accept(prepared, undefined);
      return true;
    } catch (err) {
      // Only an SDK bug gets here (prepare catches what the entry throws); the caller is still never hurt.
      this.internalError(err);
      return false;
    }
  }

  recordBatch(entries: readonly WitnessEntryInput[]): number {
    let n: unknown;
    try {
      n = Array.isArray(entries) ? entries.length : undefined;
    } catch (err) {
      n = err; // a Proxy whose length throws
    }
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      // Not a readable array: one refusal, counted, since how many entries it held is unknown.
      this.counts.dropped.invalid += 1;
      this.log.warn({ got: safeTypeof(entries) }, 'recordBatch expects an array of witness entries; nothing recorded (counted as one invalid)');
      return 0;
    }
    // Bounded work whatever the length claims (a sparse array, a Proxy saying 2^40):
    // no more than maxQueueDepth entries can be held, so the entries past that many
    // are counted as queue_full without being read.
    const readable = Math.min(n, this.options.maxQueueDepth);
    if (n > readable) {
      this.counts.dropped.queue_full += n - readable;
      this.log.warn({ entries: n, maxQueueDepth: this.options.maxQueueDepth }, 'recordBatch given more entries than the queue holds; the rest dropped (queue_full)');
    }
    let accepted = 0;
    for (let i = 0; i < readable; i++) {
      let item: unknown;
      try {
        item = entries[i];
      } catch (err) {
        this.invalid(err);
        continue;
      }
      if (this.record(item as WitnessEntryInput)) accepted += 1;
    }
    return accepted;
  }

  recordCritical(entry: WitnessEntryInput): Promise<void> {
    try {
      return this.critical(entry);
    } catch (err) {
      this.internalError(err);
      return Promise.reject(new InvalidEntryError('(entry)', undefined, `could not be recorded: ${describeThrown(err)}`, { cause: err }));
    }
  }

  private critical(entry: WitnessEntryInput): Promise<void> {
    if (!this.accepting) {
      this.counts.dropped.closed += 1;
      return Promise.reject(new ProducerClosedError());
    }
    const started = performance.now();
    const prepared = this.prepare(entry, false);
    if ('refused' in prepared) return Promise.reject(prepared.refused);
    if (this.sender.pendingBytes + prepared.key.length + prepared.value.length > this.options.maxQueueBytes) {
      this.counts.dropped.queue_full += 1;
      return Promise.reject(new QueueFullError(this.sender.pendingBytes, this.options.maxQueueBytes));
    }
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle: Settle = (error) => {
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
      this.accept(prepared, settle);
      // Armed only once the entry is queued: a refused entry leaves no timer behind.
      if (!settled) {
        timer = setTimeout(() => {
          if (settled) return;
          settled = true;
          reject(new CriticalTimeoutError(this.options.criticalTimeoutMs, prepared.requestId));
        }, this.options.criticalTimeoutMs);
      }
    });
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
      attempted: c.recorded + d.invalid + d.queue_full + d.closed + d.sampled_out + d.redact_failed,
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
      sample_rate: this.options.sampleRate,
      fast_crc32c: this.fastCrc32c,
    };
  }

  /**
   * Read the entry once, then sample (record() only), redact, validate and encode that
   * one copy. Every drop is counted here, under its reason.
   */
  private prepare(entry: unknown, sampled: boolean): Prepared | Refused {
    let snapshot: WitnessEntry;
    try {
      snapshot = snapshotEntry(entry);
    } catch (err) {
      return this.invalid(err);
    }
    const { sampleRate, redact } = this.options;
    // Not an object: nothing to sample or redact, the validator below names it.
    const entryLike = typeof snapshot === 'object' && snapshot !== null;
    // An entry with an error is always kept: failures are what the log is searched for.
    if (sampled && entryLike && sampleRate < 1 && snapshot.error === null && Math.random() >= sampleRate) {
      this.counts.dropped.sampled_out += 1;
      return SAMPLED_OUT;
    }
    if (redact !== undefined && entryLike) {
      try {
        const redacted: unknown = redact(snapshot);
        // The hook's own object is read once too, unless it returned our copy.
        snapshot = redacted === snapshot ? snapshot : snapshotEntry(redacted);
      } catch (err) {
        this.counts.dropped.redact_failed += 1;
        if (this.warnRedact()) {
          this.log.warn({ err: describeThrown(err), dropped_redact_failed: this.counts.dropped.redact_failed }, 'the redact hook threw; witness entry dropped (redact_failed)');
        }
        return { refused: new RedactFailedError(err) };
      }
    }
    try {
      const value = this.codec.encode(snapshot);
      // Validated: the key is a string of at most 256 characters, read from the copy.
      const key = snapshot.session_id;
      if (key.length + value.length > this.options.maxBatchBytes) {
        throw new InvalidEntryError('(encoded entry)', `${key.length + value.length} bytes`, `at most maxBatchBytes = ${this.options.maxBatchBytes} bytes once encoded`);
      }
      return { key, value, requestId: snapshot.request_id, success: snapshot.error === null, model: snapshot.model_used };
    } catch (err) {
      return this.invalid(err);
    }
  }

  /** Count and log an invalid entry; the error recordCritical rejects with. Never throws. */
  private invalid(err: unknown): Refused {
    this.counts.dropped.invalid += 1;
    if (this.warnInvalid()) {
      this.log.warn({ err: invalidSummary(err), dropped_invalid: this.counts.dropped.invalid }, 'invalid witness entry dropped');
    }
    return { refused: asInvalidEntry(err) };
  }

  private internalError(err: unknown): void {
    this.counts.dropped.invalid += 1;
    this.log.error({ err: describeThrown(err) }, 'witness producer failed to record an entry (a bug); counted as invalid');
  }

  private accept(prepared: Prepared, settle: Settle | undefined): void {
    this.counts.recorded += 1;
    if (prepared.success) this.counts.success += 1;
    else this.counts.error += 1;
    // A bounded label: a model outside the four sizes cannot pass validation; `other` guards anyway.
    const byModel = this.counts.witnessed[prepared.model as WitnessedModel] ?? this.counts.witnessed.other;
    if (prepared.success) byModel.success += 1;
    else byModel.error += 1;
    if (this.droppedFull > 0) {
      this.log.info({ dropped: this.droppedFull, pending: this.sender.pending }, 'witness producer queue accepts entries again');
      this.droppedFull = 0;
    }
    this.sender.enqueue(new QueuedMessage(prepared.key, prepared.value, settle));
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

const SAMPLED_OUT: Refused = Object.freeze({ refused: new Error('sampled out') });

/**
 * recordCritical rejects invalid entries with InvalidEntryError, whatever broke while
 * reading them. What was thrown may itself be hostile (a Proxy whose traps throw):
 * nothing here may throw in turn.
 */
function asInvalidEntry(err: unknown): Error {
  try {
    if (err instanceof InvalidEntryError) return err;
  } catch {
    /* instanceof on a Proxy runs its getPrototypeOf trap */
  }
  return new InvalidEntryError('(entry)', undefined, `reading it threw ${describeThrown(err)}`, { cause: err });
}

/** "Name: message" of whatever was thrown, or a placeholder when even that throws. */
function describeThrown(err: unknown): string {
  try {
    if (err instanceof Error) return `${String(err.name)}: ${String(err.message)}`;
    return typeof err === 'object' && err !== null ? Object.prototype.toString.call(err) : String(err);
  } catch {
    return '(a value that throws when read)';
  }
}

function invalidSummary(err: unknown): Record<string, unknown> {
  try {
    if (err instanceof InvalidEntryError) return { name: err.name, code: err.code, field: err.field, reason: err.reason, message: err.message };
  } catch {
    /* a look-alike of ours whose getters throw; see asInvalidEntry */
  }
  return { message: describeThrown(err) };
}

function safeTypeof(value: unknown): string {
  try {
    return Array.isArray(value) ? 'array' : typeof value;
  } catch {
    return 'a revoked Proxy';
  }
}
