// The witness consumer: topic -> Qdrant, with nothing lost on the way. Every
// message ends up written to Qdrant, written to the dead-letter topic with a
// reason, or still uncommitted in Kafka (and so delivered again).
//
// Design (why it is not "eachBatch awaits the flush that holds its messages"):
//
// kafkajs runs one fetch loop per broker: fetch, hand the batches to eachBatch,
// wait for every handler to return, fetch again. If handlers waited for their
// flush, a partial batch could only ever be flushed by the max-wait timer
// (nothing else can arrive while the fetch loop waits on it), so every fetch
// round would cost up to WITNESS_BATCH_MAX_WAIT_MS and throughput would be
// capped at (entries per fetch) / (max wait), whatever Qdrant can take.
// Instead we separate the two positions Kafka keeps apart anyway:
//
// - the fetch position: eachBatch decodes a batch, pushes it into the shared
//   Batcher and resolves its offsets, so kafkajs fetches on at once;
// - the committed position: only the flush loop commits, and only after the
//   batch is acknowledged by Qdrant (upsert wait=true) and every dead letter of
//   it by the DLQ topic (acks=all). With autoCommit off kafkajs never commits
//   resolved offsets itself (runner.js gates every commit on autoCommit), so a
//   resolved offset is a read position, not a promise.
//
// Batches leave the Batcher in FIFO order and are flushed one at a time, so when
// a flush commits "partition p up to offset o" every earlier message of p was
// settled by this or an earlier flush: commits never run ahead of writes.
//
// Memory and backpressure: once what the Batcher holds plus the batch being
// written reaches WITNESS_MAX_BUFFERED_ENTRIES, the topic is paused and eachBatch
// waits (heartbeating) until the flushes bring it down to half, so fetching stops
// and the bound is the cap plus one fetched batch. Qdrant down means flushes
// retry without end and without committing; the service stays up, paused.
//
// Rebalances: kafkajs resets every fetch position to the committed offset when
// it rejoins (a new OffsetManager per generation), so on GROUP_JOIN the
// buffered, unwritten messages are dropped: they will be fetched again by
// whoever owns their partition now. Before giving partitions up we flush and
// commit what we hold: eachBatch heartbeats (also while it waits for room), and
// when the coordinator answers REBALANCE_IN_PROGRESS we flush everything
// (bounded) and commit while the group still accepts our generation, then let
// kafkajs rejoin. A rebalance that kafkajs notices first (its own heartbeat
// after an empty fetch, i.e. when idle) costs at most rewriting entries that
// were written but not committed: same point ids, same content, nothing twice
// that matters. Commits go only to partitions we still own, and never backwards.
import { performance } from 'node:perf_hooks';
import { EventEmitter } from 'node:events';
import { QdrantClient } from '@qdrant/js-client-rest';
import { createCodec, type DecodedWitnessEntry } from '@witnesslog/schemas';
import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage, Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Batcher } from './batcher.js';
import { ensureCollection } from './collection.js';
import { redactConfig, type ConsumerConfig } from './config.js';
import { createDeadLetterWriter, type DeadLetter } from './dead-letter.js';
import { AbortedError, EmptyMessageError } from './errors.js';
import { createKafka } from './kafka.js';
import { createMetrics, type ConsumerMetrics } from './metrics.js';
import { entryToPoint, type WitnessPoint } from './point.js';
import { createQdrantSink } from './qdrant-sink.js';
import { createRetry } from './retry.js';

export interface WitnessConsumerOptions {
  config: ConsumerConfig;
  /** The host's registry; the consumer registers its metrics (METRICS) into it. */
  registry: Registry;
  logger: Logger;
  /** Also register Node process metrics (CPU, memory, event loop, GC). Default false: the host decides. */
  processMetrics?: boolean;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read, as committed. */
  offset: string;
}

export interface FlushEvent {
  /** Messages in the batch (written plus dead-lettered). */
  size: number;
  written: number;
  deadLettered: number;
  durationMs: number;
  /** How long the oldest message of the batch waited in the buffer before the flush began. */
  waitedMs: number;
  committed: TopicPartitionOffset[];
}

export interface ConsumerEvents {
  flush: [FlushEvent];
  pause: [{ buffered: number }];
  resume: [{ buffered: number }];
  group_join: [{ assignment: Record<string, number[]>; generation: number }];
  /** An error the consumer cannot continue from; the host should close and exit non-zero. */
  fatal: [Error];
}

