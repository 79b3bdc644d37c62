// Checkpoints and dead-letter records (issue 26) through the real broker and
// Qdrant, with one consumer and one topic for the file: the TypeScript SDK's
// entries and checkpoints (queue_full seqs reported, never stored; close()'s final
// one), a poison message and a conflict recorded as dead_letter points, and an
// impossible checkpoint dead-lettered as WITNESS_CHECKPOINT_INVALID while the
// consumer goes on. The Python SDK's half is producer/python/tests/test_checkpoints_e2e.py.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import avro from 'avsc';
import { createWitnessProducer } from '@witnesslog/producer';
import { checkpointSchema } from '../../../schemas/src/generated/schema-files.js';
import { encodeCheckpoint } from '@witnesslog/schemas';
import { DLQ_HEADERS } from '@witnesslog/consumer';
import { checkpointCollection } from '../../src/store/checkpoints.js';
import { withProducer } from '../../../test/support/entries.js';
import {
  brokers,
  codec,
  createTopics,
  deleteTopics,
  disconnectShared,
  dropCollection,
  produce,
  qdrant,
  readTopic,
  runConsumer,
  testConfig,
  testEntry,
  testNames,
  waitFor,
  type RunningConsumer,
} from '../../../test/support/pipeline.js';

const DIM = 8;
const names = testNames('checkpoints');
const records = checkpointCollection(names.collection);
let run: RunningConsumer;

before(async () => {
  await createTopics({ topic: names.topic }, { topic: names.dlqTopic });
  run = await runConsumer(testConfig(names), 'checkpoints');
});
after(async () => {
  await run?.close();
  await deleteTopics(names.topic, names.dlqTopic);
  await dropCollection(names.collection);
  await dropCollection(records);
  await disconnectShared();
});

async function scroll(collection: string, must: object[]): Promise<Array<Record<string, unknown>>> {
  const { points } = await qdrant.scroll(collection, { filter: { must }, with_payload: true, limit: 1000 });
  return points.map((p) => p.payload as Record<string, unknown>);
}
const match = (key: string, value: string | number) => ({ key, match: { value } });

test('the TS SDK: checkpoints land in <collection>_checkpoints with high_seq and queue_full ranges; those seqs never reach the main collection; close() sends the final one', async () => {
  const sdk = createWitnessProducer({ brokers: [...brokers], topic: names.topic, env: {}, embeddingDim: DIM, maxQueueDepth: 5, checkpointIntervalMs: 200, service: 'ckpt-ts' });
  const id = sdk.stats().producer.id;
  const batch = Array.from({ length: 8 }, (_, i) => ({ ...testEntry(DIM, i), producer: null }));
  assert.equal(sdk.recordBatch(batch), 5, 'five fit the queue, three are dropped as queue_full');
  await sdk.flush();
  await waitFor('a periodic checkpoint stored', async () => (await scroll(records, [match('kind', 'checkpoint'), match('producer_id', id)])).length >= 1);
  await sdk.close();

  await waitFor('the final checkpoint stored', async () => (await scroll(records, [match('producer_id', id)])).some((c) => c.final === true));
  const stored = await scroll(records, [match('kind', 'checkpoint'), match('producer_id', id)]);
  const final = stored.find((c) => c.final === true)!;
  assert.equal(final.high_seq, 7);
  assert.equal(final.service, 'ckpt-ts');
  assert.deepStrictEqual(final.undelivered, [{ from: 0, to: 2, reason: 'queue_full' }]);
  assert.deepStrictEqual(final.refused, { invalid: 0, sampled_out: 0, redact_failed: 0 });
  assert.equal(final.topic, names.topic);
  assert.match(String(final.sent_at), /^\d{4}-\d\d-\d\dT/);

  const entries = await scroll(names.collection, [match('producer.id', id)]);
  const seqs = entries.map((p) => (p.producer as { seq: number }).seq).sort((a, b) => a - b);
  assert.deepStrictEqual(seqs, [3, 4, 5, 6, 7], 'the dropped seqs 0..2 are not in the main collection');
});

test('a poison message and a conflict get dead_letter records: by partition/offset, and with the entry\'s producer id and seq', async () => {
  const first = withProducer(testEntry(DIM, 20), 11);
  const conflicting = withProducer({ ...testEntry(DIM, 21), request_id: first.request_id }, 12);
  await produce(names.topic, [{ key: 'a', value: codec(DIM).encode(first) }]);
  await waitFor('the first entry stored', async () => (await scroll(names.collection, [match('request_id', first.request_id)])).length === 1);
  await produce(names.topic, [{ key: 'b', value: codec(DIM).encode(conflicting) }, { key: 'c', value: Buffer.from('not avro') }]);
  await waitFor('two dead_letter records', async () => (await scroll(records, [match('kind', 'dead_letter')])).length >= 2);
  const letters = await scroll(records, [match('kind', 'dead_letter')]);
  const conflict = letters.find((l) => l.reason === 'WITNESS_DUPLICATE_REQUEST_ID')!;
  assert.deepStrictEqual([conflict.request_id, conflict.producer_id, conflict.seq, conflict.service], [first.request_id, first.producer!.id, 12, 'test-service']);
  const poison = letters.find((l) => l.reason === 'WITNESS_BAD_MARKER')!;
  assert.deepStrictEqual([poison.request_id, poison.producer_id, poison.seq], [null, null, null]);
  assert.equal(poison.topic, names.topic);
  assert.equal(poison.partition, 0);
  assert.match(String(poison.offset), /^\d+$/);
});

test('an impossible checkpoint (a range above its high_seq) is dead-lettered as WITNESS_CHECKPOINT_INVALID naming the field; the consumer goes on', async () => {
  const good = { producer_id: crypto.randomUUID(), service: 's', host: 'h', checkpoint_seq: 0, sent_at: Date.now(), high_seq: 3, undelivered: [], truncated: false, refused: { invalid: 0, sampled_out: 0, redact_failed: 0 }, final: false };
  // What a broken or hostile writer sends: the schema's bytes without the rules.
  const body = avro.Type.forSchema(checkpointSchema as avro.Schema).toBuffer({ ...good, undelivered: [{ from: 2, to: 9, reason: 'queue_full' }] });
  const after = testEntry(DIM, 30);
  await produce(names.topic, [{ key: good.producer_id, value: Buffer.concat([encodeCheckpoint(good).subarray(0, 10), body]) }, { key: 'after', value: codec(DIM).encode(after) }]);
  await waitFor('the entry after it stored', async () => (await scroll(names.collection, [match('request_id', after.request_id)])).length === 1);
  const letters = (await readTopic(names.dlqTopic, 3)).map((m) => ({ reason: String(m.headers?.[DLQ_HEADERS.reason]), error: String(m.headers?.[DLQ_HEADERS.error] ?? '') }));
  const invalid = letters.find((l) => l.reason === 'WITNESS_CHECKPOINT_INVALID');
  assert.ok(invalid, `a WITNESS_CHECKPOINT_INVALID letter among ${JSON.stringify(letters.map((l) => l.reason))}`);
  assert.match(invalid.error, /undelivered\[0\]\.to = 9/);
  assert.equal((await scroll(records, [match('producer_id', good.producer_id)])).length, 0, 'not stored as a checkpoint');
  assert.equal((await scroll(records, [match('reason', 'WITNESS_CHECKPOINT_INVALID')])).length, 1, 'recorded as a dead letter');
});
