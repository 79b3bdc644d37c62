// The consumer in this process against the real broker and the local Qdrant:
// batching, the round trip of every field, redelivery, poison, Qdrant's 4xx,
// two instances in one group, and a collection with other vectors.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CollectionMismatchError, DLQ_HEADERS, pointToEntry, type WitnessConsumer } from '@witnesslog/consumer';
import { Registry } from 'prom-client';
import { createWitnessConsumer } from '@witnesslog/consumer';
import {
  assertVectorClose,
  codec,
  committedOffsets,
  countPoints,
  createTopics,
  deleteTopics,
  disconnectShared,
  dropCollection,
  encoded,
  metricValue,
  produce,
  qdrant,
  qdrantUrl,
  readPoints,
  readTopic,
  rejectingProxy,
  runConsumer,
  testConfig,
  testEntry,
  testLogger,
  testNames,
  waitFor,
  type RawMessage,
} from '../../../test/support/pipeline.js';

const DIM = 8;
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await disconnectShared();
});

async function setUp(prefix: string, partitions = 1) {
  const names = testNames(prefix);
  await createTopics({ topic: names.topic, partitions }, { topic: names.dlqTopic });
  cleanups.push(() => deleteTopics(names.topic, names.dlqTopic), () => dropCollection(names.collection));
  return names;
}

describe('batching, round trip and redelivery', () => {
  const entries = Array.from({ length: 250 }, (_, i) => testEntry(DIM, i));
  let names: Awaited<ReturnType<typeof setUp>>;

  test('250 entries are flushed as 100, 100, 50; 3 more after max wait, not before', async () => {
    names = await setUp('batch');
    await produce(names.topic, encoded(entries, DIM));
    const run = await runConsumer(testConfig(names, { WITNESS_BATCH_MAX_ENTRIES: '100', WITNESS_BATCH_MAX_WAIT_MS: '1000' }), 'batch');
    cleanups.push(run.close);
    await waitFor('250 entries flushed', () => run.flushes.reduce((n, f) => n + f.size, 0) >= 250);
    assert.deepEqual(run.flushes.map((f) => f.size), [100, 100, 50]);
    // The partial batch waited for the max wait, the full ones did not.
    assert.ok(run.flushes[2]!.waitedMs >= 900, `the last batch waited ${run.flushes[2]!.waitedMs} ms`);
    assert.equal(await metricValue(run.registry, 'witness_flush_batch_entries_count'), 3);
    assert.equal(await metricValue(run.registry, 'witness_flush_batch_entries_sum'), 250);
    assert.equal(await countPoints(names.collection), 250);
    await waitFor('offsets committed', async () => (await committedOffsets(names.groupId, names.topic)) === 250);

    const extra = Array.from({ length: 3 }, (_, i) => testEntry(DIM, 250 + i));
    entries.push(...extra);
    await produce(names.topic, encoded(extra, DIM));
    const produced = Date.now();
    await waitFor('3 entries flushed', () => run.flushes.length === 4, 10_000);
    const elapsed = Date.now() - produced;
    assert.equal(run.flushes[3]!.size, 3);
    assert.ok(elapsed >= 800, `flushed ${elapsed} ms after produce, before the 1 s max wait`);
    assert.ok(elapsed < 5000, `flushed only ${elapsed} ms after produce`);
    assert.equal(await countPoints(names.collection), 253);

    assert.equal(await metricValue(run.registry, 'witness_entries_consumed_total'), 253);
    assert.equal(await metricValue(run.registry, 'witness_entries_upserted_total'), 253);
    const errors = entries.filter((e) => e.error !== null).length;
    assert.equal(await metricValue(run.registry, 'witness_llm_requests_total', { outcome: 'error' }), errors);
    assert.equal(await metricValue(run.registry, 'witness_llm_requests_total', { outcome: 'success' }), 253 - errors);
    assert.equal(await metricValue(run.registry, 'witness_consumer_lag_entries'), 0);
    await run.close();
  });

  test('every field and both vectors read back as produced', async () => {
    const stored = await readPoints(names.collection);
    assert.equal(stored.length, entries.length);
    const byId = new Map(stored.map((p) => [String(p.id), p]));
    for (const entry of entries) {
      const point = byId.get(entry.request_id);
      assert.ok(point, `no point for ${entry.request_id}`);
      const expected = codec(DIM).decode(codec(DIM).encode(entry));
      const actual = pointToEntry(point);
      const { query_embedding: q, response_embedding: r, ...fields } = actual;
      const { query_embedding: eq, response_embedding: er, ...expectedFields } = expected;
      assert.deepEqual(fields, expectedFields);
      assertVectorClose(q, eq, 'query_embedding');
      assertVectorClose(r, er, 'response_embedding');
      assert.equal(point.payload!.is_success, entry.error === null);
      assert.equal(point.payload!.timestamp, entry.timestamp);
    }
  });

  test('redelivered and replayed entries overwrite themselves: the count does not change', async () => {
    // Replay: the same bytes produced again; redelivery: the group's offsets reset to the start.
    await produce(names.topic, encoded(entries.slice(0, 50), DIM));
    const { kafka } = await import('../../../test/support/pipeline.js');
    const admin = kafka.admin();
    await admin.connect();
    // setOffsets, not resetOffsets: the latter spends seconds looking up the earliest offsets we know are 0.
    await admin.setOffsets({ groupId: names.groupId, topic: names.topic, partitions: [{ partition: 0, offset: '0' }] });
    await admin.disconnect();
    const run = await runConsumer(testConfig(names), 'redelivery');
    cleanups.push(run.close);
    await waitFor('everything consumed again', async () => (await committedOffsets(names.groupId, names.topic)) === 303);
    assert.equal(await metricValue(run.registry, 'witness_entries_upserted_total'), 303);
    assert.equal(await countPoints(names.collection), 253);
    await run.close();
  });
});

