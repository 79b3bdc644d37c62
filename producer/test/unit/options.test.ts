// Options are checked once, at creation, and a bad one names itself and its value.
// No broker needed: creating a producer does not connect; the send loop makes its
// first Kafka producer for the first entry (checked below with a fake client, since
// test:unit's socket refusal would only end up in a log line of the send loop).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWitnessProducer, InvalidOptionError, producerDefaults, type ProducerLogger, type WitnessProducerOptions } from '@witnesslog/producer';
import { createWitnessProducerWith } from '../../src/producer.js';
import { entry } from '../../../test/support/entries.js';
import { FakeKafka } from '../../../test/support/fake-kafka-producer.js';

const brokers = ['127.0.0.1:9092'];

test('defaults are documented values and creation does not throw with them', { timeout: 120_000 }, async (t) => {
  assert.equal(producerDefaults.topic, 'witness.entries');
  assert.equal(producerDefaults.embeddingDim, 768);
  assert.equal(producerDefaults.maxQueueDepth, 10_000);
  // Created with the defaults, the producer has nothing to warn about.
  const complaints: string[] = [];
  const logger: ProducerLogger = {
    debug() {},
    info() {},
    warn: (_obj, msg) => void complaints.push(`warn: ${msg}`),
    error: (_obj, msg) => void complaints.push(`error: ${msg}`),
  };
  const producer = createWitnessProducer({ brokers, logger });
  t.after(() => producer.close());
  assert.equal(producer.stats().running, true);
  await producer.close();
  assert.deepEqual(complaints, []);
  assert.equal(producer.stats().connected, false);
});

test('creating and closing a producer that recorded nothing makes no Kafka producer', async () => {
  const kafka = new FakeKafka();
  const producer = createWitnessProducerWith({ brokers, env: {} }, { kafka });
  await producer.close();
  assert.equal(kafka.producers.length, 0);
  assert.equal(kafka.connectAttempts, 0);
});

test('an IPv6 broker in brackets is a broker, as in WITNESS_KAFKA_BROKERS and the consumer', async () => {
  const producer = createWitnessProducer({ brokers: ['[::1]:9092', 'kafka-1:9092'], env: {} });
  await producer.close();
});

const bad: [string, Partial<Record<keyof WitnessProducerOptions, unknown>> & Record<string, unknown>][] = [
  ['brokers', { brokers: [] }],
  ['brokers', { brokers: '127.0.0.1:9092' }],
  ['brokers[1]', { brokers: ['127.0.0.1:9092', 'nohost'] }],
  ['brokers[0]', { brokers: ['::1:9092'] }],
  ['brokers[0]', { brokers: ['kafka:65536'] }],
  ['topic', { topic: 'with space' }],
  ['topic', { topic: '' }],
  ['clientId', { clientId: 7 }],
  ['embeddingDim', { embeddingDim: 0 }],
  ['embeddingDim', { embeddingDim: 1.5 }],
  ['maxQueueDepth', { maxQueueDepth: -1 }],
  ['maxQueueDepth', { maxQueueDepth: '100' }],
  ['maxQueueBytes', { maxQueueBytes: 10 }],
  ['lingerMs', { lingerMs: Number.NaN }],
  ['maxBatchEntries', { maxBatchEntries: 0 }],
  ['compression', { compression: 'snappy' }],
  ['criticalTimeoutMs', { criticalTimeoutMs: 0 }],
  ['flushTimeoutMs', { flushTimeoutMs: Infinity }],
  ['retryMaxMs', { retryInitialMs: 500, retryMaxMs: 100 }],
  ['registry', { registry: {} }],
  ['logger', { logger: console.log }],
  ['logger.debug', { logger: { info() {}, warn() {}, error() {} } }],
  ['ssl', { ssl: 'yes' }],
  ['maxQueueSize', { maxQueueSize: 5 }],
];

for (const [option, patch] of bad) {
  test(`an invalid ${option} is refused at creation, naming it and its value`, () => {
    assert.throws(
      () => createWitnessProducer({ brokers, ...patch } as WitnessProducerOptions),
      (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, String(err));
        assert.equal(err.code, 'WITNESS_INVALID_OPTION');
        assert.equal(err.option, option);
        assert.ok(err.message.includes(option), err.message);
        return true;
      },
    );
  });
}

