// Long because the checkpoints (issue 26) share the loop's connection, backoff and
// one-request-at-a-time rule: sendCheckpoint and sendFinal at the end.
//
// The send loop: takes batches from the producer's queue and writes them to Kafka
// (kafka.ts; kafkajs has no linger of its own), one produce request at a time,
// idempotent and acks=all. It owns the Kafka producer, made by the KafkaClient it is
// given (kafkajs in production, a fake in unit tests): connects lazily, backs off
// and reconnects while the broker is away, and settles every entry it took exactly
// once (delivered, or dropped with reason send_failed; held.ts keeps that account).
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
import { HeldEntries, type Batch } from './held.js';
import { classifySendError, disconnectProducer, errorSummary, type BatchProducer, type KafkaClient } from './kafka.js';
import { rateLimiter, type Log } from './log.js';
import type { ProducerMetrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import type { OutgoingMessage } from './kafka.js';
import type { QueuedMessage } from './queue.js';
import type { Counts } from './counts.js';

export class Sender {
  private readonly held: HeldEntries;
  private client: BatchProducer | undefined;
  private clientReady = false;
  private connectedNow = false;

  private readonly backoff: Backoff;
  /** Set while the loop waits for work: calling it wakes the loop. */
  private wake: (() => void) | undefined;
  /** Set while the loop sleeps (linger or backoff): calling it ends the sleep early. */
  private interruptSleep: (() => void) | undefined;
  private lingering = false;
  private closing = false;
  private stopped = false;
  private closed: Promise<void> | undefined;
  private readonly warnRetry = rateLimiter(10_000);
  /** The newest checkpoint not yet sent: outside the entry queue, so sent even when it is full; a newer one supersedes it. */
  private checkpoint: OutgoingMessage | undefined;
  /** One produce request at a time, the loop's or close()'s final checkpoint. */
  private sending: Promise<unknown> = Promise.resolve();
  private inFlight = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly counts: Counts,
    private readonly metrics: ProducerMetrics,
    private readonly log: Log,
    /** Makes the Kafka producers: createKafka() (kafkajs) in production. */
    private readonly kafka: KafkaClient,
  ) {
    this.held = new HeldEntries(options, counts, log);
    this.backoff = createBackoff({ initialMs: options.retryInitialMs, maxMs: options.retryMaxMs });
    // Started now, but it only waits: no connection and no timer until the first entry.
    this.run().catch((err: unknown) => this.log.error({ err }, 'witness producer send loop stopped'));
  }

  /** Entries held: queued, plus taken and not yet acknowledged. */
  get pending(): number {
    return this.held.pending;
  }

  get pendingBytes(): number {
    return this.held.pendingBytes;
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  /** On the caller's path: O(1), no promise, no timer. */
  enqueue(message: QueuedMessage): void {
    this.held.push(message);
    const wake = this.wake;
    if (wake !== undefined) {
      this.wake = undefined;
      wake();
    } else if (this.lingering && (message.settle !== undefined || this.held.batchReady())) {
      this.interrupt();
    }
  }

  /** Send this checkpoint before the next batch (sent even while the queue is full), retried until sent or superseded. */
  offerCheckpoint(message: OutgoingMessage): void {
    this.checkpoint = message;
    this.wakeLoop();
  }

  /** Resolves when every entry accepted before the call is settled; rejects after timeoutMs. */
  flush(timeoutMs: number): Promise<void> {
    const flushed = this.held.flush(timeoutMs);
    // Someone is waiting: no point lingering for a fuller batch.
    if (this.lingering && this.held.flushWaiting) this.interrupt();
    return flushed;
  }

  /** Flush within flushTimeoutMs, give up the rest (counted), disconnect. Idempotent. */
  close(final?: () => OutgoingMessage | undefined): Promise<void> {
    this.closed ??= this.shutdown(final);
    return this.closed;
  }

  private async shutdown(final: (() => OutgoingMessage | undefined) | undefined): Promise<void> {
    this.closing = true;
    if (this.lingering) this.interrupt();
    const { flushTimeoutMs } = this.options;
    try {
      await this.flush(flushTimeoutMs);
    } catch {
      // Timed out: what is still held is given up below, and counted.
    }
    const lost = this.held.abandon();
    if (lost > 0) {
      this.log.error(
        { lost, flushTimeoutMs, delivered: this.counts.delivered },
        'witness producer closed with entries the broker never acknowledged; counted as dropped (send_failed)',
      );
    }
    // Built after the rest was given up, so its send_failed ranges are in it.
    const last = final?.();
    if (last !== undefined) await this.sendFinal(last);
    this.stopped = true;
    this.wakeLoop();
    const client = this.client;
    this.client = undefined;
    this.clientReady = false;
    this.connectedNow = false;
    if (client !== undefined) await disconnectProducer(client, this.log);
  }

  private urgent(): boolean {
    return this.closing || this.held.awaited;
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
    if (this.checkpoint !== undefined && !this.closing) {
      const client = await this.connect();
      if (client === undefined || this.stopped) return;
      await this.sendCheckpoint(client, this.checkpoint);
      if (this.held.empty) return;
    }
    if (this.held.empty) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.stopped || this.options.lingerMs === 0 || this.urgent() || this.held.batchReady()) return;
      // The first entry after a quiet spell waits lingerMs for company; entries that
      // pile up during a send go out as soon as it returns, they have waited already.
      this.lingering = true;
      await this.sleep(this.options.lingerMs);
      this.lingering = false;
      return;
    }
    const client = await this.connect();
    if (client === undefined || this.stopped) return;
    await this.send(client, this.held.current());
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
        this.held.failHead(failure.label, err);
      } else if (this.warnRetry()) {
        this.log.warn({ err: errorSummary(err), pending: this.pending }, 'witness producer cannot reach Kafka; entries are kept and retried');
      }
      await this.sleep(this.backoff.next());
      return undefined;
    }
    if (this.stopped) {
      // close() ran while connecting: do not leave a connection open behind it.
      await disconnectProducer(client, this.log);
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

  private exclusive(client: BatchProducer, messages: readonly OutgoingMessage[]): Promise<void> {
    this.inFlight += 1;
    const sent = this.sending.then(() => client.send(this.options.topic, messages, this.options.compression, this.options.requestTimeoutMs));
    this.sending = sent.catch(() => {}).finally(() => (this.inFlight -= 1));
    return sent;
  }

  private async sendCheckpoint(client: BatchProducer, message: OutgoingMessage): Promise<void> {
    try {
      await this.exclusive(client, [message]);
      if (this.checkpoint === message) this.checkpoint = undefined;
    } catch (err) {
      const failure = classifySendError(err);
      this.metrics.countSendError(failure.label, failure.action !== 'fail');
      // Cumulative: the next checkpoint says all this one did, so one refused for good is let go.
      if (failure.action === 'fail' && this.checkpoint === message) this.checkpoint = undefined;
      if (this.warnRetry()) this.log.warn({ err: errorSummary(err) }, 'witness producer could not send a checkpoint; the next one supersedes it');
      if (failure.action !== 'fail') await this.sleep(this.backoff.next());
    }
  }

  /** close()'s checkpoint (final: true): one attempt, bounded by requestTimeoutMs. */
  private async sendFinal(message: OutgoingMessage): Promise<void> {
    if (this.inFlight > 0) {
      // A request given up by close() is still unanswered: the broker is not answering, and close() must not wait on it.
      this.log.warn({ inFlight: this.inFlight }, 'witness producer closed without its final checkpoint: a request is still unanswered');
      return;
    }
    try {
      const client = this.client !== undefined && this.clientReady ? this.client : await this.connect();
      if (client === undefined) throw new Error('Kafka unreachable');
      await this.exclusive(client, [message]);
    } catch (err) {
      this.log.warn({ err: errorSummary(err) }, 'witness producer could not send its final checkpoint');
    }
  }

  private async send(client: BatchProducer, batch: Batch): Promise<void> {
    const started = performance.now();
    let error: unknown;
    try {
      await this.exclusive(client, batch.messages);
    } catch (err) {
      error = err ?? new Error('sendBatch rejected without a reason');
    }
    if (batch.abandoned) return;
    this.metrics.observeSend(batch.messages.length, batch.bytes, (performance.now() - started) / 1000);
    if (error === undefined) {
      this.backoff.reset();
      this.setConnected(true);
      this.held.delivered();
      return;
    }

    const failure = classifySendError(error);
    this.metrics.countSendError(failure.label, failure.action !== 'fail');
    switch (failure.action) {
      case 'retry':
        this.setConnected(false);
        if (this.warnRetry()) {
          this.log.warn({ err: errorSummary(error), pending: this.pending }, 'witness producer send failed; keeping the batch and retrying');
        }
        await this.sleep(this.backoff.next());
        return;
      case 'reset':
        // The broker no longer knows our producer id (or fenced it): a new idempotent
        // producer gets a new one. The batch is resent; if its first attempt did land,
        // this is the one case where it is written twice.
        this.log.warn({ err: errorSummary(error) }, 'witness producer lost its idempotent producer id; starting a new producer');
        await this.resetClient();
        return;
      case 'split':
        if (!this.held.split(batch)) this.held.failHead(failure.label, error);
        return;
      case 'fail':
        this.held.failHead(failure.label, error);
        return;
    }
  }

  private async resetClient(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    this.clientReady = false;
    if (old !== undefined) await disconnectProducer(old, this.log);
  }
}
