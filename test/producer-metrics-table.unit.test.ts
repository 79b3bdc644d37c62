// producer/metrics.json is the one table of the producer metrics that both SDKs are
// tested against (the Python SDK in producer/python/tests/test_producer.py): the
// TypeScript SDK must export exactly these names, with these types and drop reasons.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createWitnessProducer, dropReasons, producerMetricNames } from '@witnesslog/producer';
import { brokers } from './support/env.js';

interface Table {
  dropReasons: string[];
  metrics: Array<{ key: string; name: string; type: string; labels: string[] }>;
}

const table = JSON.parse(readFileSync(new URL('../producer/metrics.json', import.meta.url), 'utf8')) as Table;

test('the TypeScript SDK exports the names and drop reasons of producer/metrics.json', () => {
  assert.deepStrictEqual({ ...producerMetricNames }, Object.fromEntries(table.metrics.map((m) => [m.key, m.name])));
  assert.deepStrictEqual([...dropReasons].sort(), [...table.dropReasons].sort());
});

test('and registers them with the types of the table', async () => {
  const registry = new Registry();
  const producer = createWitnessProducer({ brokers, registry });
  try {
    const types = Object.fromEntries((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
    assert.deepStrictEqual(types, Object.fromEntries(table.metrics.map((m) => [m.name, m.type])));
  } finally {
    await producer.close();
  }
});
