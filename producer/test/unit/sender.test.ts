// The send loop (sender.ts, held.ts) against a fake Kafka client
// (test/support/fake-kafka-producer.ts): what it does with each kind of failure, and
// that every entry it took is settled exactly once and counted, in stats() and in
// the metrics. Backoffs are 1-2 ms and the flush timeout 50 ms where it matters, so
// nothing here waits long; the same paths against a real broker are in
// producer/test/integration (broker-outage, send-failed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { FlushTimeoutError, ProducerClosedError, SendFailedError, type WitnessProducerOptions } from '@witnesslog/producer';
import { createWitnessProducerWith } from '../../src/producer.js';
import { decodeCheckpoint } from '@witnesslog/schemas';
import { entry } from '../../../test/support/entries.js';
import { FakeKafka, protocolError, unreachable } from '../../../test/support/fake-kafka-producer.js';

const DIM = 8;

function producerOn(kafka: FakeKafka, options: WitnessProducerOptions = {}) {
  const registry = new Registry();
  const producer = createWitnessProducerWith(
    { brokers: ['fake:9092'], env: {}, registry, embeddingDim: DIM, lingerMs: 0, retryInitialMs: 1, retryMaxMs: 2, ...options },
    { kafka },
  );
  return { producer, registry };
}

/** Records n entries (sessions s0…) and checks each was accepted; returns their keys. */
function recordMany(producer: { record(e: unknown): boolean }, n: number, from = 0): string[] {
  const keys: string[] = [];
  for (let i = from; i < from + n; i++) {
    assert.equal(producer.record(entry(`s${i}`, { dim: DIM })), true);
    keys.push(`s${i}`);
  }
  return keys;
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** A counter's value for these labels (0 when the series does not exist). */
async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, name);
  const values = metric.values as MetricValue[];
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return hit?.value ?? 0;
}

/** How many observations a histogram holds. */
async function observations(registry: Registry, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  assert.ok(metric, name);
  return (metric.values as MetricValue[]).find((v) => v.metricName === `${name}_count`)?.value ?? 0;
}

const sendErrors = 'witness_producer_send_errors_total';
const dropped = 'witness_producer_entries_dropped_total';
const delivered = 'witness_producer_entries_delivered_total';

test('a retriable send error: the same batch is resent through the same producer until acknowledged', async () => {
  const kafka = new FakeKafka();
  kafka.failSend = (attempt) => (attempt <= 2 ? unreachable() : undefined);
  const { producer, registry } = producerOn(kafka);
  const keys = recordMany(producer, 3);
  await producer.flush();

  assert.deepEqual(
    kafka.requests.map((r) => [r.producer, r.keys]),
    [
      [1, keys],
      [1, keys],
      [1, keys],
    ],
  );
  assert.equal(kafka.acknowledged.length, 1);
  assert.equal(kafka.producers.length, 1, 'a retriable error does not reset the producer');
  const stats = producer.stats();
  assert.equal(stats.delivered, 3);
  assert.equal(stats.pending, 0);
  assert.equal(stats.dropped.send_failed, 0);
  assert.equal(stats.connected, true);
  assert.equal(await counter(registry, sendErrors, { error: 'KafkaJSConnectionError', retriable: 'true' }), 2);
  assert.equal(await observations(registry, 'witness_producer_send_duration_seconds'), 3);
  assert.equal(await counter(registry, delivered, {}), 3);
  await producer.close();
  assert.equal(kafka.producers[0]!.disconnects, 1);
});

test('an unreachable broker at connect: retried with backoff, nothing dropped, then delivered', async () => {
  const kafka = new FakeKafka();
  kafka.failConnect = (attempt) => (attempt <= 3 ? unreachable() : undefined);
  const { producer, registry } = producerOn(kafka);
  recordMany(producer, 2);
  await kafka.until(() => kafka.connectAttempts >= 2);
  assert.equal(producer.stats().connected, false);
  assert.equal(producer.stats().pending, 2);
  await producer.flush();

  assert.equal(kafka.connectAttempts, 4);
  assert.equal(kafka.requests.length, 1);
  assert.equal(producer.stats().delivered, 2);
  assert.equal(producer.stats().connected, true);
  assert.equal(await counter(registry, sendErrors, { error: 'KafkaJSConnectionError', retriable: 'true' }), 3);
  await producer.close();
});

