// The send loop: takes batches from the producer's queue and writes them to Kafka
// (kafka.ts; kafkajs has no linger of its own), one produce request at a time,
// idempotent and acks=all. It owns the Kafka producer: connects lazily, backs off
// and reconnects while the broker is away, and settles every entry it took exactly
// once (delivered, or dropped with reason send_failed).
//
// A batch whose send fails with a retriable error stays at the head of the queue and
// is resent unchanged after a backoff, for as long as it takes: it is counted as
// pending, and resending the same messages lets the idempotent producer (same
// producer id and sequence numbers) turn a send that did reach the broker into a
// no-op instead of a duplicate. Only non-retriable errors drop a batch (see
// classifySendError in kafka.ts). Entries behind it wait; the bound on the queue, not a deadline,
// is what limits memory, and what does not fit is counted as queue_full.
import { performance } from 'node:perf_hooks';
import { createBackoff, type Backoff } from '@witnesslog/core';
import { FlushTimeoutError, ProducerClosedError, SendFailedError } from './errors.js';
import { classifySendError, createKafka, type BatchProducer, type KafkaClient } from './kafka.js';
import { rateLimiter, type Log } from './log.js';
import type { ProducerMetrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { MessageQueue, QueuedMessage } from './queue.js';
import type { Counts } from './counts.js';

const DISCONNECT_TIMEOUT_MS = 5_000;

interface Batch {
  readonly messages: QueuedMessage[];
  readonly bytes: number;
  /** Given up by close(): a late answer from kafkajs must not settle it twice. */
  abandoned: boolean;
}

interface FlushWaiter {
  target: number;
  resolve(): void;
  timer: NodeJS.Timeout;
}

export class Sender {
  private readonly queue = new MessageQueue();
  /** Taken from the queue, not settled yet, oldest first; [0] is the one being sent. */
  private head: Batch[] = [];
  private headEntries = 0;
  private headBytes = 0;
  private criticalQueued = 0;

  private readonly kafka: KafkaClient;
  private client: BatchProducer | undefined;
  private clientReady = false;
  private connectedNow = false;

  private readonly backoff: Backoff;
  /** Set while the loop waits for work: calling it wakes the loop. */
  private wake: (() => void) | undefined;
  /** Set while the loop sleeps (linger or backoff): calling it ends the sleep early. */
  private interruptSleep: (() => void) | undefined;
  private lingering = false;
  private flushWaiters: FlushWaiter[] = [];
  private closing = false;
  private stopped = false;
  private closed: Promise<void> | undefined;
  private readonly warnRetry = rateLimiter(10_000);

  constructor(
    private readonly options: ResolvedOptions,
    private readonly counts: Counts,
    private readonly metrics: ProducerMetrics,
    private readonly log: Log,
  ) {
    this.backoff = createBackoff({ initialMs: options.retryInitialMs, maxMs: options.retryMaxMs });
    this.kafka = createKafka(options, log);
    // Started now, but it only waits: no connection and no timer until the first entry.
    this.run().catch((err: unknown) => this.log.error({ err }, 'witness producer send loop stopped'));
  }

  /** Entries held: queued, plus taken and not yet acknowledged. */
  get pending(): number {
    return this.queue.length + this.headEntries;
  }

  get pendingBytes(): number {
    return this.queue.bytes + this.headBytes;
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  /** On the caller's path: O(1), no promise, no timer. */
  enqueue(message: QueuedMessage): void {
    this.queue.push(message);
    if (message.settle !== undefined) this.criticalQueued += 1;
    const wake = this.wake;
    if (wake !== undefined) {
      this.wake = undefined;
      wake();
    } else if (this.lingering && (message.settle !== undefined || this.batchReady())) {
      this.interrupt();
    }
  }

  /** Resolves when every entry accepted before the call is settled; rejects after timeoutMs. */
  flush(timeoutMs: number): Promise<void> {
    const target = this.counts.recorded;
    if (this.settled() >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: FlushWaiter = {
        target,
        resolve,
        timer: setTimeout(() => {
          this.flushWaiters = this.flushWaiters.filter((w) => w !== waiter);
          reject(new FlushTimeoutError(timeoutMs, this.pending));
        }, timeoutMs),
      };
      this.flushWaiters.push(waiter);
      // Someone is waiting: no point lingering for a fuller batch.
      if (this.lingering) this.interrupt();
    });
  }

  /** Flush within flushTimeoutMs, give up the rest (counted), disconnect. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.lingering) this.interrupt();
    const { flushTimeoutMs } = this.options;
    try {
      await this.flush(flushTimeoutMs);
    } catch {
      // Timed out: what is still held is given up below, and counted.
    }
    const lost = this.abandon();
    if (lost > 0) {
      this.log.error(
        { lost, flushTimeoutMs, delivered: this.counts.delivered },
        'witness producer closed with entries the broker never acknowledged; counted as dropped (send_failed)',
      );
    }
    this.stopped = true;
    this.wakeLoop();
    const client = this.client;
    this.client = undefined;
    this.clientReady = false;
    this.connectedNow = false;
    if (client !== undefined) await disconnect(client, this.log);
  }

  /** close() ran out of time: settle whatever is held as send_failed. Returns how many. */
  private abandon(): number {
    const error = new ProducerClosedError('the witness producer closed before the broker acknowledged this entry');
    let lost = 0;
    for (const batch of this.head) {
      batch.abandoned = true;
      lost += batch.messages.length;
    }
    const batches = this.head;
    this.head = [];
    this.headEntries = 0;
    this.headBytes = 0;
    const rest = this.queue.drain();
    lost += rest.length;
    this.counts.dropped.send_failed += lost;
    for (const batch of batches) this.settleMessages(batch.messages, error);
    this.settleMessages(rest, error);
    this.checkFlushWaiters();
    return lost;
  }

  private settled(): number {
    return this.counts.delivered + this.counts.dropped.send_failed;
  }

  private batchReady(): boolean {
    return this.queue.length >= this.options.maxBatchEntries || this.queue.bytes >= this.options.maxBatchBytes;
  }

  private urgent(): boolean {
    return this.closing || this.criticalQueued > 0 || this.flushWaiters.length > 0;
  }

  private wakeLoop(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    this.interrupt();
  }

  private interrupt(): void {
    const stop = this.interruptSleep;
    this.interruptSleep = undefined;
    stop?.();
  }

  /** A timer that close() and urgent work can cut short; unref'd: it holds no entry. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.interruptSleep = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.interruptSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (err) {
        // Only a bug gets here (every Kafka call is caught in step); keep the loop alive.
        this.log.error({ err }, 'witness producer send loop failed; retrying');
        await this.sleep(this.backoff.next());
      }
    }
  }

  private async step(): Promise<void> {
    if (this.head.length === 0 && this.queue.length === 0) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.stopped || this.options.lingerMs === 0 || this.urgent() || this.batchReady()) return;
      // The first entry after a quiet spell waits lingerMs for company; entries that
      // pile up during a send go out as soon as it returns, they have waited already.
      this.lingering = true;
      await this.sleep(this.options.lingerMs);
      this.lingering = false;
      return;
    }
    const client = await this.connect();
    if (client === undefined || this.stopped) return;
    if (this.head.length === 0) {
      const messages = this.queue.take(this.options.maxBatchEntries, this.options.maxBatchBytes);
      let bytes = 0;
      for (const m of messages) bytes += m.size;
      this.head.push({ messages, bytes, abandoned: false });
      this.headEntries += messages.length;
      this.headBytes += bytes;
    }
    await this.send(client, this.head[0]!);
  }

  /** The connected Kafka producer, or undefined after a failed attempt (already backed off). */
  private async connect(): Promise<BatchProducer | undefined> {
    if (this.client !== undefined && this.clientReady) return this.client;
    const client = (this.client ??= this.kafka.producer());
    try {
      await client.connect();
    } catch (err) {
      if (this.stopped) return undefined;
      const failure = classifySendError(err);
      this.metrics.countSendError(failure.label, failure.action !== 'fail');
      this.setConnected(false);
      if (failure.action === 'fail') {
        // Credentials or authorisation: no amount of waiting helps the entries at
        // the head; count them rather than hold the queue hostage.
        this.failHead(failure.label, err);
      } else if (this.warnRetry()) {
        this.log.warn({ err: summary(err), pending: this.pending }, 'witness producer cannot reach Kafka; entries are kept and retried');
      }
      await this.sleep(this.backoff.next());
      return undefined;
    }
    if (this.stopped) {
      // close() ran while connecting: do not leave a connection open behind it.
      await disconnect(client, this.log);
      return undefined;
    }
    this.clientReady = true;
    this.setConnected(true);
    this.log.info({ brokers: this.options.brokers, topic: this.options.topic }, 'witness producer connected');
    return client;
  }

  private setConnected(connected: boolean): void {
    if (connected && !this.connectedNow && this.counts.delivered > 0) {
      this.log.info({ pending: this.pending }, 'witness producer reached Kafka again; draining the queue');
    }
    this.connectedNow = connected;
  }

  private async send(client: BatchProducer, batch: Batch): Promise<void> {
    const started = performance.now();
    let error: unknown;
    try {
      await client.send(this.options.topic, batch.messages, this.options.compression, this.options.requestTimeoutMs);
    } catch (err) {
      error = err ?? new Error('sendBatch rejected without a reason');
    }
    if (batch.abandoned) return;
    this.metrics.observeSend(batch.messages.length, batch.bytes, (performance.now() - started) / 1000);
    if (error === undefined) {
      this.backoff.reset();
      this.setConnected(true);
      this.settleHead();
      return;
    }

    const failure = classifySendError(error);
    this.metrics.countSendError(failure.label, failure.action !== 'fail');
    switch (failure.action) {
      case 'retry':
        this.setConnected(false);
        if (this.warnRetry()) {
          this.log.warn({ err: summary(error), pending: this.pending }, 'witness producer send failed; keeping the batch and retrying');
        }
        await this.sleep(this.backoff.next());
        return;
      case 'reset':
        // The broker no longer knows our producer id (or fenced it): a new idempotent
        // producer gets a new one. The batch is resent; if its first attempt did land,
        // this is the one case where it is written twice.
        this.log.warn({ err: summary(error) }, 'witness producer lost its idempotent producer id; starting a new producer');
        await this.resetClient();
        return;
      case 'split':
        if (batch.messages.length > 1) {
          const half = Math.ceil(batch.messages.length / 2);
          const first = batch.messages.slice(0, half);
          const second = batch.messages.slice(half);
          this.head.splice(0, 1, makeBatch(first), makeBatch(second));
          return;
        }
        this.failHead(failure.label, error);
        return;
      case 'fail':
        this.failHead(failure.label, error);
        return;
    }
  }

  private async resetClient(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    this.clientReady = false;
    if (old !== undefined) await disconnect(old, this.log);
  }

  /** The head batch was acknowledged. */
  private settleHead(): void {
    const batch = this.head.shift()!;
    this.headEntries -= batch.messages.length;
    this.headBytes -= batch.bytes;
    this.counts.delivered += batch.messages.length;
    this.settleMessages(batch.messages, undefined);
    this.checkFlushWaiters();
  }

  /** Drop the head batch (taking one from the queue if none is taken) as send_failed. */
  private failHead(reason: string, cause: unknown): void {
    let batch = this.head.shift();
    if (batch === undefined) {
      if (this.queue.length === 0) return;
      batch = makeBatch(this.queue.take(this.options.maxBatchEntries, this.options.maxBatchBytes));
    } else {
      this.headEntries -= batch.messages.length;
      this.headBytes -= batch.bytes;
    }
    this.counts.dropped.send_failed += batch.messages.length;
    const error = new SendFailedError(reason, this.options.topic, cause);
    this.log.error(
      { reason, entries: batch.messages.length, topic: this.options.topic, err: summary(cause) },
      'the broker refused witness entries; dropped (send_failed)',
    );
    this.settleMessages(batch.messages, error);
    this.checkFlushWaiters();
  }

  private settleMessages(messages: QueuedMessage[], error: Error | undefined): void {
    for (const m of messages) {
      if (m.settle === undefined) continue;
      this.criticalQueued -= 1;
      m.settle(error);
    }
  }

  private checkFlushWaiters(): void {
    if (this.flushWaiters.length === 0) return;
    const settled = this.settled();
    const done = this.flushWaiters.filter((w) => w.target <= settled);
    if (done.length === 0) return;
    this.flushWaiters = this.flushWaiters.filter((w) => w.target > settled);
    for (const w of done) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }
}

function makeBatch(messages: QueuedMessage[]): Batch {
  let bytes = 0;
  for (const m of messages) bytes += m.size;
  return { messages, bytes, abandoned: false };
}

/** kafkajs disconnect can wait forever on a request that never times out (kafkajs#1167). */
async function disconnect(client: BatchProducer, log: Log): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), DISCONNECT_TIMEOUT_MS);
    timer.unref();
  });
  const done = client.disconnect().then(
    () => 'ok' as const,
    (err: unknown) => {
      log.debug({ err: summary(err) }, 'kafka producer disconnect failed');
      return 'failed' as const;
    },
  );
  const outcome = await Promise.race([done, gaveUp]);
  clearTimeout(timer);
  if (outcome === 'timeout') log.warn({ timeoutMs: DISCONNECT_TIMEOUT_MS }, 'kafka producer did not disconnect in time; leaving it');
}

/** What is worth logging of a kafkajs error: no request payloads, nothing from the options. */
function summary(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as { name?: unknown; message?: unknown; type?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { name: e.name, message: e.message };
  if (e.type !== undefined) out.type = e.type;
  if (typeof e.cause === 'object' && e.cause !== null && e.cause !== err) {
    const c = e.cause as { name?: unknown; message?: unknown; type?: unknown };
    out.cause = { name: c.name, message: c.message, type: c.type };
  }
  return out;
}
