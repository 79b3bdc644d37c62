// What the broker refuses for good is counted as send_failed, entry by entry: a topic
// whose max.message.bytes (5,000) is below one large entry (~6.5 KB) but above a small
// one (~3.3 KB). A batch that is too large is split until what remains fits; only the
// entry that can never fit is dropped, and the ones around it are delivered in order.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { createWitnessProducer, SendFailedError } from '@witnesslog/producer';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { entry, unitVector } from '../../../test/support/entries.js';
import { consumeAll, deleteTopics, messageCount } from '../../../test/support/producer-kafka.js';
import { collectUnhandledRejections } from '../../../test/support/unhandled.js';

const topic = uniqueName('producer-too-large');
const unhandled = collectUnhandledRejections();
before(async () => {
  const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '5000' }] }],
    waitForLeaders: true,
  });
  await admin.disconnect();
});
after(async () => {
  unhandled.stop();
  await deleteTopics(brokers, [topic]);
});

test('too large for the broker: split, deliver what fits, count the rest as send_failed', { timeout: 120_000 }, async (t) => {
  const producer = createWitnessProducer({ brokers, topic, lingerMs: 50 });
  t.after(() => producer.close());
  const session = randomUUID();
  const small = () => entry(session);
  const large = () => ({ ...entry(session), response_embedding: unitVector() });

  const sent = [small(), small(), large(), small(), small(), small()];
  for (const e of sent) assert.equal(producer.record(e), true);
  await producer.flush();

  let s = producer.stats();
  assert.equal(s.delivered, 5);
  assert.equal(s.dropped.send_failed, 1);
  assert.equal(s.pending, 0);
  assert.equal(s.total, s.delivered + s.dropped.send_failed + s.pending);

  const critical = large();
  const error = await producer.recordCritical(critical).then(
    () => assert.fail('the broker cannot accept this entry'),
    (err: unknown) => err,
  );
  assert.ok(error instanceof SendFailedError, String(error));
  assert.equal(error.code, 'WITNESS_SEND_FAILED');
  assert.equal(error.reason, 'MESSAGE_TOO_LARGE');
  assert.equal(error.retriable, false);

  s = producer.stats();
  assert.equal(s.dropped.send_failed, 2);
  const expected = sent.filter((_, i) => i !== 2).map((e) => e.request_id);
  const consumed = await consumeAll(brokers, topic, expected.length);
  assert.deepEqual(
    consumed.map((c) => c.entry.request_id),
    expected,
  );
  assert.equal(await messageCount(brokers, topic), expected.length);
  assert.deepEqual(unhandled.errors, []);
});
