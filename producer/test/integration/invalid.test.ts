// Bad entries are refused one by one (counted as invalid, record() returns false,
// nothing throws) and the good ones around them are delivered as usual.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { createWitnessProducer } from '@witnesslog/producer';
import type { WitnessEntry } from '@witnesslog/schemas';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { DIM, entry, unitVector } from '../../../test/support/entries.js';
import { consumeAll, deleteTopics, messageCount } from '../../../test/support/producer-kafka.js';

const topics: string[] = [];
after(() => deleteTopics(brokers, topics));

function invalidEntries(session: string): [string, unknown][] {
  const nan = unitVector();
  nan[17] = Number.NaN;
  const throwing = entry(session);
  Object.defineProperty(throwing, 'query_embedding', {
    get() {
      throw new Error('a getter that throws');
    },
  });
  return [
    ['NaN in the query embedding', { ...entry(session), query_embedding: nan }],
    ['Infinity in a number[] embedding', { ...entry(session), query_embedding: Array.from(unitVector(), (x, i) => (i === 3 ? Infinity : x)) }],
    ['wrong dimension', { ...entry(session), query_embedding: unitVector(DIM - 1) }],
    ['bad uuid', { ...entry(session), request_id: 'req-42' }],
    ['uppercase uuid', { ...entry(session), request_id: randomUUID().toUpperCase() }],
    ['missing field', (({ latency: _, ...rest }) => rest)(entry(session))],
    ['a number', 42],
    ['a string', 'entry'],
    ['an array', [entry(session)]],
    ['null', null],
    ['undefined', undefined],
    ['a throwing getter', throwing],
    [
      'a Proxy that throws',
      new Proxy(entry(session), {
        get() {
          throw new TypeError('revoked');
        },
      }),
    ],
  ];
}

test('invalid entries are refused and counted; the valid ones around them go through', { timeout: 120_000 }, async (t) => {
  const topic = uniqueName('producer-invalid');
  topics.push(topic);
  const producer = createWitnessProducer({ brokers, topic });
  t.after(() => producer.close());
  const session = randomUUID();
  const bad = invalidEntries(session);
  const good: WitnessEntry[] = [];

  for (const [label, value] of bad) {
    const before = entry(session);
    good.push(before);
    assert.equal(producer.record(before), true);
    let result: boolean | undefined;
    assert.doesNotThrow(() => {
      result = producer.record(value as WitnessEntry);
    }, label);
    assert.equal(result, false, label);
  }
  const last = entry(session);
  good.push(last);
  assert.equal(producer.recordBatch([null as never, last, 7 as never]), 1);

  await producer.flush();
  const s = producer.stats();
  assert.equal(s.dropped.invalid, bad.length + 2);
  assert.equal(s.total, good.length);
  assert.equal(s.delivered, good.length);
  assert.equal(s.attempted, good.length + bad.length + 2);

  const consumed = await consumeAll(brokers, topic, good.length);
  assert.deepEqual(
    consumed.map((c) => c.entry.request_id),
    good.map((e) => e.request_id),
    'the valid entries, in order (one session, one partition)',
  );
  assert.equal(await messageCount(brokers, topic), good.length);
  await producer.close();
});

test('recordBatch tolerates something that is not an array', { timeout: 120_000 }, async (t) => {
  const producer = createWitnessProducer({ brokers, topic: uniqueName('producer-invalid-batch') });
  t.after(() => producer.close());
  assert.equal(producer.recordBatch(null as never), 0);
  assert.equal(producer.recordBatch({ length: 3 } as never), 0);
  await producer.close();
});

test('a logger that throws does not reach the caller', { timeout: 120_000 }, async (t) => {
  const explode = () => {
    throw new Error('log transport down');
  };
  const topic = uniqueName('producer-bad-logger');
  topics.push(topic);
  const producer = createWitnessProducer({
    brokers,
    topic,
    logger: { debug: explode, info: explode, warn: explode, error: explode },
  });
  t.after(() => producer.close());
  assert.equal(producer.record(null as never), false);
  assert.equal(producer.record(entry(randomUUID())), true);
  await producer.flush();
  await producer.close();
  assert.equal(producer.stats().delivered, 1);
});