test('a request too large for the broker is split in halves until each part fits, in order', async () => {
  const kafka = new FakeKafka();
  const { producer, registry } = producerOn(kafka);
  // One entry first, to learn what an entry weighs on the wire.
  recordMany(producer, 1, 100);
  await producer.flush();
  const size = kafka.acknowledged[0]!.bytes;
  kafka.maxRequestBytes = Math.floor(size * 2.5); // two entries fit, three do not

  const keys = recordMany(producer, 5);
  await producer.flush();
  // 5 refused -> 3 + 2; 3 refused -> 2 + 1; then 2, 1, 2 acknowledged.
  assert.deepEqual(
    kafka.requests.slice(1).map((r) => r.keys.length),
    [5, 3, 2, 1, 2],
  );
  assert.deepEqual(
    kafka.acknowledged.slice(1).flatMap((r) => r.keys),
    keys,
  );
  assert.equal(kafka.producers.length, 1);
  const stats = producer.stats();
  assert.equal(stats.delivered, 6);
  assert.equal(stats.dropped.send_failed, 0);
  assert.equal(await counter(registry, sendErrors, { error: 'MESSAGE_TOO_LARGE', retriable: 'true' }), 2);
  await producer.close();
});

test('a single entry too large for the broker is dropped as send_failed; the entries behind it are delivered', async () => {
  const kafka = new FakeKafka();
  kafka.maxRequestBytes = 1; // nothing fits
  const { producer, registry } = producerOn(kafka);
  const critical = producer.recordCritical(entry('big', { dim: DIM }));
  await assert.rejects(critical, (err: unknown) => {
    assert.ok(err instanceof SendFailedError, String(err));
    assert.ok(err.message.includes('MESSAGE_TOO_LARGE'), err.message);
    return true;
  });
  kafka.maxRequestBytes = Infinity;
  recordMany(producer, 2);
  await producer.flush();

  const stats = producer.stats();
  assert.equal(stats.dropped.send_failed, 1);
  assert.equal(stats.delivered, 2);
  assert.equal(stats.pending, 0);
  assert.equal(await counter(registry, dropped, { reason: 'send_failed' }), 1);
  assert.equal(await counter(registry, sendErrors, { error: 'MESSAGE_TOO_LARGE', retriable: 'true' }), 1);
  await producer.close();
});

for (const type of ['OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_ID_MAPPING']) {
  test(`${type}: the producer is disconnected and a new one resends the batch`, async () => {
    const kafka = new FakeKafka();
    kafka.failSend = (attempt) => (attempt === 1 ? protocolError(type, false) : undefined);
    const { producer, registry } = producerOn(kafka);
    const keys = recordMany(producer, 3);
    await producer.flush();

    assert.equal(kafka.producers.length, 2);
    assert.equal(kafka.producers[0]!.disconnects, 1, 'the old producer is disconnected');
    assert.equal(kafka.connectAttempts, 2);
    assert.deepEqual(
      kafka.requests.map((r) => [r.producer, r.keys]),
      [
        [1, keys],
        [2, keys],
      ],
    );
    assert.deepEqual(
      kafka.acknowledged.map((r) => r.producer),
      [2],
    );
    assert.equal(producer.stats().delivered, 3);
    assert.equal(producer.stats().dropped.send_failed, 0);
    assert.equal(await counter(registry, sendErrors, { error: type, retriable: 'true' }), 1);
    await producer.close();
    assert.equal(kafka.producers[1]!.disconnects, 1);
  });
}

test('a refusal no retry can help (not authorised): the batch is dropped as send_failed at once', async () => {
  const kafka = new FakeKafka();
  kafka.failSend = (attempt) => (attempt === 1 ? protocolError('TOPIC_AUTHORIZATION_FAILED', false) : undefined);
  const { producer, registry } = producerOn(kafka);
  recordMany(producer, 3);
  await producer.flush();
  recordMany(producer, 2, 3);
  await producer.flush();

  assert.deepEqual(
    kafka.requests.map((r) => r.keys.length),
    [3, 2],
  );
  const stats = producer.stats();
  assert.equal(stats.dropped.send_failed, 3);
  assert.equal(stats.delivered, 2);
  assert.equal(await counter(registry, dropped, { reason: 'send_failed' }), 3);
  assert.equal(await counter(registry, sendErrors, { error: 'TOPIC_AUTHORIZATION_FAILED', retriable: 'false' }), 1);
  await producer.close();
});

