// The producer behind createWitnessProducer (producer.ts): its counts, the record
// paths (record, recordBatch, recordCritical) and what they refuse, flush, close and
// stats. Entries are prepared in prepare.ts and handed to the send loop (sender.ts).
import { performance } from 'node:perf_hooks';
import { InvalidEntryError, type SchemaVersion, type WitnessEntryInput } from '@witnesslog/schemas';
import { CriticalTimeoutError, ProducerClosedError, QueueFullError } from './errors.js';
import { Counts, type WitnessProducerStats, type WitnessedModel } from './counts.js';
import { createKafka, installKafkajsCrc32c, type KafkaClient } from './kafka.js';
import { createLog, rateLimiter, type Log } from './log.js';
import { createProducerMetrics, type ProducerMetrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { instanceIdentity, type InstanceIdentity } from './identity.js';
import { describeThrown, EntryPreparer, type Prepared } from './prepare.js';
import { QueuedMessage, type Settle } from './queue.js';
import { Sender } from './sender.js';
import { Checkpoints } from './checkpoint.js';

/**
 * FOR TESTS ONLY, and not exported by the package (index.ts): the collaborators
 * createWitnessProducer wires in itself. Not an option, so the public options stay
 * what users may set.
 */
export interface ProducerInternals {
  /** Makes the Kafka producers the send loop uses; default createKafka (kafkajs). */
  kafka?: KafkaClient;
  /**
   * The schema version written; default the current one. bench/producer.bench.ts
   * sets v1 to measure record() as it was before v2 (no producer, no trace), beside v2.
   */
  writer?: SchemaVersion;
}

export class Recorder {
  private readonly counts = new Counts();
  private readonly sender: Sender;
  private readonly metrics: ProducerMetrics;
  private readonly log: Log;
  private readonly preparer: EntryPreparer;
  /** This instance's producer identity (schema v2): new id per instance. */
  private readonly identity: InstanceIdentity;
  private readonly fastCrc32c: boolean;
  private accepting = true;
  /** Drops since the queue last accepted: one warning per episode, not one per entry. */
  private droppedFull = 0;
  private readonly warnFull = rateLimiter(10_000);
  private readonly checkpoints: Checkpoints;

  constructor(
    private readonly options: ResolvedOptions,
    internals: ProducerInternals,
  ) {
    this.log = createLog(options.logger, { component: 'witness-producer' });
    this.identity = instanceIdentity(options.service);
    this.preparer = new EntryPreparer(options, this.counts, this.log, this.identity, internals.writer);
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
    this.sender = new Sender(options, this.counts, this.metrics, this.log, internals.kafka ?? createKafka(options, this.log));
    this.checkpoints = new Checkpoints(this.identity, this.counts, this.log);
    this.checkpoints.start(options.checkpointIntervalMs, (message) => this.sender.offerCheckpoint(message));
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
        producerId: this.identity.id,
        service: this.identity.service,
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
        this.numberedDrop('closed', 1);
        return false;
      }
      // Checked before reading: during an outage a refused entry should cost nothing.
      if (this.sender.pending >= this.options.maxQueueDepth) {
        this.queueFull();
        return false;
      }
      const prepared = this.preparer.prepare(entry, true);
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
      this.numberedDrop('queue_full', n - readable);
      this.log.warn({ entries: n, maxQueueDepth: this.options.maxQueueDepth }, 'recordBatch given more entries than the queue holds; the rest dropped (queue_full)');
    }
    let accepted = 0;
    for (let i = 0; i < readable; i++) {
      let item: unknown;
      try {
        item = entries[i];
      } catch (err) {
        this.preparer.invalid(err);
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
      this.numberedDrop('closed', 1);
      return Promise.reject(new ProducerClosedError());
    }
    const started = performance.now();
    const prepared = this.preparer.prepare(entry, false);
    if ('refused' in prepared) return Promise.reject(prepared.refused);
    if (this.sender.pendingBytes + prepared.key.length + prepared.value.length > this.options.maxQueueBytes) {
      this.numberedDrop('queue_full', 1);
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
    this.checkpoints.stop();
    return this.sender.close(() => this.checkpoints.message(true));
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
      // Seqs 0..last_seq were assigned: accepted, or dropped at the queue and in the checkpoints.
      producer: { ...this.identity, last_seq: c.assigned === 0 ? null : c.assigned - 1 },
    };
  }

  private internalError(err: unknown): void {
    this.counts.dropped.invalid += 1;
    this.log.error({ err: describeThrown(err) }, 'witness producer failed to record an entry (a bug); counted as invalid');
  }

  private accept(prepared: Prepared, settle: Settle | undefined): void {
    const seq = this.counts.assigned;
    this.counts.assigned += 1;
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
    this.sender.enqueue(new QueuedMessage(prepared.key, prepared.value, settle, seq));
  }

  /**
   * `n` entries dropped at the queue take the next seqs, reported as undelivered: checked
   * before reading (an outage must cost nothing), so they take a seq whatever they hold.
   */
  private numberedDrop(reason: 'queue_full' | 'closed', n: number): void {
    const from = this.counts.assigned;
    this.counts.assigned += n;
    this.counts.dropped[reason] += n;
    this.counts.undelivered.add(from, from + n - 1, reason);
  }

  private queueFull(): void {
    this.numberedDrop('queue_full', 1);
    this.droppedFull += 1;
    if (this.droppedFull === 1 && this.warnFull()) {
      this.log.warn(
        { pending: this.sender.pending, pendingBytes: this.sender.pendingBytes, maxQueueDepth: this.options.maxQueueDepth },
        'witness producer queue is full; dropping entries (queue_full) until the broker catches up',
      );
    }
  }
}

function safeTypeof(value: unknown): string {
  try {
    return Array.isArray(value) ? 'array' : typeof value;
  } catch {
    return 'a revoked Proxy';
  }
}
