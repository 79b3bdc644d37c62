// What the producer writes is what a consumer reads: every entry, decoded equal (with
// the producer identity the SDK set: seq = the order of recording), one
// session's entries in the order they were recorded; and close() delivers what is pending.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { createWitnessProducer } from '@witnesslog/producer';
import type { WitnessEntry } from '@witnesslog/schemas';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { entry } from '../../../test/support/entries.js';
import { consumeAll, deleteTopics, messageCount } from '../../../test/support/producer-kafka.js';
import { collectUnhandledRejections } from '../../../test/support/unhandled.js';

const topics: string[] = [];
const unhandled = collectUnhandledRejections();
after(async () => {
  unhandled.stop();
  await deleteTopics(brokers, topics);
});

function newTopic(prefix: string): string {
  const t = uniqueName(prefix);
  topics.push(t);
  return t;
}

test('entries come back decoded equal, in order within each session', { timeout: 120_000 }, async (t) => {
  const topic = newTopic('producer-roundtrip');
  const producer = createWitnessProducer({ brokers, topic });
  t.after(() => producer.close());
  const sessions = Array.from({ length: 6 }, () => randomUUID());
  const recorded = new Map<string, WitnessEntry>();
  const seqOf = new Map<string, number>();
  const order = new Map<string, string[]>(sessions.map((s) => [s, []]));

  // Interleaved sessions, a few entries with errors, recorded in small bursts so
  // batches cut through sessions at different places.
  for (let i = 0; i < 300; i++) {
    const session = sessions[(i * 7) % sessions.length]!;
    const e = entry(session, { failed: i % 13 === 0, tags: [`n${i}`] });
    assert.equal(producer.record(e), true);
    recorded.set(e.request_id, e);
    seqOf.set(e.request_id, i);
    order.get(session)!.push(e.request_id);
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5));
  }
  await producer.flush();
  const stats = producer.stats();
  assert.equal(stats.delivered, 300);
  assert.equal(stats.pending, 0);
  assert.equal(stats.error, 24); // i % 13 === 0 for i in 0..299
  assert.equal(stats.success, 276);

  const consumed = await consumeAll(brokers, topic, 300);
  assert.equal(await messageCount(brokers, topic), 300, 'no duplicates in the topic');
  for (const c of consumed) {
    const original = recorded.get(c.entry.request_id);
    assert.ok(original, `unknown entry ${c.entry.request_id}`);
    assert.equal(c.key, original.session_id, 'the message key is the session id');
    assert.deepEqual(c.entry, {
      ...original,
      query_embedding: Float32Array.from(original.query_embedding),
      response_embedding: Float32Array.from(original.response_embedding),
      producer: { id: stats.producer.id, seq: seqOf.get(original.request_id), service: stats.producer.service, host: stats.producer.host },
    });
  }
  assert.equal(stats.producer.last_seq, 299);
  // Within a partition the consumer sees offset order; a session lives on one partition.
  const seen = new Map<string, string[]>();
  const partitionOf = new Map<string, number>();
  for (const c of [...consumed].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const s = c.entry.session_id;
    if (partitionOf.has(s)) assert.equal(partitionOf.get(s), c.partition, `session ${s} spans partitions`);
    partitionOf.set(s, c.partition);
    seen.set(s, [...(seen.get(s) ?? []), c.entry.request_id]);
  }
  for (const s of sessions) assert.deepEqual(seen.get(s), order.get(s), `order of session ${s}`);

  await producer.close();
  assert.deepEqual(unhandled.errors, []);
});

test('close() delivers everything pending, is safe twice, and refuses entries after', { timeout: 120_000 }, async (t) => {
  const topic = newTopic('producer-close');
  // A long linger: without close() flushing, these entries would still be waiting.
  const producer = createWitnessProducer({ brokers, topic, lingerMs: 60_000, maxBatchEntries: 100_000 });
  t.after(() => producer.close());
  const session = randomUUID();
  for (let i = 0; i < 150; i++) assert.equal(producer.record(entry(session)), true);
  assert.equal(producer.stats().pending, 150);

  const [first, second] = [producer.close(), producer.close()];
  await Promise.all([first, second]);
  await producer.close(); // and once more, after it finished

  const stats = producer.stats();
  assert.equal(stats.running, false);
  assert.equal(stats.delivered, 150);
  assert.equal(stats.pending, 0);
  assert.equal(stats.dropped.send_failed, 0);

  assert.equal(producer.record(entry(session)), false);
  assert.equal(producer.recordBatch([entry(session), entry(session)]), 0);
  await assert.rejects(producer.recordCritical(entry(session)), { code: 'WITNESS_PRODUCER_CLOSED' });
  const refused = producer.stats();
  assert.equal(refused.dropped.closed, 4);
  assert.equal(refused.total, 150, 'entries refused after close are not counted as recorded');
  assert.equal(refused.attempted, 154);
  await producer.flush(); // nothing pending: resolves at once

  const consumed = await consumeAll(brokers, topic, 150);
  assert.equal(consumed.length, 150);
  // The 150 entries and close()'s final checkpoint (issue 26), which is not an entry.
  assert.equal(await messageCount(brokers, topic), 151);
  assert.deepEqual(unhandled.errors, []);
});
