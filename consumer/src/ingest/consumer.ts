// The witness consumer: topic -> Qdrant, with nothing lost on the way. Every
// message ends up written to Qdrant, written to the dead-letter topic with a
// reason, or still uncommitted in Kafka (and so delivered again).
//
// This file is the wiring and the lifecycle; the work is done by collaborators
// that take their clients as arguments, so each can be driven by small fakes:
// - intake.ts: receive, decode, buffer, pause at the cap (the fetch position);
// - flush.ts: one batch through points -> Qdrant sink -> dead letters -> commit;
// - ledger.ts: what is ours and what was committed (the committed position);
// - kafka.ts / qdrant.ts: the clients, behind interfaces of our own.
//
// Why eachBatch does not await the flush that holds its messages: kafkajs runs
// one fetch loop per broker (fetch, hand the batches to eachBatch, wait for every
// handler, fetch again). If handlers waited for their flush, a partial batch could
// only be flushed by the max-wait timer, so every fetch round would cost up to
// WITNESS_BATCH_MAX_WAIT_MS whatever Qdrant can take. So the fetch position moves
// at once, and only the flush loop commits, after the write.
//
// Rebalances: kafkajs resets every fetch position to the committed offset when it
// rejoins (a new OffsetManager per generation), so on a join the buffered,
// unwritten messages are dropped: they will be fetched again by whoever owns
// their partition now. Before giving partitions up we flush and commit what we
// hold: when a heartbeat answers REBALANCE_IN_PROGRESS (intake.ts) we flush
// everything (bounded) and commit while the group still accepts our generation,
// then let kafkajs rejoin. A rebalance kafkajs notices first (its own heartbeat
// when idle) costs at most rewriting entries that were written but not
// committed: same point ids, same content, nothing twice that matters.
//
// Qdrant down means flushes retry without end and without committing; the service stays up, paused.
import { EventEmitter } from 'node:events';
import { createCodec } from '@witnesslog/schemas';
import { createRetry } from '@witnesslog/core';
import { Batcher } from './batcher.js';
import { ensureCollections } from '../store/checkpoints.js';
import { redactConfig, type ConsumerConfig } from '../config.js';
import { createDeadLetterWriter } from './dead-letter.js';
import { AbortedError } from '../errors.js';
import { createFlushLoop } from './flush-loop.js';
import { createFlushPipeline } from './flush.js';
import { createIntake, type Received } from './intake.js';
import { createKafka } from './kafka.js';
import { createCommitLedger } from './ledger.js';
import { createMetrics } from './metrics.js';
import { createQdrantSink } from './qdrant-sink.js';
import { createStages } from './stages.js';
import { createQdrantClient } from '../store/qdrant.js';
import { within } from './within.js';
import type { CloseResult, ConsumerEvents, WitnessConsumer, WitnessConsumerOptions } from './types.js';

// Kept for kafkajs's disconnect (stop the fetch loop, leave the group) after a drain
// that used up its share of the shutdown time.
const DISCONNECT_RESERVE_MS = 5_000;
// Bound on the flush before partitions are handed over: the coordinator waits up to
// the rebalance timeout (60 s) for us to rejoin; keep well inside it.
const HANDOVER_FLUSH_MS = 20_000;
// kafkajs's long-poll wait; also how long a paused or stopping fetch loop sleeps.
const FETCH_MAX_WAIT_MS = 500;
const READY_CACHE_MS = 1_000;
// Readiness must answer quickly even when writes are allowed to take long.
const PROBE_TIMEOUT_MS = 2_000;

