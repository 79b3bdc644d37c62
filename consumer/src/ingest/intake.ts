// Intake: what the fetch loop hands us goes in here. Each fetched batch is
// decoded message by message (a message that does not decode becomes a dead
// letter with the codec's stable code as its reason, never a stuck partition),
// pushed into the buffer, and its offsets resolved so the fetch goes on at once.
// Resolving is a read position, not a commit: only the ledger commits.
//
// Backpressure: once what the buffer holds plus the batch being written reaches
// the cap (WITNESS_MAX_BUFFERED_ENTRIES), the topic is paused and the handler
// waits (heartbeating) until the flushes bring it down to half, so fetching
// stops and the bound is the cap plus one fetched batch. Waiting in the handler
// (rather than only pausing and returning) keeps the heartbeats ours, so a
// rebalance during an outage is seen here and handed over properly.
import { decodeCheckpoint, isCheckpointMessage, type DecodedWitnessEntry, type WitnessCheckpoint, type WitnessCodec } from '@witnesslog/schemas';
import type { Logger } from 'pino';
import type { Batcher } from './batcher.js';
import { EmptyMessageError } from '../errors.js';
import { isRebalanceInProgress, type BatchControl, type FetchedBatch, type FetchedMessage, type GroupConsumer, type RecordHeaders } from './kafka.js';
import type { CommitLedger, Position } from './ledger.js';
import type { ConsumerMetrics } from './metrics.js';

/** A message taken from the topic, decoded or not, until it is settled. */
export interface Received extends Position {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders | undefined;
  arrivedAt: number;
  entry: DecodedWitnessEntry | undefined;
  failure: { reason: string; error: string } | undefined;
  /** A producer checkpoint (issue 26): neither an entry nor a failure; the checkpoint stage stores it. */
  checkpoint?: WitnessCheckpoint;
}

export interface Intake {
  /** The fetch loop's batch handler. */
  eachBatch(batch: FetchedBatch, control: BatchControl): Promise<void>;
  /** Pauses the topic (at the cap, or at close). */
  pause(): void;
  /** Resumes once what is held is down to half the cap (not while closing). */
  maybeResume(): void;
  /** After a join: kafkajs's new group object starts unpaused; keep it in step with us. */
  rejoined(): void;
  readonly paused: boolean;
}

export interface IntakeOptions {
  topic: string;
  codec: Pick<WitnessCodec, 'decode'>;
  batcher: Batcher<Received>;
  /** Entries held (buffered plus in flight) at which fetching pauses. */
  cap: number;
  consumer: Pick<GroupConsumer, 'pause' | 'resume'>;
  ledger: Pick<CommitLedger, 'fetched'>;
  metrics: ConsumerMetrics;
  logger: Logger;
  heartbeatIntervalMs: number;
  /** Entries held: buffered plus the batch being written. */
  held(): number;
  /** The consumer is closing or handing partitions over: take nothing more. */
  stopped(): { closing: boolean; handingOver: boolean };
  /** Resolves after the next flush, or after `ms`. */
  nextFlush(ms: number): Promise<void>;
  /** The group is rebalancing and still accepts our commits: flush and commit what we hold. */
  handOver(): Promise<void>;
  onPause(buffered: number): void;
  onResume(buffered: number): void;
  now?: () => number;
}

export function receive(codec: Pick<WitnessCodec, 'decode'>, topic: string, partition: number, message: FetchedMessage, arrivedAt: number): Received {
  const item: Received = {
    topic,
    partition,
    offset: message.offset,
    batchEnd: undefined,
    key: message.key,
    value: message.value,
    headers: message.headers,
    arrivedAt,
    entry: undefined,
    failure: undefined,
  };
  if (!message.value || message.value.length === 0) {
    const err = new EmptyMessageError();
    item.failure = { reason: err.code, error: err.message };
    return item;
  }
  try {
    // Told apart by fingerprint; one claiming the impossible fails as WITNESS_CHECKPOINT_INVALID.
    if (isCheckpointMessage(message.value)) item.checkpoint = decodeCheckpoint(message.value);
    else item.entry = codec.decode(message.value);
  } catch (err) {
    // Any failure to decode or validate makes this message poison, never the partition.
    const code = (err as { code?: unknown }).code;
    item.failure = { reason: typeof code === 'string' ? code : 'WITNESS_DECODE_FAILED', error: (err as Error).message ?? String(err) };
  }
  return item;
}

export function createIntake(options: IntakeOptions): Intake {
  const { topic: subscribed, codec, batcher, cap, consumer, ledger, metrics, logger: log, heartbeatIntervalMs, held, stopped, now = Date.now } = options;
  const resumeAt = Math.floor(cap / 2);
  let paused = false;

  function pause(): void {
    if (paused) return;
    paused = true;
    try {
      consumer.pause(subscribed);
    } catch (err) {
      log.debug({ err }, 'pause before the consumer runs');
    }
    if (!stopped().closing) {
      metrics.paused.set(1);
      metrics.pauses.inc();
      log.warn({ buffered: held(), cap }, 'buffer full: fetching paused until Qdrant catches up');
      options.onPause(held());
    }
  }

  function maybeResume(): void {
    if (!paused || stopped().closing || held() > resumeAt) return;
    paused = false;
    try {
      consumer.resume(subscribed);
    } catch (err) {
      log.debug({ err }, 'resume while the consumer is not running');
    }
    metrics.paused.set(0);
    log.info({ buffered: held() }, 'buffer drained: fetching resumed');
    options.onResume(held());
  }

  async function heartbeatOrHandOver(heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat();
    } catch (err) {
      if (isRebalanceInProgress(err)) await options.handOver();
      throw err;
    }
  }

  return {
    get paused() {
      return paused;
    },
    pause,
    maybeResume,

    async eachBatch(batch, { resolveOffset, heartbeat, isRunning, isStale }) {
      const state = stopped();
      if (state.closing || state.handingOver || !isRunning() || isStale()) return;
      const { topic, partition, messages } = batch;
      ledger.fetched(topic, partition, batch.highWatermark, batch.firstOffset);
      const arrivedAt = now();
      const items = new Array<Received>(messages.length);
      for (let i = 0; i < messages.length; i++) items[i] = receive(codec, topic, partition, messages[i]!, arrivedAt);
      const last = items[items.length - 1];
      if (last === undefined) return;
      last.batchEnd = (BigInt(batch.lastOffset) + 1n).toString();
      batcher.push(items);
      metrics.entriesConsumed.inc(items.length);
      resolveOffset(last.offset);
      metrics.buffered.set(held());

      if (held() >= cap) {
        // Full: hold the fetch loop here until the flushes make room.
        pause();
        while (paused && !stopped().closing && isRunning()) {
          await options.nextFlush(heartbeatIntervalMs);
          await heartbeatOrHandOver(heartbeat);
        }
        return;
      }
      await heartbeatOrHandOver(heartbeat);
    },

    rejoined() {
      if (!paused || stopped().closing) return;
      paused = held() > resumeAt;
      if (paused) consumer.pause(subscribed);
      else metrics.paused.set(0);
    },
  };
}
