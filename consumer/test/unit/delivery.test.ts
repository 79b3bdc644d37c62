// Delivery semantics of the consumer, driven through its seams with small fakes
// (fakes.ts): no broker, no Qdrant, a second or two in all. The same guarantees
// are tested against the real services in pipeline.test.ts, faults.test.ts and
// test/reliability/.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCodec, loadSchemaVersion, schemaVersions, slowestComponent, type WitnessEntry } from '@witnesslog/schemas';
import { createWitnessConsumer, DLQ_HEADERS, entryToPoint, loadConfig, pointToEntry, type WitnessConsumer } from '@witnesslog/consumer';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { codec, testEntry, withProducer } from '../../../test/support/entries.js';
import { metricValue } from '../../../test/support/metrics.js';
import { FakeGroupConsumer, FakeProducer, FakeQdrant, fakeKafka, gate } from '../../../test/support/fakes.js';

const TOPIC = 'witness.unit';
const DIM = 8;

function setup(env: Record<string, string> = {}) {
  const config = loadConfig({
    WITNESS_KAFKA_BROKERS: '127.0.0.1:1',
    WITNESS_QDRANT_URL: 'http://127.0.0.1:1',
    WITNESS_TOPIC: TOPIC,
    WITNESS_DLQ_TOPIC: `${TOPIC}.dlq`,
    WITNESS_EMBEDDING_DIM: String(DIM),
    WITNESS_BATCH_MAX_WAIT_MS: '10',
    WITNESS_RETRY_INITIAL_MS: '5',
    WITNESS_RETRY_MAX_MS: '20',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const group = new FakeGroupConsumer({ [TOPIC]: [0] });
  const producer = new FakeProducer();
  const qdrant = new FakeQdrant();
  const registry = new Registry();
  const consumer = createWitnessConsumer({
    config,
    registry,
    logger: pino({ level: 'silent' }),
    kafka: fakeKafka(group, producer),
    qdrant: { writer: qdrant.writer, probe: qdrant.probe },
  });
  return { consumer, group, producer, qdrant, registry };
}

function messages(count: number, from = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => codec(DIM).encode(testEntry(DIM, from + i)));
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function closed(consumer: WitnessConsumer): Promise<boolean> {
  return (await consumer.close()).drained;
}

describe('delivery semantics (fakes of Kafka and Qdrant)', () => {
  test('commits only after Qdrant acknowledged the write, up to the end of the batch', async () => {
    const { consumer, group, qdrant } = setup();
    const held = gate();
    qdrant.gate = held.promise;
    await consumer.start();
    await group.deliver(TOPIC, 0, messages(5));
    await until('the upsert to begin', () => qdrant.upserts === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(group.commits.length, 0, 'nothing may be committed while the write is pending');
    assert.deepEqual(group.resolved, ['4'], 'the fetch position moved on at once');
    held.open();
    await until('the commit', () => group.commits.length === 1);
    assert.equal(qdrant.points.size, 5);
    assert.deepEqual(group.commits[0], [{ topic: TOPIC, partition: 0, offset: '5' }]);
    assert.equal(await closed(consumer), true);
  });

  test('poison and empty messages go to the DLQ with a reason; the batch is committed past them', async () => {
    const { consumer, group, producer, qdrant, registry } = setup();
    await consumer.start();
    const [good] = messages(1);
    await group.deliver(TOPIC, 0, [good!, Buffer.from('not avro'), null]);
    await until('the commit', () => group.committed(TOPIC, 0) === '3');
    assert.equal(qdrant.points.size, 1);
    const letters = producer.sent.flatMap((s) => s.records.map((r) => ({ topic: s.topic, reason: String(r.headers[DLQ_HEADERS.reason]), offset: String(r.headers[DLQ_HEADERS.sourceOffset]) })));
    assert.deepEqual(letters, [
      { topic: `${TOPIC}.dlq`, reason: 'WITNESS_BAD_MARKER', offset: '1' },
      { topic: `${TOPIC}.dlq`, reason: 'WITNESS_EMPTY_MESSAGE', offset: '2' },
    ]);
    assert.equal(await metricValue(registry, 'witness_entries_dead_lettered_total'), 2);
    assert.equal(await closed(consumer), true);
  });

  test('pauses the topic at the buffer cap and resumes once the flushes bring it down to half', async () => {
    const { consumer, group, qdrant } = setup({ WITNESS_BATCH_MAX_ENTRIES: '4', WITNESS_MAX_BUFFERED_ENTRIES: '8' });
    const held = gate();
    qdrant.gate = held.promise;
    await consumer.start();
    await group.deliver(TOPIC, 0, messages(4));
    assert.equal(consumer.status().paused, false);
    // Reaching the cap: the handler pauses the topic and waits (the fetch loop stays with it).
    let returned = false;
    const full = group.deliver(TOPIC, 0, messages(4, 4), 4).then(() => (returned = true));
    await until('the pause', () => group.pauses.length === 1);
    assert.deepEqual(group.pauses, [TOPIC]);
    assert.equal(consumer.status().paused, true);
    assert.equal(consumer.status().buffered, 8);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(returned, false, 'the handler holds the fetch loop while full');
    held.open();
    await full;
    await until('the resume', () => group.resumes.length === 1);
    assert.equal(consumer.status().paused, false);
    await until('everything committed', () => group.committed(TOPIC, 0) === '8');
    assert.equal(await closed(consumer), true);
  });

  test('retries a 5xx from Qdrant, then writes and commits', async () => {
    const { consumer, group, qdrant, registry } = setup();
    qdrant.failWith = (attempt) => (attempt <= 2 ? Object.assign(new Error('Service Unavailable'), { status: 503 }) : undefined);
    await consumer.start();
    await group.deliver(TOPIC, 0, messages(3));
    await until('the commit', () => group.commits.length === 1);
    assert.equal(qdrant.upserts, 3);
    assert.equal(qdrant.points.size, 3);
    assert.equal(await metricValue(registry, 'witness_qdrant_write_retries_total', { kind: 'server' }), 2);
    assert.equal(await closed(consumer), true);
  });

  test('commits nothing when Qdrant never comes back before the shutdown deadline', async () => {
    const { consumer, group, qdrant } = setup({ WITNESS_SHUTDOWN_TIMEOUT_MS: '1000' });
    qdrant.failWith = () => Object.assign(new Error('Bad Gateway'), { status: 502 });
    await consumer.start();
    await group.deliver(TOPIC, 0, messages(3));
    await until('the retries', () => qdrant.upserts >= 2);
    const started = Date.now();
    assert.equal(await closed(consumer), false, 'not drained');
    assert.ok(Date.now() - started < 3_000, 'close keeps to the deadline');
    assert.equal(group.commits.length, 0);
    assert.equal(qdrant.points.size, 0);
  });
});

function dlqRecords(producer: FakeProducer) {
  return producer.sent.flatMap((s) => s.records);
}

describe('dead letters the DLQ topic cannot take whole (issue 13 finding 2)', () => {
  test('a 1 MB poison message is written reduced: headers and reason, the value replaced by its size and source reference', async () => {
    const { consumer, group, producer, qdrant, registry } = setup();
    await consumer.start();
    const [good] = messages(1);
    const poison = Buffer.alloc(1_000_000, 0xff);
    await group.deliver(TOPIC, 0, [good!, poison]);
    await until('the commit', () => group.committed(TOPIC, 0) === '2');
    assert.equal(qdrant.points.size, 1);
    const [letter, ...rest] = dlqRecords(producer);
    assert.equal(rest.length, 0);
    assert.equal(letter!.value, null, 'the value is left out');
    assert.equal(letter!.headers[DLQ_HEADERS.valueOmitted], '1000000');
    assert.equal(letter!.headers[DLQ_HEADERS.sourceOffset], '1');
    assert.equal(letter!.headers[DLQ_HEADERS.sourcePartition], '0');
    assert.ok(String(letter!.headers[DLQ_HEADERS.reason]).startsWith('WITNESS_'));
    assert.equal(await metricValue(registry, 'witness_dead_letters_reduced_total'), 1);
    assert.equal(await closed(consumer), true);
  });

  test('two 600 KB letters of one flush go in two requests, each within the limit, values whole', async () => {
    const { consumer, group, producer } = setup();
    producer.maxRequestBytes = 1024 * 1024;
    await consumer.start();
    await group.deliver(TOPIC, 0, [Buffer.alloc(600_000, 0xfe), Buffer.alloc(600_000, 0xfd)]);
    await until('the commit', () => group.committed(TOPIC, 0) === '2');
    assert.equal(producer.sent.length, 2);
    assert.deepEqual(dlqRecords(producer).map((r) => r.value?.length), [600_000, 600_000]);
    assert.equal(await closed(consumer), true);
  });

  test('a DLQ topic whose limit is below the assumed one: MESSAGE_TOO_LARGE halves the budget and the letters fit', async () => {
    const { consumer, group, producer, registry } = setup();
    producer.maxRequestBytes = 100_000;
    await consumer.start();
    await group.deliver(TOPIC, 0, [Buffer.alloc(90_000, 0xfe), Buffer.alloc(90_000, 0xfd), Buffer.alloc(300_000, 0xfc)]);
    await until('the commit', () => group.committed(TOPIC, 0) === '3');
    const records = dlqRecords(producer);
    assert.deepEqual(records.map((r) => r.headers[DLQ_HEADERS.sourceOffset]), ['0', '1', '2']);
    assert.equal(records[2]!.value, null);
    assert.equal(await metricValue(registry, 'witness_entries_dead_lettered_total'), 3, 'each letter counted once');
    assert.equal(consumer.status().deadLetterStalled, undefined);
    assert.equal(await closed(consumer), true);
  });

  test('after the retry bound the consumer is unready with the reason in a gauge; a later write makes it ready again', async () => {
    const { consumer, group, producer, registry } = setup();
    let failing = true;
    producer.failWith = () => (failing ? Object.assign(new Error('Connection error'), { type: 'NETWORK', retriable: true }) : undefined);
    await consumer.start();
    assert.equal(await consumer.ready(), true);
    await group.deliver(TOPIC, 0, [Buffer.from('not avro')]);
    await until('the stall', () => consumer.status().deadLetterStalled === 'NETWORK');
    assert.equal(await consumer.ready(), false);
    assert.equal(await metricValue(registry, 'witness_dead_letter_stalled', { reason: 'NETWORK' }), 1);
    assert.equal(group.commits.length, 0, 'nothing committed past an unwritten letter');
    failing = false;
    await until('the commit', () => group.committed(TOPIC, 0) === '1');
    assert.equal(consumer.status().deadLetterStalled, undefined);
    assert.equal(await consumer.ready(), true);
    assert.equal(await metricValue(registry, 'witness_dead_letter_stalled'), 0);
    assert.equal(await closed(consumer), true);
  });
});

describe('append-only per request_id (issue 13 finding 4)', () => {
  const reasons = (producer: FakeProducer) => dlqRecords(producer).map((r) => String(r.headers[DLQ_HEADERS.reason]));
  const stored = (qdrant: FakeQdrant, id: string) => (qdrant.points.get(id) as { payload: { quality_score: number } }).payload.quality_score;

  test('within a batch the first entry of an id wins; the same entry again is a no-op, a different one is dead-lettered and counted', async () => {
    const { consumer, group, producer, qdrant, registry } = setup();
    await consumer.start();
    const entry = testEntry(DIM, 0);
    const first = codec(DIM).encode({ ...entry, quality_score: 0.25 });
    const other = codec(DIM).encode({ ...entry, quality_score: 0.75 });
    await group.deliver(TOPIC, 0, [first, first, other]);
    await until('the commit', () => group.committed(TOPIC, 0) === '3');
    assert.equal(stored(qdrant, entry.request_id), 0.25);
    assert.deepEqual(reasons(producer), ['WITNESS_DUPLICATE_REQUEST_ID']);
    assert.equal(dlqRecords(producer)[0]!.headers[DLQ_HEADERS.sourceOffset], '2');
    assert.equal(await metricValue(registry, 'witness_entries_conflicting_total', { reason: 'WITNESS_DUPLICATE_REQUEST_ID' }), 1);
    assert.equal(await closed(consumer), true);
  });

  test('across flushes and partitions: a stored entry is not replaced; its redelivery is not a conflict', async () => {
    const { consumer, group, producer, qdrant, registry } = setup();
    await consumer.start();
    const entry = testEntry(DIM, 0);
    const first = codec(DIM).encode({ ...entry, quality_score: 0.25 });
    await group.deliver(TOPIC, 0, [first]);
    await until('the first commit', () => group.committed(TOPIC, 0) === '1');
    await group.deliver(TOPIC, 0, [first, codec(DIM).encode({ ...entry, quality_score: 0.9 })], 1);
    await until('the second commit', () => group.committed(TOPIC, 0) === '3');
    assert.equal(stored(qdrant, entry.request_id), 0.25, 'the first stored entry wins');
    assert.deepEqual(reasons(producer), ['WITNESS_DUPLICATE_REQUEST_ID']);
    assert.equal(await metricValue(registry, 'witness_entries_conflicting_total'), 1);
    assert.equal(qdrant.retrieves, 2, 'one retrieve per flush');
    assert.equal(await closed(consumer), true);
  });
});

describe('entryToPoint / pointToEntry with a newer schema', () => {
  test('a v1 entry is stored with producer, trace and usage null; a v2 entry with them in the payload, and both come back', () => {
    const v1codec = createCodec({ reader: schemaVersions[0], dim: DIM });
    const { producer: _p, trace: _t, usage: _u, ...v1Entry } = testEntry(DIM, 0);
    const fromV1 = createCodec({ dim: DIM }).decode(v1codec.encode(v1Entry as WitnessEntry));
    const v1Point = entryToPoint(fromV1, 'digest');
    assert.deepStrictEqual([v1Point.payload.producer, v1Point.payload.trace, v1Point.payload.usage], [null, null, null]);
    // A point written before v2 (no such keys at all) reads back the same way.
    const { producer: _pp, trace: _tp, usage: _up, ...oldPayload } = v1Point.payload;
    const old = pointToEntry({ id: v1Point.id, payload: oldPayload as unknown as Record<string, unknown>, vector: v1Point.vector });
    assert.deepStrictEqual([old.producer, old.trace, old.usage], [null, null, null]);

    const v2 = withProducer(testEntry(DIM, 0), 7);
    const point = entryToPoint(createCodec({ dim: DIM }).decode(createCodec({ dim: DIM }).encode(v2)), 'digest');
    assert.deepStrictEqual(point.payload.producer, v2.producer);
    assert.deepStrictEqual(point.payload.trace, v2.trace);
    assert.deepStrictEqual(point.payload.usage, v2.usage);
    const back = pointToEntry({ id: point.id, payload: point.payload as unknown as Record<string, unknown>, vector: point.vector });
    assert.deepStrictEqual([back.producer, back.trace, back.usage], [v2.producer, v2.trace, v2.usage]);
  });

  test('a field added by the schema (test-only serving_node) reaches the payload and comes back', () => {
    const next = loadSchemaVersion(3, new URL('../../../schemas/test/fixtures/witness-entry.test-v3.avsc', import.meta.url));
    const v2codec = createCodec({ reader: next, dim: DIM });
    const decoded = v2codec.decode(v2codec.encode({ ...testEntry(DIM, 0), serving_node: 'gpu-node-17' } as WitnessEntry));
    const point = entryToPoint(decoded, 'digest');
    assert.equal((point.payload as unknown as { serving_node: string }).serving_node, 'gpu-node-17');
    assert.ok(!('query_embedding' in point.payload), 'the embeddings travel as vectors, not payload');
    const back = pointToEntry({ id: point.id, payload: point.payload as unknown as Record<string, unknown>, vector: point.vector });
    assert.equal((back as unknown as { serving_node: string }).serving_node, 'gpu-node-17');
    assert.equal(point.payload.latency_slowest, slowestComponent(decoded.latency), 'the slowest component is computed at write time');
    assert.ok(
      !('is_success' in back) && !('vector_norms' in back) && !('entry_digest' in back) && !('latency_slowest' in back),
      'what entryToPoint adds does not come back as entry fields',
    );
    assert.deepEqual(Object.keys(back).sort(), Object.keys(decoded).sort());
  });
});