// Plain wiring and the lifecycle (start, hand-over, drain, close); the work is in the collaborators.
export function createWitnessConsumer(options: WitnessConsumerOptions): WitnessConsumer {
  const { config, registry, logger, processMetrics = false, now = Date.now } = options;
  const log = logger.child({ component: 'consumer', topic: config.topic, groupId: config.groupId });
  const metrics = createMetrics(registry, { processMetrics });
  const events = new EventEmitter();
  const retry = createRetry({ initialMs: config.retry.initialMs, maxMs: config.retry.maxMs });
  // `startAbort` stops waiting for Qdrant at start as soon as close() is called.
  const startAbort = new AbortController();

  const qdrant = options.qdrant ?? {
    writer: createQdrantClient(config.qdrant),
    probe: createQdrantClient({ ...config.qdrant, timeoutMs: PROBE_TIMEOUT_MS }),
  };
  const sink = createQdrantSink({ client: qdrant.writer, collection: config.qdrant.collection, dim: config.embeddingDim, collectionOptions: config.qdrant.collectionOptions, retry, metrics, logger });

  // kafkajs's advice: about a third of the session timeout; 3 s is its default.
  const heartbeatIntervalMs = Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3));
  const kafka = options.kafka ?? createKafka(config, logger);
  const consumer = kafka.groupConsumer({
    groupId: config.groupId,
    sessionTimeoutMs: config.sessionTimeoutMs,
    heartbeatIntervalMs,
    maxWaitMs: FETCH_MAX_WAIT_MS,
  });
  const producer = kafka.producer();
  const deadLetters = createDeadLetterWriter({ producer, topic: config.dlqTopic, groupId: config.groupId, retry, metrics, logger });

  const batcher = new Batcher<Received>({ maxEntries: config.batch.maxEntries, maxWaitMs: config.batch.maxWaitMs });
  const ledger = createCommitLedger({ consumer, metrics, logger: log });
  const flushLoop = createFlushLoop({
    batcher,
    flush: createFlushPipeline({ sink, deadLetters, ledger, metrics, now, stages: createStages({ config, client: qdrant.writer, retry, metrics, logger: log }) }),
    logger: log,
    now,
    closing: () => closing,
    onFlushed(event) {
      emit('flush', event);
    },
    onSettled() {
      metrics.buffered.set(held());
      intake.maybeResume();
    },
    onFatal: (err) => emit('fatal', err),
  });

  let started = false;
  let running = false;
  let joined = false;
  let joins = 0;
  let generation = 0;
  let closing = false;
  let handingOver = false;
  let startPromise: Promise<void> | undefined;
  let closePromise: Promise<CloseResult> | undefined;
  let readyCache: { at: number; value: boolean } | undefined;

  const held = () => batcher.size + flushLoop.inFlight;

  const intake = createIntake({
    topic: config.topic,
    codec: createCodec({ dim: config.embeddingDim, ...(options.schemaVersions ? { reader: options.schemaVersions.at(-1), writers: options.schemaVersions } : {}) }),
    batcher,
    cap: config.batch.maxBufferedEntries,
    consumer,
    ledger,
    metrics,
    logger: log,
    heartbeatIntervalMs,
    held,
    stopped: () => ({ closing, handingOver }),
    nextFlush: (ms) => flushLoop.nextFlush(ms),
    handOver,
    onPause: (buffered) => emit('pause', { buffered }),
    onResume: (buffered) => emit('resume', { buffered }),
    now,
  });

  function emit<E extends keyof ConsumerEvents>(event: E, ...args: ConsumerEvents[E]): void {
    // Listeners are optional instrumentation: build nothing for nobody, and never let one break the pipeline.
    if (events.listenerCount(event) === 0) return;
    try {
      events.emit(event, ...args);
    } catch (err) {
      log.error({ err, event }, 'event listener threw');
    }
  }

  /** The group is rebalancing and still accepts our commits: write and commit what we hold first. */
  async function handOver(): Promise<void> {
    if (handingOver || closing) return;
    handingOver = true;
    log.info({ buffered: held() }, 'rebalance: flushing and committing before giving partitions up');
    // We send no heartbeat meanwhile; stay well inside the session timeout.
    const drained = await flushLoop.drain(Math.min(HANDOVER_FLUSH_MS, config.sessionTimeoutMs / 2));
    if (!drained) log.warn({ buffered: held() }, 'rebalance: could not flush in time; the rest will be delivered again');
  }

  function onGroupJoin(memberAssignment: Record<string, number[]>): void {
    generation += 1;
    joins += 1;
    if (joins > 1) metrics.rebalances.inc();
    ledger.joined(memberAssignment);
    // kafkajs fetches every assigned partition again from its committed offset: what we
    // buffered but did not write will come back (here or at the new owner).
    const dropped = batcher.clear();
    handingOver = false;
    joined = true;
    metrics.buffered.set(held());
    intake.rejoined();
    const assignment = ledger.assignment;
    log.info({ generation, assignment, dropped: dropped.length }, 'joined the group');
    emit('group_join', { assignment, generation });
  }

  async function waitFor(what: string, fn: () => Promise<void>, context: Record<string, unknown> = {}): Promise<void> {
    await retry(fn, {
      signal: startAbort.signal,
      onRetry: (err, attempt, delayMs) => {
        if (attempt === 1 || attempt % 10 === 0) log.warn({ err: (err as Error).message, attempt, retryInMs: delayMs, ...context }, what);
      },
    });
  }

  async function start(): Promise<void> {
    log.info({ config: redactConfig(config) }, 'starting');
    await waitFor('waiting for Qdrant to create or check the collections', () =>
      ensureCollections(qdrant.writer, { collection: config.qdrant.collection, dim: config.embeddingDim, logger: log, options: config.qdrant.collectionOptions }),
    );
    if (closing) return;
    await producer.connect();
    await warnIfTopicMissing();
    consumer.on('groupJoin', onGroupJoin);
    consumer.on('rebalancing', () => {
      joined = false;
    });
    consumer.on('crash', (error, restart) => {
      joined = false;
      if (!restart && !closing) {
        log.fatal({ err: error }, 'the Kafka consumer crashed and will not restart');
        emit('fatal', error);
      }
    });
    await consumer.connect();
    // On a fresh broker the first metadata request auto-creates the topic and answers
    // "unknown topic" while it does (retriable): wait for it rather than fail the start.
    await waitFor('waiting for the topic to be available', () => consumer.subscribe(config.topic), { topic: config.topic });
    if (closing) return;
    await consumer.run((batch, control) => intake.eachBatch(batch, control));
    running = true;
    flushLoop.start();
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
    const deadline = now() + config.shutdownTimeoutMs;
    log.info({ buffered: held() }, 'closing: stopping intake, flushing, committing');
    intake.pause();
    startAbort.abort(new AbortedError('consumer closed during start'));
    // start() may still be connecting; let it finish (it checks `closing`) before tearing down.
    if (startPromise) await within(startPromise.catch(() => {}), deadline - now() - DISCONNECT_RESERVE_MS);
    let drained = held() === 0;
    if (running) {
      const reserve = Math.min(DISCONNECT_RESERVE_MS, config.shutdownTimeoutMs / 5);
      drained = await flushLoop.drain(deadline - now() - reserve);
      if (!drained) log.warn({ buffered: held() }, 'shutdown deadline: the rest stays uncommitted and will be delivered again');
    }
    // Cuts the retries of the flush in progress: what it held stays uncommitted.
    await flushLoop.stop(new AbortedError('consumer closed'));
    const left = () => Math.max(1000, deadline - now());
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
      // Dead letters failing past their retry bound: nothing is committed, say so (issue 13 finding 2).
      if (deadLetters.stalled !== undefined) return false;
      const at = now();
      if (readyCache && at - readyCache.at < READY_CACHE_MS) return readyCache.value;
      let value: boolean;
      try {
        value = (await qdrant.probe.collectionExists(config.qdrant.collection)).exists;
      } catch {
        value = false;
      }
      readyCache = { at, value };
      return value;
    },
    status() {
      return {
        started,
        joined,
        closing,
        paused: intake.paused,
        buffered: held(),
        qdrantReachable: sink.reachable,
        ...(deadLetters.stalled !== undefined ? { deadLetterStalled: deadLetters.stalled } : {}),
        assignment: ledger.assignment,
      };
    },
    on(event, listener) {
      events.on(event, listener as (...args: unknown[]) => void);
      return () => events.off(event, listener as (...args: unknown[]) => void);
    },
  };
}
