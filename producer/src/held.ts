// What the send loop (sender.ts) holds and how it lets go of it: the queue, the
// batches taken from it and not yet settled (oldest first; [0] is the one being
// sent), and the flush() callers waiting for them. Every entry taken is settled
// here exactly once, delivered or dropped as send_failed, and counted as it is.
import { FlushTimeoutError, ProducerClosedError, SendFailedError } from './errors.js';
import { errorSummary } from './kafka.js';
import type { Log } from './log.js';
import type { ResolvedOptions } from './options.js';
import { MessageQueue, QueuedMessage } from './queue.js';
import type { Counts } from './counts.js';

export interface Batch {
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

export class HeldEntries {
  private readonly queue = new MessageQueue();
  private head: Batch[] = [];
  private headEntries = 0;
  private headBytes = 0;
  private criticalQueued = 0;
  private flushWaiters: FlushWaiter[] = [];

  constructor(
    private readonly options: ResolvedOptions,
    private readonly counts: Counts,
    private readonly log: Log,
  ) {}

  /** Entries held: queued, plus taken and not yet acknowledged. */
  get pending(): number {
    return this.queue.length + this.headEntries;
  }

  get pendingBytes(): number {
    return this.queue.bytes + this.headBytes;
  }

  get empty(): boolean {
    return this.head.length === 0 && this.queue.length === 0;
  }

  /** Someone waits for a settlement: a critical entry, or a flush() caller. */
  get awaited(): boolean {
    return this.criticalQueued > 0 || this.flushWaiters.length > 0;
  }

  get flushWaiting(): boolean {
    return this.flushWaiters.length > 0;
  }

  push(message: QueuedMessage): void {
    this.queue.push(message);
    if (message.settle !== undefined) this.criticalQueued += 1;
  }

  batchReady(): boolean {
    return this.queue.length >= this.options.maxBatchEntries || this.queue.bytes >= this.options.maxBatchBytes;
  }

  /** The batch to send: the oldest one taken, or a new one taken from the queue. */
  current(): Batch {
    if (this.head.length === 0) {
      const batch = makeBatch(this.queue.take(this.options.maxBatchEntries, this.options.maxBatchBytes));
      this.head.push(batch);
      this.headEntries += batch.messages.length;
      this.headBytes += batch.bytes;
    }
    return this.head[0]!;
  }

  /** Replace the head batch by its two halves; false if it holds a single entry. */
  split(batch: Batch): boolean {
    if (batch.messages.length <= 1) return false;
    const half = Math.ceil(batch.messages.length / 2);
    const first = batch.messages.slice(0, half);
    const second = batch.messages.slice(half);
    this.head.splice(0, 1, makeBatch(first), makeBatch(second));
    return true;
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
    });
  }

  /** The head batch was acknowledged. */
  delivered(): void {
    const batch = this.head.shift()!;
    this.headEntries -= batch.messages.length;
    this.headBytes -= batch.bytes;
    this.counts.delivered += batch.messages.length;
    this.settleMessages(batch.messages, undefined);
    this.checkFlushWaiters();
  }

  /** Drop the head batch (taking one from the queue if none is taken) as send_failed. */
  failHead(reason: string, cause: unknown): void {
    let batch = this.head.shift();
    if (batch === undefined) {
      if (this.queue.length === 0) return;
      batch = makeBatch(this.queue.take(this.options.maxBatchEntries, this.options.maxBatchBytes));
    } else {
      this.headEntries -= batch.messages.length;
      this.headBytes -= batch.bytes;
    }
    this.counts.dropped.send_failed += batch.messages.length;
    this.undelivered(batch.messages);
    const error = new SendFailedError(reason, this.options.topic, cause);
    this.log.error(
      { reason, entries: batch.messages.length, topic: this.options.topic, err: errorSummary(cause) },
      'the broker refused witness entries; dropped (send_failed)',
    );
    this.settleMessages(batch.messages, error);
    this.checkFlushWaiters();
  }

  /** close() ran out of time: settle whatever is held as send_failed. Returns how many. */
  abandon(): number {
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
    for (const batch of batches) this.undelivered(batch.messages);
    this.undelivered(rest);
    for (const batch of batches) this.settleMessages(batch.messages, error);
    this.settleMessages(rest, error);
    this.checkFlushWaiters();
    return lost;
  }

  /** Their seqs go into the checkpoints as send_failed. */
  private undelivered(messages: readonly QueuedMessage[]): void {
    for (const m of messages) if (m.seq >= 0) this.counts.undelivered.add(m.seq, m.seq, 'send_failed');
  }

  private settled(): number {
    return this.counts.delivered + this.counts.dropped.send_failed;
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
