// The producer's Prometheus metrics, registered only into the Registry the host
// application passes in. Counters and gauges are read from the producer's own counts
// at scrape time (collect), so record() touches no prom-client code and the metrics
// can never disagree with stats().
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { WitnessedModel } from './counts.js';
import { InvalidOptionError } from './errors.js';

/** Every metric name the producer exports; the dashboards and the tests read this table. */
export const producerMetricNames = Object.freeze({
  /** Entries accepted by record()/recordBatch()/recordCritical(). */
  entriesRecorded: 'witness_producer_entries_recorded_total',
  /**
   * Accepted entries by the outcome of the LLM request they witness (`outcome` = success
   * | error: whether the entry carries an error), not by what happened to the entry, and
   * by `model` (model_used: tiny | small | medium | large). Scraped from the serving
   * nodes, it is the error rate the page reads even when Kafka or the consumer is down.
   */
  requestsWitnessed: 'witness_producer_witnessed_requests_total',
  /** Entries the broker acknowledged (acks=all). */
  entriesDelivered: 'witness_producer_entries_delivered_total',
  /**
   * Entries given up, by `reason`: queue_full, invalid, closed, sampled_out (sampleRate), redact_failed
   * (the redact hook threw) (never accepted), send_failed (accepted, then refused by the broker).
   */
  entriesDropped: 'witness_producer_entries_dropped_total',
  /** Entries held: queued or in a produce request not yet acknowledged. */
  queueEntries: 'witness_producer_queue_entries',
  /** Encoded bytes held. */
  queueBytes: 'witness_producer_queue_bytes',
  /** Entries per produce request. */
  batchEntries: 'witness_producer_batch_entries',
  /** Encoded bytes per produce request, before compression. */
  batchBytes: 'witness_producer_batch_bytes',
  /** Time of one produce request, from send to acknowledgement or failure. */
  sendDuration: 'witness_producer_send_duration_seconds',
  /** recordCritical(): from the call to the broker's acknowledgement. */
  criticalWriteDuration: 'witness_producer_critical_write_duration_seconds',
  /** Failed produce requests, by `error` (Kafka error type or client error name) and `retriable`. */
  sendErrors: 'witness_producer_send_errors_total',
  /** 1 while the last exchange with the broker succeeded. */
  connected: 'witness_producer_connected',
});

export const dropReasons = ['queue_full', 'invalid', 'send_failed', 'closed', 'sampled_out', 'redact_failed'] as const;
export type DropReason = (typeof dropReasons)[number];

/** What the collectors read at scrape time. */
export interface MetricSource {
  recorded: number;
  success: number;
  error: number;
  witnessed: Readonly<Record<WitnessedModel, { success: number; error: number }>>;
  delivered: number;
  dropped: Readonly<Record<DropReason, number>>;
  pending: number;
  pendingBytes: number;
  connected: boolean;
}

export interface ProducerMetrics {
  observeSend(entries: number, bytes: number, seconds: number): void;
  observeCritical(seconds: number): void;
  countSendError(error: string, retriable: boolean): void;
}

const noMetrics: ProducerMetrics = { observeSend() {}, observeCritical() {}, countSendError() {} };

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];
const BYTES_BUCKETS = [4096, 16_384, 65_536, 262_144, 524_288, 1_048_576, 4_194_304];

// Plain wiring: one declaration per metric of producer/metrics.json, nothing else.
export function createProducerMetrics(registry: Registry | undefined, source: () => MetricSource): ProducerMetrics {
  if (registry === undefined) return noMetrics;
  const taken = Object.values(producerMetricNames).find((name) => registry.getSingleMetric(name) !== undefined);
  if (taken !== undefined) {
    // Each producer's counters are its own; two producers cannot share the series.
    throw new InvalidOptionError('registry', `a Registry that already holds ${taken}`, 'a Registry without witness_producer_ metrics (one producer per Registry)');
  }
  const registers = [registry];

  // Counter has no set(); reset-then-inc at scrape copies our absolute count.
  const copy = (c: Counter, value: number) => {
    c.reset();
    c.inc(value);
  };
  new Counter({
    name: producerMetricNames.entriesRecorded,
    help: 'Witness entries accepted by the producer',
    registers,
    collect() {
      copy(this, source().recorded);
    },
  });
  new Counter({
    name: producerMetricNames.requestsWitnessed,
    help: 'Accepted witness entries by the outcome of the LLM request they record (error = the entry carries an error)',
    labelNames: ['outcome', 'model'] as const,
    registers,
    collect() {
      const { witnessed } = source();
      this.reset();
      for (const [model, n] of Object.entries(witnessed)) {
        // `other` only appears if it ever counted something (it cannot after validation).
        if (model === 'other' && n.success + n.error === 0) continue;
        this.inc({ outcome: 'success', model }, n.success);
        this.inc({ outcome: 'error', model }, n.error);
      }
    },
  });
  new Counter({
    name: producerMetricNames.entriesDelivered,
    help: 'Witness entries acknowledged by the broker (acks=all)',
    registers,
    collect() {
      copy(this, source().delivered);
    },
  });
  new Counter({
    name: producerMetricNames.entriesDropped,
    help: 'Witness entries given up, by reason',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      const { dropped } = source();
      this.reset();
      for (const reason of dropReasons) this.inc({ reason }, dropped[reason]);
    },
  });
  new Gauge({
    name: producerMetricNames.queueEntries,
    help: 'Witness entries held by the producer (queued or in flight)',
    registers,
    collect() {
      this.set(source().pending);
    },
  });
  new Gauge({
    name: producerMetricNames.queueBytes,
    help: 'Encoded bytes of the witness entries held by the producer',
    registers,
    collect() {
      this.set(source().pendingBytes);
    },
  });
  new Gauge({
    name: producerMetricNames.connected,
    help: '1 while the last exchange with the broker succeeded',
    registers,
    collect() {
      this.set(source().connected ? 1 : 0);
    },
  });
  const batchEntries = new Histogram({
    name: producerMetricNames.batchEntries,
    help: 'Witness entries per produce request',
    buckets: BATCH_BUCKETS,
    registers,
  });
  const batchBytes = new Histogram({
    name: producerMetricNames.batchBytes,
    help: 'Encoded bytes per produce request, before compression',
    buckets: BYTES_BUCKETS,
    registers,
  });
  const sendDuration = new Histogram({
    name: producerMetricNames.sendDuration,
    help: 'Duration of one produce request, until acknowledgement or failure',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const criticalWriteDuration = new Histogram({
    name: producerMetricNames.criticalWriteDuration,
    help: 'recordCritical(): from the call to the broker acknowledgement',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const sendErrors = new Counter({
    name: producerMetricNames.sendErrors,
    help: 'Failed produce requests, by error and whether it is retried',
    labelNames: ['error', 'retriable'] as const,
    registers,
  });

  return {
    observeSend(entries, bytes, seconds) {
      batchEntries.observe(entries);
      batchBytes.observe(bytes);
      sendDuration.observe(seconds);
    },
    observeCritical(seconds) {
      criticalWriteDuration.observe(seconds);
    },
    countSendError(error, retriable) {
      sendErrors.inc({ error, retriable: retriable ? 'true' : 'false' });
    },
  };
}
