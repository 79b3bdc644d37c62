// Hostile writers on the witness topic (issue 13, findings 2 and 4), against the
// running stack and a consumer service process as `npm start` runs it:
// - dead letters the DLQ topic cannot take whole: a ~1 MB poison message (the
//   largest the topic accepts) and two ~600 KB ones meant for one flush;
// - history rewrites: a second entry under a stored request_id with other
//   content, on the same partition and on the other one, beside redeliveries of
//   the same bytes (which must stay no-ops);
// - a DLQ topic that refuses every letter (max.message.bytes below our smallest
//   letter): the consumer must say so on /readyz and in a metric, and recover on
//   its own once the topic takes letters again.
// The tally at the end accounts for every message id by id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DLQ_HEADERS } from '@witnesslog/consumer';
import {
  brokers,
  codec,
  committedOffsets,
  deleteTopics,
  dropCollection,
  kafka,
  produce,
  readPoints,
  testEntry,
  testNames,
  waitFor,
  type RawMessage,
} from '../support/pipeline.js';
import { httpGet } from '../support/http.js';
import { sample } from '../support/metrics.js';
import { messageCount, readMessages } from '../support/topic.js';
import { cleanupsAfterAll, startConsumer } from '../support/adversarial-consumer.js';

const DIM = 32;
const PARTITIONS = 2;
const MAX_RSS_GROWTH_BYTES = 200 * 1024 * 1024;

const cleanups = cleanupsAfterAll();

async function createTopic(topic: string, partitions: number, configEntries: Array<{ name: string; value: string }> = []): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

async function setMaxMessageBytes(topic: string, bytes: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2 /* TOPIC */, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }] });
  } finally {
    await admin.disconnect();
  }
}

interface Expected {
  key: string;
  reason: string;
  /** The value the letter carries: the original bytes, or null when it had to be left out. */
  value: Buffer | null;
  originalBytes: number;
}

test('oversized letters are written reduced, conflicting request_ids are dead-lettered, redeliveries are no-ops; id-by-id tally', { timeout: 120_000 }, async (t) => {
  const names = testNames('adversarial-writers');
  await createTopic(names.topic, PARTITIONS);
  await createTopic(names.dlqTopic, 1);
  cleanups.push(() => deleteTopics(names.topic, names.dlqTopic), () => dropCollection(names.collection));
  const consumer = await startConsumer(names, DIM, cleanups);
  const metrics = async () => (await httpGet(`${consumer.url}/metrics`)).text;

  const good = Array.from({ length: 30 }, (_, i) => testEntry(DIM, i, `good-${i}`));
  const first: RawMessage[] = good.map((e, i) => ({ key: `good-${i}`, value: codec(DIM).encode(e), partition: i % PARTITIONS }));
  await produce(names.topic, first);
  await waitFor('the good entries committed', async () => (await committedOffsets(names.groupId, names.topic)) === first.length, 60_000);
  const rssBefore = sample(await metrics(), 'process_resident_memory_bytes');

  const expected: Expected[] = [];
  const later: RawMessage[] = [];
  // Redeliveries: the same bytes again (a producer retry, a replay): no letter, nothing changed.
  for (let i = 0; i < 5; i++) later.push({ key: `redelivered-${i}`, value: first[i]!.value, partition: i % PARTITIONS });
  // Rewrites: the same request_id with other content, on its own partition and on the other one.
  for (let i = 5; i < 11; i++) {
    const value = codec(DIM).encode({ ...good[i]!, quality_score: 0.123, model_used: good[i]!.model_used === 'tiny' ? 'large' : 'tiny' });
    later.push({ key: `rewrite-${i}`, value, partition: (i + (i % 2)) % PARTITIONS });
    expected.push({ key: `rewrite-${i}`, reason: 'WITNESS_DUPLICATE_REQUEST_ID', value, originalBytes: value.length });
  }
  // Two conflicting entries under a new id in one batch: the first is stored, the second dead-lettered.
  const fresh = testEntry(DIM, 100, 'fresh');
  later.push({ key: 'fresh-first', value: codec(DIM).encode(fresh), partition: 0 });
  const freshOther = codec(DIM).encode({ ...fresh, quality_score: 0.5 });
  later.push({ key: 'fresh-second', value: freshOther, partition: 0 });
  expected.push({ key: 'fresh-second', reason: 'WITNESS_DUPLICATE_REQUEST_ID', value: freshOther, originalBytes: freshOther.length });
  await produce(names.topic, later);

  // Oversized poison: one request each (two in one would pass the topic's own limit), back to back so the
  // two ~600 KB ones land in one flush.
  const big = [
    { key: 'poison-1mb', value: Buffer.alloc(1_000_000, 0xff), partition: 0 },
    { key: 'poison-600k-a', value: Buffer.alloc(600_000, 0xfe), partition: 1 },
    { key: 'poison-600k-b', value: Buffer.alloc(600_000, 0xfd), partition: 1 },
  ];
  for (const m of big) await produce(names.topic, [m]);
  expected.push(
    { key: 'poison-1mb', reason: 'WITNESS_BAD_MARKER', value: null, originalBytes: 1_000_000 },
    { key: 'poison-600k-a', reason: 'WITNESS_BAD_MARKER', value: big[1]!.value, originalBytes: 600_000 },
    { key: 'poison-600k-b', reason: 'WITNESS_BAD_MARKER', value: big[2]!.value, originalBytes: 600_000 },
  );
  const total = first.length + later.length + big.length;
  await waitFor(`all ${total} messages committed`, async () => (await committedOffsets(names.groupId, names.topic)) === total, 60_000);

  // Tally: every good entry stored once, as first written (the rewrites did not apply).
  const stored = new Map((await readPoints(names.collection)).map((p) => [String(p.id), p]));
  assert.equal(stored.size, good.length + 1, 'the good entries and the fresh one, nothing else');
  for (const e of good) {
    const p = stored.get(e.request_id);
    assert.equal(p?.payload?.model_used, e.model_used, `${e.request_id}: stored as first written`);
    assert.equal(p?.payload?.quality_score, e.quality_score, e.request_id);
  }
  assert.equal(stored.get(fresh.request_id)?.payload?.quality_score, fresh.quality_score, 'the first of a batch wins');

  // Every hostile message dead-lettered exactly once with its reason; the redeliveries not at all.
  assert.equal(await messageCount({ brokers }, names.dlqTopic), expected.length, 'one dead letter per hostile message, no more');
  const letters = (await readMessages({ brokers }, names.dlqTopic, { count: expected.length })).map((m) => m.message);
  const byKey = new Map(letters.map((m) => [m.key?.toString() ?? '', m]));
  for (const e of expected) {
    const letter = byKey.get(e.key);
    assert.ok(letter, `no dead letter for ${e.key}`);
    const reason = letter.headers![DLQ_HEADERS.reason]!.toString();
    t.diagnostic(`${e.key}: ${reason}, value ${letter.value?.length ?? 'left out'} of ${e.originalBytes} bytes`);
    assert.equal(reason, e.reason, e.key);
    if (e.value === null) {
      assert.equal(letter.value, null, `${e.key}: the value left out`);
      assert.equal(letter.headers![DLQ_HEADERS.valueOmitted]!.toString(), String(e.originalBytes));
      assert.ok(letter.headers![DLQ_HEADERS.sourceOffset], `${e.key}: referenced by its source offset`);
    } else {
      assert.deepEqual(letter.value, e.value, `${e.key}: the original bytes`);
    }
  }

  const text = await metrics();
  assert.equal(sample(text, 'witness_entries_conflicting_total', { reason: 'WITNESS_DUPLICATE_REQUEST_ID' }), 7);
  assert.equal(sample(text, 'witness_entries_dead_lettered_total', { reason: 'WITNESS_DUPLICATE_REQUEST_ID' }), 7);
  assert.equal(sample(text, 'witness_dead_letters_reduced_total'), 1);
  assert.equal((await httpGet(`${consumer.url}/readyz`)).status, 200, '/readyz: ready, nothing is stalled');
  const rssAfter = sample(text, 'process_resident_memory_bytes');
  t.diagnostic(`consumer RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before the hostile messages, ${(rssAfter / 2 ** 20).toFixed(0)} MiB after`);
  assert.ok(rssAfter - rssBefore < MAX_RSS_GROWTH_BYTES, `RSS grew from ${rssBefore} to ${rssAfter} bytes`);
});

