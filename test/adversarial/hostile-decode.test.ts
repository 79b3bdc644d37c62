// Hostile messages on the witness topic (issue 13, findings 1 and 3), against
// the running stack and a consumer service process as `npm start` runs it:
// length bombs (the 3,235-byte message with a block count of 2^31-1 or
// 2^26 in model_probs, context_doc_ids or tags; a count beyond the bytes left)
// and strings that are not UTF-8, among good entries on two partitions. Every
// hostile message is dead-lettered once with its reason and its original
// bytes, every good entry is stored, and the consumer stays up, ready and small.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DLQ_HEADERS } from '@witnesslog/consumer';
import {
  brokers,
  codec,
  committedOffsets,
  countPoints,
  createTopics,
  deleteTopics,
  dropCollection,
  produce,
  readPoints,
  testEntry,
  testNames,
  waitFor,
  type RawMessage,
} from '../support/pipeline.js';
import { arrayBomb, INVALID_UTF8, invalidUtf8Message, STRING_FIELDS, type BombField } from '../support/hostile.js';
import { httpGet } from '../support/http.js';
import { sample } from '../support/metrics.js';
import { messageCount, readMessages } from '../support/topic.js';
import { cleanupsAfterAll, startConsumer } from '../support/adversarial-consumer.js';

/** The messages carry 768-dim embeddings, the production default. */
const DIM = 768;
const PARTITIONS = 2;
/**
 * How much the consumer's RSS may grow over the hostile messages. The issue saw
 * a 2^26 count take it from 300 MB to 1.28 GB, and 2^31-1 end it; decoding
 * bounded by the message (a few KB each) leaves it where good entries put it.
 */
const MAX_RSS_GROWTH_BYTES = 200 * 1024 * 1024;

const cleanups = cleanupsAfterAll();

interface Hostile {
  key: string;
  value: Buffer;
  reason: string;
  /** What the dead letter's error header must name. */
  field: string;
}

function hostileMessages(): Hostile[] {
  const out: Hostile[] = [];
  const paths: Record<BombField, string> = { model_probs: 'routing_decision.model_probs', context_doc_ids: 'context_doc_ids', tags: 'tags' };
  for (const field of ['model_probs', 'context_doc_ids', 'tags'] as const) {
    for (const [name, count] of [['2^31-1', 2 ** 31 - 1], ['2^26', 2 ** 26]] as const) {
      out.push({ key: `bomb-${field}-${name}`, value: arrayBomb(field, count), reason: 'WITNESS_DECODE_BOUNDS', field: paths[field] });
    }
  }
  // Within the cap (256 tags) but more than the bytes left: refused as truncated, not looped over.
  out.push({ key: 'bomb-tags-200-past-the-end', value: arrayBomb('tags', 200), reason: 'WITNESS_TRUNCATED', field: 'tags' });
  INVALID_UTF8.forEach(({ why, bytes }, i) => {
    const field = STRING_FIELDS[i % STRING_FIELDS.length]!;
    const entry = testEntry(DIM, 1_000 + i, `utf8-${i}`);
    out.push({
      key: `utf8-${field.name}-${why.replaceAll(' ', '-')}`,
      value: invalidUtf8Message(field, bytes, { ...entry, error: { code: 'E', message: 'm', stack_trace: 's', recovery_attempted: false } }),
      reason: 'WITNESS_INVALID_UTF8',
      field: field.name,
    });
  });
  return out;
}

test('length bombs and invalid UTF-8 are dead-lettered once each with their reason; good entries around them are stored', { timeout: 240_000 }, async (t) => {
  const names = testNames('adversarial-decode');
  await createTopics({ topic: names.topic, partitions: PARTITIONS }, { topic: names.dlqTopic });
  cleanups.push(() => deleteTopics(names.topic, names.dlqTopic), () => dropCollection(names.collection));
  const consumer = await startConsumer(names, DIM, cleanups);
  const metrics = async () => (await httpGet(`${consumer.url}/metrics`)).text;

  // Good entries first, so the RSS baseline is that of a consumer that has worked.
  const warmup = Array.from({ length: 20 }, (_, i) => testEntry(DIM, i, `warm-${i}`));
  await produce(names.topic, warmup.map((e, i) => ({ key: e.session_id, value: codec(DIM).encode(e), partition: i % PARTITIONS })));
  await waitFor('the warm-up entries stored', async () => (await countPoints(names.collection).catch(() => 0)) === warmup.length, 60_000);
  const rssBefore = sample(await metrics(), 'process_resident_memory_bytes');

  const hostile = hostileMessages();
  const good = Array.from({ length: 40 }, (_, i) => testEntry(DIM, i, `good-${i}`));
  const messages: RawMessage[] = [];
  for (let i = 0; i < Math.max(good.length, hostile.length); i++) {
    const g = good[i];
    if (g) messages.push({ key: g.session_id, value: codec(DIM).encode(g), partition: i % PARTITIONS });
    const h = hostile[i];
    if (h) messages.push({ key: h.key, value: h.value, partition: i % PARTITIONS });
  }
  const total = warmup.length + messages.length;
  await produce(names.topic, messages);
  await waitFor(`all ${total} messages committed`, async () => (await committedOffsets(names.groupId, names.topic)) === total, 120_000);

  // Every good entry stored, with its payload.
  const stored = new Map((await readPoints(names.collection)).map((p) => [String(p.id), p]));
  assert.equal(stored.size, warmup.length + good.length);
  for (const e of [...warmup, ...good]) assert.equal(stored.get(e.request_id)?.payload?.session_id, e.session_id, e.request_id);

  // Every hostile message dead-lettered exactly once, with its reason, the field named, and its bytes untouched.
  assert.equal(await messageCount({ brokers }, names.dlqTopic), hostile.length, 'one dead letter per hostile message, no more');
  const letters = (await readMessages({ brokers }, names.dlqTopic, { count: hostile.length })).map((m) => m.message);
  const byKey = new Map(letters.map((m) => [m.key!.toString(), m]));
  assert.equal(byKey.size, hostile.length);
  for (const h of hostile) {
    const letter = byKey.get(h.key);
    assert.ok(letter, `no dead letter for ${h.key}`);
    const reason = letter.headers![DLQ_HEADERS.reason]!.toString();
    const error = letter.headers![DLQ_HEADERS.error]!.toString();
    t.diagnostic(`${h.key}: ${reason}: ${error}`);
    assert.equal(reason, h.reason, h.key);
    assert.ok(error.includes(h.field), `${h.key}: ${error}`);
    assert.deepEqual(letter.value, h.value, `${h.key}: the original bytes`);
  }

  // The same process, still ready, and not grown by what it refused.
  const text = await metrics();
  for (const reason of new Set(hostile.map((h) => h.reason))) {
    const expected = hostile.filter((h) => h.reason === reason).length;
    assert.equal(sample(text, 'witness_entries_dead_lettered_total', { reason }), expected, reason);
  }
  assert.ok(consumer.service.running(), 'the consumer process is still running');
  assert.equal((await httpGet(`${consumer.url}/readyz`)).status, 200);
  const rssAfter = sample(text, 'process_resident_memory_bytes');
  t.diagnostic(`consumer RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB before the hostile messages, ${(rssAfter / 2 ** 20).toFixed(0)} MiB after`);
  assert.ok(rssAfter - rssBefore < MAX_RSS_GROWTH_BYTES, `RSS grew from ${rssBefore} to ${rssAfter} bytes`);
});