describe('poison', () => {
  test('each kind of poison lands in the dead-letter topic with its reason; the good entries around it are written', async () => {
    const names = await setUp('poison');
    const proxy = await rejectingProxy(qdrantUrl, 'reject-me');
    cleanups.push(proxy.close);
    const good = Array.from({ length: 8 }, (_, i) => testEntry(DIM, i));
    const valid = codec(DIM).encode(testEntry(DIM, 99));

    const nan = testEntry(DIM, 98);
    const nanBytes = Buffer.from(codec(DIM).encode(nan));
    // encode validates, so NaN is written by hand over the first value of the query embedding.
    const q = Buffer.from((nan.query_embedding as Float32Array).buffer);
    const at = nanBytes.indexOf(q);
    assert.ok(at > 0);
    nanBytes.writeFloatLE(Number.NaN, at);

    const unknown = Buffer.from(valid);
    unknown.writeBigUInt64LE(0x0123456789abcdefn, 2);

    const rejected = [testEntry(DIM, 97, 'reject-me'), testEntry(DIM, 96, 'reject-me')];
    const poison: Array<{ message: RawMessage; reason: string }> = [
      { message: { key: 'garbage', value: Buffer.from('{"not":"avro"}') }, reason: 'WITNESS_BAD_MARKER' },
      { message: { key: 'truncated', value: valid.subarray(0, valid.length - 7) }, reason: 'WITNESS_TRUNCATED' },
      { message: { key: 'fingerprint', value: unknown }, reason: 'WITNESS_UNKNOWN_FINGERPRINT' },
      { message: { key: 'dim', value: codec(4).encode(testEntry(4, 1)) }, reason: 'WITNESS_INVALID_ENTRY' },
      { message: { key: 'nan', value: nanBytes, headers: { origin: 'test' } }, reason: 'WITNESS_INVALID_ENTRY' },
      { message: { key: 'tombstone', value: null }, reason: 'WITNESS_EMPTY_MESSAGE' },
      { message: { key: 'rejected-1', value: codec(DIM).encode(rejected[0]!) }, reason: 'WITNESS_QDRANT_REJECTED' },
      { message: { key: 'rejected-2', value: codec(DIM).encode(rejected[1]!) }, reason: 'WITNESS_QDRANT_REJECTED' },
    ];
    const messages: RawMessage[] = [];
    for (let i = 0; i < good.length; i++) {
      messages.push(encoded([good[i]!], DIM)[0]!);
      messages.push(poison[i]!.message);
    }
    await produce(names.topic, messages);

    const run = await runConsumer(testConfig(names, { WITNESS_QDRANT_URL: proxy.url, WITNESS_BATCH_MAX_ENTRIES: '100' }), 'poison');
    cleanups.push(run.close);
    await waitFor('all 16 messages committed', async () => (await committedOffsets(names.groupId, names.topic)) === 16);

    assert.equal(await countPoints(names.collection), 8);
    const stored = new Set((await readPoints(names.collection)).map((p) => String(p.id)));
    for (const e of good) assert.ok(stored.has(e.request_id));

    const letters = await readTopic(names.dlqTopic, poison.length);
    const byKey = new Map(letters.map((m) => [m.key!.toString(), m]));
    for (let i = 0; i < poison.length; i++) {
      const { message, reason } = poison[i]!;
      const letter = byKey.get(String(message.key));
      assert.ok(letter, `no dead letter for ${String(message.key)}`);
      assert.equal(letter.headers![DLQ_HEADERS.reason]!.toString(), reason, String(message.key));
      assert.ok(letter.headers![DLQ_HEADERS.error]!.toString().length > 0);
      assert.equal(letter.headers![DLQ_HEADERS.sourceTopic]!.toString(), names.topic);
      assert.equal(letter.headers![DLQ_HEADERS.sourcePartition]!.toString(), '0');
      assert.equal(letter.headers![DLQ_HEADERS.sourceOffset]!.toString(), String(2 * i + 1));
      // The original bytes, untouched.
      assert.deepEqual(letter.value, message.value === null ? null : Buffer.from(message.value));
    }
    assert.equal(byKey.get('nan')!.headers!.origin!.toString(), 'test', 'original headers are kept');
    assert.match(byKey.get('nan')!.headers![DLQ_HEADERS.error]!.toString(), /query_embedding\[0\]/);
    assert.equal(await metricValue(run.registry, 'witness_entries_dead_lettered_total'), 8);
    assert.equal(await metricValue(run.registry, 'witness_entries_dead_lettered_total', { reason: 'WITNESS_QDRANT_REJECTED' }), 2);
    assert.ok((await metricValue(run.registry, 'witness_qdrant_write_errors_total', { kind: 'rejected' })) >= 2);
    await run.close();
  });
});

