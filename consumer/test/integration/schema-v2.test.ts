// Schema v2 through the real broker and Qdrant: a v1 message is stored with
// producer, trace and usage null and a v2 one with them; the new payload indexes
// exist with their types; a v2 message that breaks a v2 rule is dead-lettered
// naming the field; and the deploy order: a consumer that knows only v1
// dead-letters v2 messages as WITNESS_UNKNOWN_FINGERPRINT, never losing them, and
// a consumer on v2 re-driven over those letters stores them.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import avro from 'avsc';
import { Registry } from 'prom-client';
import { createCodec, currentSchemaVersion, HEADER_BYTES, schemaVersions, type WitnessEntry } from '@witnesslog/schemas';
import { createWitnessConsumer, DLQ_HEADERS, pointToEntry } from '@witnesslog/consumer';
import { withProducer } from '../../../test/support/entries.js';
import {
  codec,
  committedOffsets,
  createTopics,
  deleteTopics,
  disconnectShared,
  dropCollection,
  produce,
  qdrant,
  readPoints,
  readTopic,
  runConsumer,
  testConfig,
  testEntry,
  testLogger,
  testNames,
  waitFor,
} from '../../../test/support/pipeline.js';

const DIM = 8;
const v1 = schemaVersions[0]!;
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await disconnectShared();
});

async function setUp(prefix: string) {
  const names = testNames(prefix);
  await createTopics({ topic: names.topic }, { topic: names.dlqTopic });
  cleanups.push(() => deleteTopics(names.topic, names.dlqTopic), () => dropCollection(names.collection));
  return names;
}

/** A v2 message written without validation (avsc alone), as a broken or hostile producer could. */
function unvalidated(entry: WitnessEntry): Buffer {
  const raw = avro.Type.forSchema(JSON.parse(JSON.stringify(currentSchemaVersion.schema).replaceAll('"logicalType":"float32-vector"', '"x":0')) as avro.Schema, { wrapUnions: 'never' });
  const header = codec(DIM).encode(testEntry(DIM, 0)).subarray(0, HEADER_BYTES);
  const body = raw.toBuffer({
    ...entry,
    query_embedding: Buffer.from(Float32Array.from(entry.query_embedding).buffer),
    response_embedding: Buffer.from(Float32Array.from(entry.response_embedding).buffer),
    timestamp: 1_795_000_000_000_000,
  });
  return Buffer.concat([header, body]);
}

const { producer: _p, trace: _t, usage: _u, ...v1Fields } = testEntry(DIM, 1);

test('v1 and v2 messages are both stored (v1 with the v2 fields null), the v2 fields indexed; a v2 message breaking a v2 rule is dead-lettered naming the field', async () => {
  const names = await setUp('schema-v2');
  const v1Entry = { ...v1Fields, request_id: crypto.randomUUID() } as WitnessEntry;
  const v2Entry = withProducer(testEntry(DIM, 0), 41);
  const bad: Array<[string, WitnessEntry, string]> = [
    ['zero-trace', { ...testEntry(DIM, 2), trace: { trace_id: '0'.repeat(32), span_id: '00f067aa0ba902b7' } }, 'trace.trace_id'],
    ['negative-tokens', { ...testEntry(DIM, 4), usage: { prompt_tokens: -5, completion_tokens: 1 } }, 'usage.prompt_tokens'],
    ['empty-host', { ...withProducer(testEntry(DIM, 6), 3), producer: { ...withProducer(testEntry(DIM, 6), 3).producer!, host: '' } }, 'producer.host'],
  ];
  await produce(names.topic, [
    { key: 'v1', value: createCodec({ dim: DIM, reader: v1 }).encode(v1Entry as WitnessEntry) },
    { key: 'v2', value: codec(DIM).encode(v2Entry) },
    ...bad.map(([key, entry]) => ({ key, value: unvalidated(entry) })),
  ]);
  const run = await runConsumer(testConfig(names), 'schema-v2');
  cleanups.push(run.close);
  await waitFor('all 5 messages committed', async () => (await committedOffsets(names.groupId, names.topic)) === 5);

  const stored = new Map((await readPoints(names.collection)).map((p) => [String(p.id), p]));
  assert.equal(stored.size, 2);
  const fromV1 = pointToEntry(stored.get(v1Entry.request_id)!);
  assert.deepStrictEqual([fromV1.producer, fromV1.trace, fromV1.usage], [null, null, null]);
  assert.deepStrictEqual([stored.get(v1Entry.request_id)!.payload!.producer, stored.get(v1Entry.request_id)!.payload!.trace], [null, null], 'null in the payload itself');
  const fromV2 = pointToEntry(stored.get(v2Entry.request_id)!);
  assert.deepStrictEqual([fromV2.producer, fromV2.trace, fromV2.usage], [v2Entry.producer, v2Entry.trace, v2Entry.usage]);

  const info = await qdrant.getCollection(names.collection);
  const types = Object.fromEntries(['trace.trace_id', 'producer.id', 'producer.seq', 'producer.service'].map((f) => [f, info.payload_schema[f]?.data_type]));
  assert.deepStrictEqual(types, { 'trace.trace_id': 'keyword', 'producer.id': 'keyword', 'producer.seq': 'integer', 'producer.service': 'keyword' });

  const letters = new Map((await readTopic(names.dlqTopic, bad.length)).map((m) => [m.key!.toString(), m]));
  for (const [key, , field] of bad) {
    const letter = letters.get(key);
    assert.ok(letter, `no dead letter for ${key}`);
    assert.equal(letter.headers![DLQ_HEADERS.reason]!.toString(), 'WITNESS_INVALID_ENTRY');
    assert.match(letter.headers![DLQ_HEADERS.error]!.toString(), new RegExp(`^invalid witness entry: ${field.replace('.', '\\.')} = `), key);
  }
  await run.close();
});

