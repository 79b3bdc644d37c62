// The consumer's Prometheus metrics. Names live in one exported table that the
// Grafana dashboards, the alert rules and the tests read too; the host owns the
// Registry and passes it in, so nothing registers into a hidden global.
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

export const METRICS = {
  entriesConsumed: {
    name: 'witness_entries_consumed_total',
    help: 'Messages taken from the witness topic (decodable or not), before any write.',
    labelNames: [],
  },
  entriesUpserted: {
    name: 'witness_entries_upserted_total',
    help: 'Entries Qdrant acknowledged (upsert with wait=true). Redeliveries after a crash count again.',
    labelNames: [],
  },
  entriesDeadLettered: {
    name: 'witness_entries_dead_lettered_total',
    help: 'Messages written to the dead-letter topic, by reason code.',
    labelNames: ['reason'],
  },
  requests: {
    name: 'witness_llm_requests_total',
    help: 'Witnessed LLM requests written to Qdrant, by outcome (success/error) and model used: the error rate of the serving fleet itself.',
    labelNames: ['outcome', 'model'],
  },
  llmLatency: {
    name: 'witness_llm_latency_seconds',
    help: 'Latency of the witnessed LLM requests written to Qdrant, by pipeline component (embedding, retrieval, routing, attention, generation, total).',
    labelNames: ['component'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
  llmQuality: {
    name: 'witness_llm_quality_score',
    help: 'Quality score (0..1) of the witnessed LLM requests written to Qdrant; 0 means not scored.',
    labelNames: [],
    buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
  },
  batchSize: {
    name: 'witness_flush_batch_entries',
    help: 'Messages per flush (entries written plus dead letters).',
    labelNames: [],
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
  },
  flushDuration: {
    name: 'witness_flush_duration_seconds',
    help: 'Time from taking a batch to having it written, dead-lettered and committed, retries included.',
    labelNames: [],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
  qdrantWriteErrors: {
    name: 'witness_qdrant_write_errors_total',
    help: 'Failed Qdrant write requests, by kind (network, timeout, server, throttled, unauthorized, collection_missing, rejected).',
    labelNames: ['kind'],
  },
  qdrantWriteRetries: {
    name: 'witness_qdrant_write_retries_total',
    help: 'Qdrant writes retried after a transient failure, by kind.',
    labelNames: ['kind'],
  },
  qdrantWaiting: {
    name: 'witness_qdrant_waiting',
    help: '1 while a write is waiting for Qdrant to come back (retrying), else 0.',
    labelNames: [],
  },
  deadLetterErrors: {
    name: 'witness_dead_letter_write_errors_total',
    help: 'Failed writes to the dead-letter topic (each is retried; the offset does not move past it).',
    labelNames: [],
  },
  deadLettersReduced: {
    name: 'witness_dead_letters_reduced_total',
    help: 'Dead letters written without their value (or headers, or key) because the whole would not fit the dead-letter topic, by reason code.',
    labelNames: ['reason'],
  },
  deadLetterStalled: {
    name: 'witness_dead_letter_stalled',
    help: '1, labelled with the error type, while dead letters have failed past the retry bound (the consumer is unready and still retrying); no series otherwise.',
    labelNames: ['reason'],
  },
  entriesConflicting: {
    name: 'witness_entries_conflicting_total',
    help: 'Entries not applied because their request_id is already stored (or earlier in the batch) with different content, by reason code; each is dead-lettered.',
    labelNames: ['reason'],
  },
  commits: {
    name: 'witness_offset_commits_total',
    help: 'Offset commits, by result (ok, failed, skipped_revoked).',
    labelNames: ['result'],
  },
  buffered: {
    name: 'witness_buffered_entries',
    help: 'Messages held in memory: fetched and not yet written and committed.',
    labelNames: [],
  },
  paused: {
    name: 'witness_consumer_paused',
    help: '1 while fetching is paused because the buffer is full (backpressure), else 0.',
    labelNames: [],
  },
  pauses: {
    name: 'witness_consumer_pauses_total',
    help: 'Times fetching was paused because the buffer was full.',
    labelNames: [],
  },
  lag: {
    name: 'witness_consumer_lag_entries',
    help: 'Per partition: high watermark seen in the last fetch minus the next offset to commit.',
    labelNames: ['topic', 'partition'],
  },
  lastFlush: {
    name: 'witness_last_flush_timestamp_seconds',
    help: 'Unix time of the last flush that was written and committed.',
    labelNames: [],
  },
  rebalances: {
    name: 'witness_rebalances_total',
    help: 'Group joins after the first (rebalances), as seen by this instance.',
    labelNames: [],
  },
  entriesUnaccounted: {
    name: 'witness_entries_unaccounted',
    help: 'Per producer service: entries the last scheduled audit (WITNESS_AUDIT_INTERVAL) found neither stored, dead-lettered, dropped at the source nor in flight.',
    labelNames: ['service'],
  },
} as const;

export type MetricKey = keyof typeof METRICS;
/** Every metric name of the table; the tests check that /metrics exposes each. */
export const METRIC_NAMES: readonly string[] = Object.values(METRICS).map((m) => m.name);

export interface ConsumerMetrics {
  entriesConsumed: Counter;
  entriesUpserted: Counter;
  entriesDeadLettered: Counter<'reason'>;
  requests: Counter<'outcome' | 'model'>;
  llmLatency: Histogram<'component'>;
  llmQuality: Histogram;
  batchSize: Histogram;
  flushDuration: Histogram;
  qdrantWriteErrors: Counter<'kind'>;
  qdrantWriteRetries: Counter<'kind'>;
  qdrantWaiting: Gauge;
  deadLetterErrors: Counter;
  deadLettersReduced: Counter<'reason'>;
  deadLetterStalled: Gauge<'reason'>;
  entriesConflicting: Counter<'reason'>;
  commits: Counter<'result'>;
  buffered: Gauge;
  paused: Gauge;
  pauses: Counter;
  lag: Gauge<'topic' | 'partition'>;
  lastFlush: Gauge;
  rebalances: Counter;
  entriesUnaccounted: Gauge<'service'>;
}

/**
 * Registers the consumer's metrics into `registry`. With `processMetrics` the
 * Node process metrics (CPU, memory, event loop lag, GC) are registered too;
 * main.ts asks for them, a host that already collects them does not.
 */
export function createMetrics(registry: Registry, { processMetrics = false }: { processMetrics?: boolean } = {}): ConsumerMetrics {
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = <L extends string>(m: { name: string; help: string; labelNames: readonly L[] }) =>
    new Counter<L>({ name: m.name, help: m.help, labelNames: m.labelNames, registers });
  const gauge = <L extends string>(m: { name: string; help: string; labelNames: readonly L[] }) =>
    new Gauge<L>({ name: m.name, help: m.help, labelNames: m.labelNames, registers });
  const histogram = <L extends string>(m: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[] }) =>
    new Histogram<L>({ name: m.name, help: m.help, labelNames: m.labelNames, buckets: [...m.buckets], registers });

  const metrics: ConsumerMetrics = {
    entriesConsumed: counter(METRICS.entriesConsumed),
    entriesUpserted: counter(METRICS.entriesUpserted),
    entriesDeadLettered: counter(METRICS.entriesDeadLettered),
    requests: counter(METRICS.requests),
    llmLatency: histogram(METRICS.llmLatency),
    llmQuality: histogram(METRICS.llmQuality),
    batchSize: histogram(METRICS.batchSize),
    flushDuration: histogram(METRICS.flushDuration),
    qdrantWriteErrors: counter(METRICS.qdrantWriteErrors),
    qdrantWriteRetries: counter(METRICS.qdrantWriteRetries),
    qdrantWaiting: gauge(METRICS.qdrantWaiting),
    deadLetterErrors: counter(METRICS.deadLetterErrors),
    deadLettersReduced: counter(METRICS.deadLettersReduced),
    deadLetterStalled: gauge(METRICS.deadLetterStalled),
    entriesConflicting: counter(METRICS.entriesConflicting),
    commits: counter(METRICS.commits),
    buffered: gauge(METRICS.buffered),
    paused: gauge(METRICS.paused),
    pauses: counter(METRICS.pauses),
    lag: gauge(METRICS.lag),
    lastFlush: gauge(METRICS.lastFlush),
    rebalances: counter(METRICS.rebalances),
    entriesUnaccounted: gauge(METRICS.entriesUnaccounted),
  };
  // Gauges without labels start at 0 so they are exposed (and graphable) before the first event.
  metrics.qdrantWaiting.set(0);
  metrics.buffered.set(0);
  metrics.paused.set(0);
  metrics.lastFlush.set(0);
  return metrics;
}
