// The host application owns the Registry: the producer registers into the one it is
// given, under the names of producerMetricNames, and never into prom-client's global one.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Registry, register as globalRegister } from 'prom-client';
import { createWitnessProducer, producerMetricNames } from '@witnesslog/producer';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { entry } from '../../../test/support/entries.js';
import { deleteTopics } from '../../../test/support/producer-kafka.js';
import { assertMetricsMatch } from '../../../test/support/producer-metrics.js';
import { samples } from '../../../test/support/metrics.js';

const topics: string[] = [];
after(() => deleteTopics(brokers, topics));

const witnessMetricsIn = async (registry: Registry) =>
  (await registry.getMetricsAsJSON()).map((m) => m.name).filter((name) => name.startsWith('witness_'));

test('metrics go into the given Registry only, under the names of the table', { timeout: 120_000 }, async (t) => {
  const topic = uniqueName('producer-metrics');
  topics.push(topic);
  const registry = new Registry();
  const producer = createWitnessProducer({ brokers, topic, registry });
  t.after(() => producer.close());
  const session = randomUUID();
  producer.record(entry(session));
  producer.record(entry(session, { failed: true }));
  producer.record(null as never);
  await producer.flush();

  assert.deepEqual((await witnessMetricsIn(registry)).sort(), Object.values(producerMetricNames).sort());
  assert.deepEqual(await witnessMetricsIn(globalRegister), [], 'nothing in the global registry');
  await assertMetricsMatch(registry, producer.stats());

  const m = await samples(registry);
  const model = entry(session).model_used;
  assert.equal(m.get(`${producerMetricNames.requestsWitnessed}{outcome="error",model="${model}"}`), 1);
  // Bounded label: the four sizes, never the `other` guard.
  const models = [...m.keys()].filter((k) => k.startsWith(producerMetricNames.requestsWitnessed)).map((k) => /model="(\w+)"/.exec(k)![1]);
  assert.deepEqual([...new Set(models)].sort(), ['large', 'medium', 'small', 'tiny']);
  assert.equal(m.get(`${producerMetricNames.batchEntries}_sum`), 2);
  assert.ok((m.get(`${producerMetricNames.sendDuration}_count`) ?? 0) >= 1);
  await producer.close();
});

test('without a Registry nothing is registered anywhere, and stats() still counts', { timeout: 120_000 }, async (t) => {
  const topic = uniqueName('producer-no-metrics');
  topics.push(topic);
  const producer = createWitnessProducer({ brokers, topic });
  t.after(() => producer.close());
  producer.record(entry(randomUUID()));
  await producer.flush();
  assert.equal(producer.stats().delivered, 1);
  assert.deepEqual(await witnessMetricsIn(globalRegister), []);
  await producer.close();
});

test('metric names follow the conventions: one prefix, base units', () => {
  for (const [key, name] of Object.entries(producerMetricNames)) {
    assert.match(name, /^witness_producer_[a-z_]+$/, key);
    if (/Duration$/.test(key)) assert.match(name, /_seconds$/, key);
    if (/Bytes$/.test(key)) assert.match(name, /_bytes$/, key);
  }
  for (const counter of ['entriesRecorded', 'requestsWitnessed', 'entriesDelivered', 'entriesDropped', 'sendErrors'] as const) {
    assert.match(producerMetricNames[counter], /_total$/, counter);
  }
});

test('a second producer on the same Registry is refused at creation', { timeout: 120_000 }, async (t) => {
  const registry = new Registry();
  const first = createWitnessProducer({ brokers, registry });
  t.after(() => first.close());
  assert.throws(() => createWitnessProducer({ brokers, registry }), { code: 'WITNESS_INVALID_OPTION', option: 'registry' });
  await first.close();
});
