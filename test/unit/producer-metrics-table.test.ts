// producer/metrics.json is the one table of the producer metrics that both SDKs are
// tested against (the Python SDK in producer/python/tests/test_producer.py): the
// TypeScript SDK must export exactly these names, with these types and drop reasons.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { dropReasons, producerMetricNames } from '@witnesslog/producer';
import { modelSizes } from '@witnesslog/schemas';
import { createWitnessProducerWith } from '../../producer/src/producer.js';
import { testEntry } from '../support/entries.js';
import { FakeKafka } from '../support/fake-kafka-producer.js';

// No broker: a fake Kafka client acknowledges every send, so close() returns at once.
const brokers = ['fake:9092'];

interface Table {
  dropReasons: string[];
  models: string[];
  metrics: Array<{ key: string; name: string; type: string; labels: string[] }>;
}

const table = JSON.parse(readFileSync(new URL('../../producer/metrics.json', import.meta.url), 'utf8')) as Table;

test('the TypeScript SDK exports the names and drop reasons of producer/metrics.json', () => {
  assert.deepStrictEqual({ ...producerMetricNames }, Object.fromEntries(table.metrics.map((m) => [m.key, m.name])));
  assert.deepStrictEqual([...dropReasons].sort(), [...table.dropReasons].sort());
});

test('and registers them with the types of the table', async () => {
  const registry = new Registry();
  const producer = createWitnessProducerWith({ brokers, registry, env: {} }, { kafka: new FakeKafka() });
  try {
    const types = Object.fromEntries((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
    assert.deepStrictEqual(types, Object.fromEntries(table.metrics.map((m) => [m.name, m.type])));
  } finally {
    await producer.close();
  }
});

test('every metric carries exactly the labels of the table; `model` takes the table\'s values', async () => {
  assert.deepStrictEqual([...table.models].sort(), [...modelSizes, 'other'].sort());
  const registry = new Registry();
  // The counts are taken on record(), before any send.
  const producer = createWitnessProducerWith({ brokers, registry, env: {} }, { kafka: new FakeKafka() });
  try {
    const entry = testEntry(768, 1);
    producer.record({ ...entry, model_used: 'small', error: { code: 'E', message: 'm', recovery_attempted: false, stack_trace: null } });
    producer.record({ ...entry, model_used: 'large' });
    const metrics = await registry.getMetricsAsJSON();
    for (const row of table.metrics) {
      const metric = metrics.find((m) => m.name === row.name);
      assert.ok(metric, row.name);
      for (const v of metric.values as Array<{ labels: Record<string, unknown> }>) {
        const labels = Object.keys(v.labels).filter((l) => l !== 'le');
        assert.deepStrictEqual(labels.sort(), [...row.labels].sort(), row.name);
      }
    }
    const witnessed = metrics.find((m) => m.name === 'witness_producer_witnessed_requests_total')!.values as Array<{ labels: Record<string, string>; value: number }>;
    for (const v of witnessed) assert.ok(table.models.includes(String(v.labels.model)), String(v.labels.model));
    assert.equal(witnessed.find((v) => v.labels.model === 'small' && v.labels.outcome === 'error')?.value, 1);
    assert.equal(witnessed.find((v) => v.labels.model === 'large' && v.labels.outcome === 'success')?.value, 1);
  } finally {
    await producer.close();
  }
});