test('broker away past the flush timeout: flush() rejects and drops nothing; close() gives up the rest as send_failed', async () => {
  const kafka = new FakeKafka();
  kafka.failSend = () => unreachable();
  const { producer, registry } = producerOn(kafka, { flushTimeoutMs: 50 });
  recordMany(producer, 3);
  const critical = producer.recordCritical(entry('critical', { dim: DIM }));
  await assert.rejects(producer.flush(), FlushTimeoutError);
  assert.equal(producer.stats().pending, 4);
  assert.equal(producer.stats().dropped.send_failed, 0);

  await producer.close();
  await assert.rejects(critical, ProducerClosedError);
  const stats = producer.stats();
  assert.equal(stats.dropped.send_failed, 4);
  assert.equal(stats.delivered, 0);
  assert.equal(stats.pending, 0);
  assert.equal(stats.total, stats.delivered + stats.dropped.send_failed + stats.pending);
  assert.equal(stats.running, false);
  assert.equal(stats.connected, false);
  assert.equal(await counter(registry, dropped, { reason: 'send_failed' }), 4);
  assert.ok(kafka.requests.length >= 2, `retried until close: ${kafka.requests.length} requests`);
  assert.equal(kafka.acknowledged.length, 0);
  assert.equal(kafka.producers.length, 1);
  assert.equal(kafka.producers[0]!.disconnects, 1);
});

test('close() while a send is in flight: an answer within the flush timeout delivers the batch, then the final checkpoint goes', async () => {
  const kafka = new FakeKafka();
  kafka.hold();
  const { producer } = producerOn(kafka, { flushTimeoutMs: 1_000 });
  recordMany(producer, 2);
  await kafka.until(() => kafka.requests.length === 1);
  const closed = producer.close();
  assert.equal(producer.record(entry('late', { dim: DIM })), false, 'closing: no more entries');
  kafka.release();
  await closed;

  const stats = producer.stats();
  assert.equal(stats.delivered, 2);
  assert.equal(stats.dropped.send_failed, 0);
  assert.equal(stats.dropped.closed, 1);
  assert.equal(stats.pending, 0);
  assert.equal(kafka.requests.length, 2, 'the batch, then the final checkpoint (issue 26)');
  const final = decodeCheckpoint(kafka.requests[1]!.values[0]!);
  assert.deepStrictEqual([final.final, final.high_seq, final.undelivered], [true, 2, [{ from: 2, to: 2, reason: 'closed' }]]);
  assert.equal(kafka.producers[0]!.disconnects, 1);
});

test('close() while a send is in flight past the flush timeout: counted as send_failed once, a late answer changes nothing', async () => {
  const kafka = new FakeKafka();
  kafka.hold();
  const { producer, registry } = producerOn(kafka, { flushTimeoutMs: 50 });
  recordMany(producer, 2);
  const critical = producer.recordCritical(entry('critical', { dim: DIM }));
  await kafka.until(() => kafka.requests.length === 1);
  await producer.close();
  await assert.rejects(critical, ProducerClosedError);
  assert.equal(producer.stats().dropped.send_failed, 3);
  assert.equal(producer.stats().pending, 0);

  kafka.release(); // the broker answers after all
  await kafka.until(() => kafka.acknowledged.length === 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const stats = producer.stats();
  assert.equal(stats.delivered, 0);
  assert.equal(stats.dropped.send_failed, 3);
  assert.equal(stats.pending, 0);
  assert.equal(await counter(registry, dropped, { reason: 'send_failed' }), 3);
  assert.equal(await observations(registry, 'witness_producer_send_duration_seconds'), 0, 'an abandoned batch is not observed');
  assert.equal(kafka.requests.length, 1, 'nothing is sent after close');
});