test('producers before consumers: a consumer knowing only v1 dead-letters v2 messages as WITNESS_UNKNOWN_FINGERPRINT; re-driven to a v2 consumer they are stored', async () => {
  const names = await setUp('schema-v2-order');
  const entries = [0, 1, 2].map((i) => withProducer(testEntry(DIM, i), i));
  await produce(names.topic, [
    { key: 'old', value: createCodec({ dim: DIM, reader: v1 }).encode({ ...v1Fields, request_id: crypto.randomUUID() } as WitnessEntry) },
    ...entries.map((e) => ({ key: e.request_id, value: codec(DIM).encode(e) })),
  ]);
  const old = createWitnessConsumer({ config: testConfig(names), registry: new Registry(), logger: testLogger('v1-only'), schemaVersions: [v1] });
  await old.start();
  cleanups.push(() => old.close());
  await waitFor('the v1-only consumer committed all 4', async () => (await committedOffsets(names.groupId, names.topic)) === 4);
  await old.close();
  assert.equal((await readPoints(names.collection)).length, 1, 'only the v1 message was stored');
  const letters = await readTopic(names.dlqTopic, entries.length);
  assert.equal(letters.length, entries.length);
  for (const letter of letters) {
    assert.equal(letter.headers![DLQ_HEADERS.reason]!.toString(), 'WITNESS_UNKNOWN_FINGERPRINT');
    assert.match(letter.headers![DLQ_HEADERS.error]!.toString(), new RegExp(currentSchemaVersion.fingerprintHex));
  }

  // Recovery, by hand here; `witness dlq redrive` does the same for operators (consumer/test/integration/dlq.test.ts): the letters' original bytes back onto a topic a v2 consumer reads.
  const redrive = testNames('schema-v2-redrive');
  await createTopics({ topic: redrive.topic }, { topic: redrive.dlqTopic });
  cleanups.push(() => deleteTopics(redrive.topic, redrive.dlqTopic));
  await produce(redrive.topic, letters.map((l) => ({ key: l.key, value: l.value })));
  const run = await runConsumer(testConfig({ ...redrive, collection: names.collection }), 'v2-redrive');
  cleanups.push(run.close);
  await waitFor('the re-driven letters committed', async () => (await committedOffsets(redrive.groupId, redrive.topic)) === entries.length);
  const stored = new Map((await readPoints(names.collection)).map((p) => [String(p.id), pointToEntry(p)]));
  assert.equal(stored.size, 1 + entries.length);
  for (const e of entries) assert.deepStrictEqual(stored.get(e.request_id)!.producer, e.producer);
  await run.close();
});