test('a DLQ topic that refuses every letter: /readyz 503 with the reason in a metric, then ready again once it takes them', { timeout: 120_000 }, async () => {
  const names = testNames('adversarial-dlq-stall');
  await createTopic(names.topic, 1);
  // Below the smallest letter we write (our headers alone): no reduction can make one fit.
  await createTopic(names.dlqTopic, 1, [{ name: 'max.message.bytes', value: '200' }]);
  cleanups.push(() => deleteTopics(names.topic, names.dlqTopic), () => dropCollection(names.collection));
  const consumer = await startConsumer(names, DIM, cleanups, { WITNESS_RETRY_INITIAL_MS: '100', WITNESS_RETRY_MAX_MS: '500' });
  await waitFor('ready', async () => (await httpGet(`${consumer.url}/readyz`)).status === 200, 30_000);

  await produce(names.topic, [{ key: 'poison', value: Buffer.from('not avro'), partition: 0 }]);
  await waitFor('/readyz 503', async () => (await httpGet(`${consumer.url}/readyz`)).status === 503, 30_000);
  const readyz = JSON.parse((await httpGet(`${consumer.url}/readyz`)).text) as { deadLetterStalled?: string };
  assert.equal(readyz.deadLetterStalled, 'MESSAGE_TOO_LARGE');
  assert.equal(sample(await metrics(), 'witness_dead_letter_stalled', { reason: 'MESSAGE_TOO_LARGE' }), 1);
  assert.equal(await committedOffsets(names.groupId, names.topic), 0, 'nothing committed past the unwritten letter');
  assert.ok(consumer.service.running());

  await setMaxMessageBytes(names.dlqTopic, 1_048_588);
  await waitFor('the letter written and committed', async () => (await committedOffsets(names.groupId, names.topic)) === 1, 60_000);
  await waitFor('ready again', async () => (await httpGet(`${consumer.url}/readyz`)).status === 200, 30_000);
  assert.equal(await messageCount({ brokers }, names.dlqTopic), 1);
  assert.equal(sample(await metrics(), 'witness_dead_letter_stalled'), 0);

  async function metrics(): Promise<string> {
    return (await httpGet(`${consumer.url}/metrics`)).text;
  }
});