describe('scale and safety', () => {
  test('two instances in one group share the partitions; nothing is lost or written twice', async () => {
    const names = await setUp('pair', 4);
    const config = testConfig(names, { WITNESS_BATCH_MAX_ENTRIES: '20', WITNESS_BATCH_MAX_WAIT_MS: '50' });
    const first = await runConsumer(config, 'first');
    cleanups.push(first.close);
    const entries = Array.from({ length: 400 }, (_, i) => testEntry(DIM, i, `session-${i % 40}`));
    await produce(names.topic, encoded(entries.slice(0, 200), DIM));
    // The second instance joins mid-stream: the first hands partitions over.
    const second = await runConsumer(config, 'second');
    cleanups.push(second.close);
    await waitFor('both own partitions', () =>
      [first, second].every((r) => Object.values(r.consumer.status().assignment).flat().length > 0),
    );
    await produce(names.topic, encoded(entries.slice(200), DIM));
    await waitFor('all 400 committed', async () => (await committedOffsets(names.groupId, names.topic)) === 400, 30_000);
    assert.equal(await countPoints(names.collection), 400);
    const written = async (r: typeof first) => metricValue(r.registry, 'witness_entries_upserted_total');
    assert.ok((await written(first)) > 0, 'the first instance wrote nothing');
    assert.ok((await written(second)) > 0, 'the second instance wrote nothing');
    assert.ok((await metricValue(first.registry, 'witness_rebalances_total')) >= 1);
    await Promise.all([first.close(), second.close()]);
  });

  test('a topic that does not exist yet is waited for (the broker auto-creates it), then consumed', { timeout: 60_000 }, async () => {
    // What `npm start` meets on a fresh broker: no topic until the first metadata request.
    const names = testNames('consumer-no-topic');
    cleanups.push(() => deleteTopics(names.topic, names.dlqTopic), () => dropCollection(names.collection));
    const run = await runConsumer(testConfig(names), 'no-topic');
    cleanups.push(run.close);
    const entries = Array.from({ length: 5 }, (_, i) => testEntry(DIM, i));
    await produce(names.topic, encoded(entries, DIM));
    await waitFor('5 entries written', async () => (await countPoints(names.collection)) === 5);
  });

  test('a collection with other vectors is refused with a message that says what differs', async () => {
    const names = testNames('mismatch');
    cleanups.push(() => dropCollection(names.collection));
    await qdrant.createCollection(names.collection, { vectors: { query: { size: 16, distance: 'Cosine' }, response: { size: 8, distance: 'Dot' } } });
    const consumer: WitnessConsumer = createWitnessConsumer({ config: testConfig(names), registry: new Registry(), logger: testLogger('mismatch') });
    await assert.rejects(consumer.start(), (err: Error) => {
      assert.ok(err instanceof CollectionMismatchError);
      assert.match(err.message, /collection "mismatch_col-?[0-9a-f_]*" exists with a different vector configuration/);
      assert.match(err.message, /vector "query" has size 16, expected 8/);
      assert.match(err.message, /vector "response" uses Dot distance, expected Cosine/);
      return true;
    });
    await consumer.close();
  });
});