export interface ConsumerStatus {
  started: boolean;
  joined: boolean;
  closing: boolean;
  paused: boolean;
  buffered: number;
  qdrantReachable: boolean;
  assignment: Record<string, number[]>;
}

export interface CloseResult {
  /** True when everything fetched was written and committed before disconnecting. */
  drained: boolean;
}

export interface WitnessConsumer {
  /** Ensures the collection, connects, joins the group and starts consuming. Rejects on a wrong collection or unreachable Kafka. */
  start(): Promise<void>;
  /** Stops fetching, flushes and commits (bounded by shutdownTimeoutMs), disconnects. Safe to call more than once. */
  close(): Promise<CloseResult>;
  /** Joined the group, not closing, and Qdrant answers. */
  ready(): Promise<boolean>;
  status(): ConsumerStatus;
  on<E extends keyof ConsumerEvents>(event: E, listener: (...args: ConsumerEvents[E]) => void): () => void;
}

/** A message taken from the topic, decoded or not, until it is settled. */
interface Received {
  topic: string;
  partition: number;
  offset: string;
  /** On the last message of a fetched batch: the offset after the batch (past trailing control records). */
  batchEnd: string | undefined;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  arrivedAt: number;
  entry: DecodedWitnessEntry | undefined;
  failure: { reason: string; error: string } | undefined;
}

// Kept for kafkajs's disconnect (stop the fetch loop, leave the group) after a drain
// that used up its share of the shutdown time.
const DISCONNECT_RESERVE_MS = 5_000;
// Bound on the flush before partitions are handed over: the coordinator waits up to
// the rebalance timeout (60 s) for us to rejoin; keep well inside it.
const HANDOVER_FLUSH_MS = 20_000;
// kafkajs's long-poll wait; also how long a paused or stopping fetch loop sleeps.
const FETCH_MAX_WAIT_MS = 500;
const READY_CACHE_MS = 1_000;

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Waits for `promise` at most `ms`; the timer does not outlive the wait. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}

