// The real broker and kafkajs 2.2.4 agree on what the pipeline needs: idempotent
// produce with acks=all, consumer groups, and offsets that survive a consumer restart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { brokers, uniqueName } from '../support/env.js';

const kafka = new kafkajs.Kafka({ brokers, clientId: 'roundtrip-test', logLevel: kafkajs.logLevel.NOTHING });
const admin = kafka.admin();
const topic = uniqueName('roundtrip');
const groupId = uniqueName('roundtrip-group');

before(async () => {
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
});

after(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
});

async function produce(values: string[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.sendBatch({
    acks: -1,
    topicMessages: [{ topic, messages: values.map((v) => ({ key: `k${v.length % 3}`, value: v })) }],
  });
  await producer.disconnect();
}

/** Runs a consumer in the group until it has seen `count` messages, then leaves the group. */
async function consume(count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`saw ${seen.length}/${count} messages in 30 s`)), 30_000);
    void consumer.run({
      // Explicit commits, as the consumer service does them: the offset after each message.
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        seen.push(message.value!.toString());
        if (seen.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

test('produce, consume in a group, commit, and resume after a restart', async () => {
  const first = Array.from({ length: 20 }, (_, i) => `first-${i}`);
  await produce(first);
  assert.deepEqual((await consume(20)).sort(), [...first].sort());

  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  // A partition with nothing committed reports -1.
  const committed = offsets[0]!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  assert.equal(committed, 20, 'the group committed every message it consumed');

  // A restarted member of the same group starts from the committed offsets: it sees only the new ones.
  await produce(['second-0', 'second-1']);
  assert.deepEqual((await consume(2)).sort(), ['second-0', 'second-1']);
});