export function createWitnessConsumer({ config, registry, logger, processMetrics = false }: WitnessConsumerOptions): WitnessConsumer {
  const log = logger.child({ component: 'consumer', topic: config.topic, groupId: config.groupId });
  const metrics: ConsumerMetrics = createMetrics(registry, { processMetrics });
  const events = new EventEmitter();
  const codec = createCodec({ dim: config.embeddingDim });
  const retry = createRetry({ initialMs: config.retry.initialMs, maxMs: config.retry.maxMs });
  // `abort` cuts the retries of writes at the shutdown deadline; `startAbort` stops
  // waiting for Qdrant at start as soon as close() is called.
  const abort = new AbortController();
  const startAbort = new AbortController();

  const qdrantOptions = {
    url: config.qdrant.url,
    ...(config.qdrant.apiKey !== undefined ? { apiKey: config.qdrant.apiKey } : {}),
    checkCompatibility: false,
  };
  const qdrant = new QdrantClient({ ...qdrantOptions, timeout: config.qdrant.timeoutMs });
  // Readiness must answer quickly even when writes are allowed to take long.
  const probe = new QdrantClient({ ...qdrantOptions, timeout: 2_000 });
  const sink = createQdrantSink({ client: qdrant, collection: config.qdrant.collection, dim: config.embeddingDim, retry, metrics, logger });

  // kafkajs's advice: about a third of the session timeout; 3 s is its default.
  const heartbeatIntervalMs = Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3));
  const kafka = createKafka(config, logger);
  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
    sessionTimeout: config.sessionTimeoutMs,
    rebalanceTimeout: 60_000,
    heartbeatInterval: heartbeatIntervalMs,
  });
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  const deadLetters = createDeadLetterWriter({ producer, topic: config.dlqTopic, groupId: config.groupId, retry, metrics, logger });

  const batcher = new Batcher<Received>({ maxEntries: config.batch.maxEntries, maxWaitMs: config.batch.maxWaitMs });
  const resumeAt = Math.floor(config.batch.maxBufferedEntries / 2);

  let started = false;
  let running = false;
  let joined = false;
  let joins = 0;
  let generation = 0;
  let closing = false;
  let handingOver = false;
  let paused = false;
  let inFlight: Received[] | undefined;
  let flushLoopDone: Promise<void> | undefined;
  let startPromise: Promise<void> | undefined;
  let closePromise: Promise<CloseResult> | undefined;
  let assignment: Record<string, number[]> = {};
  let assigned = new Set<string>();
  /** Next offset we committed, per partition: commits never go backwards. */
  const committed = new Map<string, bigint>();
  /** High watermark of the last fetched batch, per partition, for the lag gauge. */
  const highWatermarks = new Map<string, bigint>();
  const flushWaiters = new Set<() => void>();
  let readyCache: { at: number; value: boolean } | undefined;

  const held = () => batcher.size + (inFlight?.length ?? 0);

  function emit<E extends keyof ConsumerEvents>(event: E, ...args: ConsumerEvents[E]): void {
    // Listeners are optional instrumentation: build nothing for nobody, and never let one break the pipeline.
    if (events.listenerCount(event) === 0) return;
    try {
      events.emit(event, ...args);
    } catch (err) {
      log.error({ err, event }, 'event listener threw');
    }
  }

  function updateBuffered(): void {
    metrics.buffered.set(held());
  }

  function pauseFetching(): void {
    if (paused) return;
    paused = true;
    try {
      consumer.pause([{ topic: config.topic }]);
    } catch (err) {
      log.debug({ err }, 'pause before the consumer runs');
    }
    if (!closing) {
      metrics.paused.set(1);
      metrics.pauses.inc();
      log.warn({ buffered: held(), cap: config.batch.maxBufferedEntries }, 'buffer full: fetching paused until Qdrant catches up');
      emit('pause', { buffered: held() });
    }
  }

  function maybeResume(): void {
    if (!paused || closing || held() > resumeAt) return;
    paused = false;
    try {
      consumer.resume([{ topic: config.topic }]);
    } catch (err) {
      log.debug({ err }, 'resume while the consumer is not running');
    }
    metrics.paused.set(0);
    log.info({ buffered: held() }, 'buffer drained: fetching resumed');
    emit('resume', { buffered: held() });
  }

  function setLag(topic: string, partition: number): void {
    const k = key(topic, partition);
    const hw = highWatermarks.get(k);
    const next = committed.get(k);
    if (hw === undefined || next === undefined) return;
    metrics.lag.set({ topic, partition: String(partition) }, Number(hw > next ? hw - next : 0n));
  }

  function receive(topic: string, partition: number, message: KafkaMessage, arrivedAt: number): Received {
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
      item.entry = codec.decode(message.value);
    } catch (err) {
      // Any failure to decode or validate makes this message poison, never the partition:
      // it goes to the dead-letter topic with the codec's stable code as the reason.
      const code = (err as { code?: unknown }).code;
      item.failure = { reason: typeof code === 'string' ? code : 'WITNESS_DECODE_FAILED', error: (err as Error).message ?? String(err) };
    }
    return item;
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (closing || handingOver || !isRunning() || isStale()) return;
    const { topic, partition, messages } = batch;
    const k = key(topic, partition);
    highWatermarks.set(k, BigInt(batch.highWatermark));
    const first = batch.firstOffset();
    if (!committed.has(k) && first !== null) {
      // Before our first commit the fetch started at the committed offset: the first one fetched.
      metrics.lag.set({ topic, partition: String(partition) }, Number(BigInt(batch.highWatermark) - BigInt(first)));
    }
    const now = Date.now();
    const items = new Array<Received>(messages.length);
    for (let i = 0; i < messages.length; i++) items[i] = receive(topic, partition, messages[i]!, now);
    const last = items[items.length - 1];
    if (last === undefined) return;
    last.batchEnd = (BigInt(batch.lastOffset()) + 1n).toString();
    batcher.push(items);
    metrics.entriesConsumed.inc(items.length);
    resolveOffset(last.offset);
    updateBuffered();

    if (held() >= config.batch.maxBufferedEntries) {
      // Full: hold kafkajs's fetch loop here until the flushes make room. Waiting in
      // the handler (rather than only pausing and returning) keeps the heartbeats
      // ours, so a rebalance during an outage is seen here and handed over properly.
      pauseFetching();
      while (paused && !closing && isRunning()) {
        await nextFlush(heartbeatIntervalMs);
        await heartbeatOrHandOver(heartbeat);
      }
      return;
    }
    await heartbeatOrHandOver(heartbeat);
  }

  async function heartbeatOrHandOver(heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat();
    } catch (err) {
      if ((err as { type?: unknown }).type === 'REBALANCE_IN_PROGRESS') await handOver();
      throw err;
    }
  }

  /** Resolves after the next flush, or after `ms`. */
  function nextFlush(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        flushWaiters.delete(done);
        resolve();
      }
      flushWaiters.add(done);
    });
  }

  /** The group is rebalancing and still accepts our commits: write and commit what we hold first. */
  async function handOver(): Promise<void> {
    if (handingOver || closing) return;
    handingOver = true;
    log.info({ buffered: held() }, 'rebalance: flushing and committing before giving partitions up');
    // We send no heartbeat meanwhile; stay well inside the session timeout.
    const drained = await drain(Math.min(HANDOVER_FLUSH_MS, config.sessionTimeoutMs / 2));
    if (!drained) log.warn({ buffered: held() }, 'rebalance: could not flush in time; the rest will be delivered again');
  }

  /** Flushes without waiting for batches to fill; true once nothing is held, false on timeout. */
  async function drain(timeoutMs: number): Promise<boolean> {
    batcher.setUrgent(true);
    try {
      const deadline = Date.now() + Math.max(0, timeoutMs);
      while (held() > 0) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await nextFlush(left);
      }
      return true;
    } finally {
      if (!closing) batcher.setUrgent(false);
    }
  }

  async function flushLoop(): Promise<void> {
    for (;;) {
      const items = await batcher.next();
      if (items === null) return;
      inFlight = items;
      try {
        await flush(items);
      } catch (err) {
        if (abort.signal.aborted || err instanceof AbortedError) {
          log.warn({ size: items.length }, 'flush abandoned at the shutdown deadline; its messages stay uncommitted');
          return;
        }
        // A bug, not a Qdrant or Kafka failure (those are retried inside): stop consuming
        // rather than commit past something that was not written.
        log.fatal({ err }, 'flush failed unexpectedly; consumption stops, nothing after this batch is committed');
        emit('fatal', err as Error);
        return;
      } finally {
        inFlight = undefined;
        updateBuffered();
        maybeResume();
        for (const wake of [...flushWaiters]) wake();
      }
    }
  }

  async function flush(items: Received[]): Promise<void> {
    const startedAt = performance.now();
    const waitedMs = Date.now() - items[0]!.arrivedAt;
    const points: WitnessPoint[] = [];
    const sources: Received[] = [];
    const letters: DeadLetter[] = [];
    for (const item of items) {
      if (item.entry) {
        points.push(entryToPoint(item.entry));
        sources.push(item);
      } else {
        letters.push(letter(item, item.failure?.reason ?? 'WITNESS_DECODE_FAILED', item.failure?.error ?? ''));
      }
    }
    const { rejected } = await sink.write(points, abort.signal);
    const rejectedIndexes = new Set<number>();
    for (const { index, error } of rejected) {
      rejectedIndexes.add(index);
      letters.push(letter(sources[index]!, error.code, error.message));
    }
    await deadLetters.send(letters, abort.signal);

    const byOutcome = new Map<string, { outcome: string; model: string; count: number }>();
    for (let i = 0; i < sources.length; i++) {
      if (rejectedIndexes.has(i)) continue;
      const entry = sources[i]!.entry!;
      observeRequest(entry);
      const outcome = entry.error === null ? 'success' : 'error';
      const k = `${outcome}/${entry.model_used}`;
      const counted = byOutcome.get(k);
      if (counted) counted.count += 1;
      else byOutcome.set(k, { outcome, model: entry.model_used, count: 1 });
    }
    for (const { outcome, model, count } of byOutcome.values()) metrics.requests.inc({ outcome, model }, count);
    const written = sources.length - rejected.length;
    if (written > 0) metrics.entriesUpserted.inc(written);

    const commits = await commit(items);
    const durationMs = performance.now() - startedAt;
    metrics.batchSize.observe(items.length);
    metrics.flushDuration.observe(durationMs / 1000);
    metrics.lastFlush.set(Date.now() / 1000);
    emit('flush', { size: items.length, written, deadLettered: letters.length, durationMs, waitedMs, committed: commits });
  }

  // Histograms of the witnessed requests themselves, for the LLM-requests dashboard.
  function observeRequest(entry: DecodedWitnessEntry): void {
    const { latency } = entry;
    metrics.llmLatency.observe({ component: 'embedding' }, latency.embedding_ms / 1000);
    metrics.llmLatency.observe({ component: 'retrieval' }, latency.retrieval_ms / 1000);
    metrics.llmLatency.observe({ component: 'routing' }, latency.routing_ms / 1000);
    metrics.llmLatency.observe({ component: 'attention' }, latency.attention_ms / 1000);
    metrics.llmLatency.observe({ component: 'generation' }, latency.generation_ms / 1000);
    metrics.llmLatency.observe({ component: 'total' }, latency.total_ms / 1000);
    metrics.llmQuality.observe(entry.quality_score);
  }

  function letter(item: Received, reason: string, error: string): DeadLetter {
    return {
      topic: item.topic,
      partition: item.partition,
      offset: item.offset,
      key: item.key,
      value: item.value,
      headers: item.headers,
      reason,
      error,
    };
  }

  async function commit(items: Received[]): Promise<TopicPartitionOffset[]> {
    // Walking backwards, the first message seen of each partition is its last: FIFO order.
    const next = new Map<string, { topic: string; partition: number; offset: bigint }>();
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      const k = key(item.topic, item.partition);
      if (next.has(k)) continue;
      next.set(k, { topic: item.topic, partition: item.partition, offset: BigInt(item.batchEnd ?? item.offset) + (item.batchEnd ? 0n : 1n) });
    }
    const offsets: TopicPartitionOffset[] = [];
    const keys: string[] = [];
    for (const [k, { topic, partition, offset }] of next) {
      if (!assigned.has(k)) {
        // Revoked while we wrote: its new owner reads from the last commit and rewrites the same points.
        metrics.commits.inc({ result: 'skipped_revoked' });
        continue;
      }
      const previous = committed.get(k);
      if (previous !== undefined && previous >= offset) continue;
      offsets.push({ topic, partition, offset: offset.toString() });
      keys.push(k);
    }
    if (offsets.length === 0) return offsets;
    try {
      await consumer.commitOffsets(offsets);
    } catch (err) {
      // Written but not committed: these entries will be delivered and upserted again, harmlessly.
      metrics.commits.inc({ result: 'failed' });
      log.warn({ err: (err as Error).message, offsets }, 'offset commit failed; the entries are written and will be delivered again');
      return [];
    }
    metrics.commits.inc({ result: 'ok' });
    for (let i = 0; i < offsets.length; i++) {
      committed.set(keys[i]!, BigInt(offsets[i]!.offset));
      setLag(offsets[i]!.topic, offsets[i]!.partition);
    }
    return offsets;
  }

  function onGroupJoin(memberAssignment: Record<string, number[]>): void {
    generation += 1;
    joins += 1;
    if (joins > 1) metrics.rebalances.inc();
    assignment = Object.fromEntries(Object.entries(memberAssignment).map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]));
    assigned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => key(t, p))));
    for (const k of [...highWatermarks.keys()]) {
      if (assigned.has(k)) continue;
      const [topic, partition] = k.split('\u0000') as [string, string];
      highWatermarks.delete(k);
      metrics.lag.remove({ topic, partition });
    }
    // kafkajs fetches every assigned partition again from its committed offset: what we
    // buffered but did not write will come back (here or at the new owner). Our record of
    // commits is no longer the broker's either; from now on it only guards against a
    // commit of an older in-flight batch being overtaken.
    const dropped = batcher.clear();
    committed.clear();
    handingOver = false;
    joined = true;
    updateBuffered();
    if (paused && !closing) {
      // A new consumer group object after a crash-restart starts unpaused; keep ours in step.
      paused = held() > resumeAt;
      if (paused) consumer.pause([{ topic: config.topic }]);
      else metrics.paused.set(0);
    }
    log.info({ generation, assignment, dropped: dropped.length }, 'joined the group');
    emit('group_join', { assignment, generation });
  }

  async function waitForQdrant(): Promise<void> {
    await retry(() => ensureCollection(qdrant, { collection: config.qdrant.collection, dim: config.embeddingDim, logger: log, options: config.qdrant.collectionOptions }), {
      signal: startAbort.signal,
      onRetry: (err, attempt, delayMs) => {
        if (attempt === 1 || attempt % 10 === 0) {
          log.warn({ err: (err as Error).message, attempt, retryInMs: delayMs }, 'waiting for Qdrant to create or check the collection');
        }
      },
    });
  }

  async function start(): Promise<void> {
    log.info({ config: redactConfig(config) }, 'starting');
    await waitForQdrant();
    if (closing) return;
    await producer.connect();
    await warnIfTopicMissing();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => onGroupJoin(payload.memberAssignment));
    consumer.on(consumer.events.REBALANCING, () => {
      joined = false;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      joined = false;
      if (!payload.restart && !closing) {
        log.fatal({ err: payload.error }, 'the Kafka consumer crashed and will not restart');
        emit('fatal', payload.error);
      }
    });
    await consumer.connect();
    // On a fresh broker the first metadata request auto-creates the topic and answers
    // "unknown topic" while it does (retriable): wait for it rather than fail the start.
    await retry(() => consumer.subscribe({ topic: config.topic, fromBeginning: true }), {
      signal: startAbort.signal,
      onRetry: (err, attempt, delayMs) => {
        if (attempt === 1 || attempt % 10 === 0) {
          log.warn({ err: (err as Error).message, attempt, retryInMs: delayMs, topic: config.topic }, 'waiting for the topic to be available');
        }
      },
    });
    if (closing) return;
    await consumer.run({
      eachBatch,
      eachBatchAutoResolve: false,
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
    });
    running = true;
    flushLoopDone = flushLoop();
  }

  async function warnIfTopicMissing(): Promise<void> {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const topics = new Set(await admin.listTopics());
      for (const topic of [config.topic, config.dlqTopic]) {
        if (!topics.has(topic)) log.warn({ topic }, 'topic does not exist yet (it will be auto-created if the broker allows it)');
      }
    } catch (err) {
      log.debug({ err }, 'could not list topics');
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async function close(): Promise<CloseResult> {
    closing = true;
    const deadline = Date.now() + config.shutdownTimeoutMs;
    log.info({ buffered: held() }, 'closing: stopping intake, flushing, committing');
    pauseFetching();
    startAbort.abort(new AbortedError('consumer closed during start'));
    // start() may still be connecting; let it finish (it checks `closing`) before tearing down.
    if (startPromise) await within(startPromise.catch(() => {}), deadline - Date.now() - DISCONNECT_RESERVE_MS);
    let drained = held() === 0;
    if (running) {
      const reserve = Math.min(DISCONNECT_RESERVE_MS, config.shutdownTimeoutMs / 5);
      drained = await drain(deadline - Date.now() - reserve);
      if (!drained) log.warn({ buffered: held() }, 'shutdown deadline: the rest stays uncommitted and will be delivered again');
    }
    abort.abort(new AbortedError('consumer closed'));
    batcher.close();
    if (flushLoopDone) await flushLoopDone;
    const left = () => Math.max(1000, deadline - Date.now());
    await within(consumer.disconnect().catch((err) => log.warn({ err }, 'consumer disconnect failed')), left());
    await within(producer.disconnect().catch((err) => log.warn({ err }, 'producer disconnect failed')), left());
    joined = false;
    running = false;
    metrics.paused.set(0);
    log.info({ drained }, 'closed');
    return { drained };
  }

  return {
    start() {
      if (closing) return Promise.reject(new AbortedError('consumer is closed'));
      started = true;
      startPromise ??= start();
      return startPromise;
    },
    close() {
      closePromise ??= close();
      return closePromise;
    },
    async ready() {
      if (!joined || closing || !running) return false;
      const now = Date.now();
      if (readyCache && now - readyCache.at < READY_CACHE_MS) return readyCache.value;
      let value: boolean;
      try {
        value = (await probe.collectionExists(config.qdrant.collection)).exists;
      } catch {
        value = false;
      }
      readyCache = { at: now, value };
      return value;
    },
    status() {
      return {
        started,
        joined,
        closing,
        paused,
        buffered: held(),
        qdrantReachable: sink.reachable,
        assignment,
      };
    },
    on(event, listener) {
      events.on(event, listener as (...args: unknown[]) => void);
      return () => events.off(event, listener as (...args: unknown[]) => void);
    },
  };
}
