// Reading back what the producer wrote: every message of a topic, in partition order,
// with a hard timeout, and the exact message count from the offsets.
import kafkajs from 'kafkajs';
import { decodeEntry, type DecodedWitnessEntry } from '@witnesslog/schemas';
import { uniqueName } from '../../../test/support/env.js';

export interface Consumed {
  partition: number;
  offset: number;
  key: string;
  entry: DecodedWitnessEntry;
}

function client(brokers: string[]) {
  return new kafkajs.Kafka({ brokers, clientId: 'producer-test-reader', logLevel: kafkajs.logLevel.NOTHING });
}

/** Sum over partitions of (high watermark - low watermark): how many messages the topic holds. */
export async function messageCount(brokers: string[], topic: string): Promise<number> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Consumes the topic from the beginning until `count` messages arrived; each decoded. */
export async function consumeAll(brokers: string[], topic: string, count: number, timeoutMs = 30_000): Promise<Consumed[]> {
  const consumer = client(brokers).consumer({ groupId: uniqueName('producer-test') });
  const seen: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${seen.length} of ${count} messages from ${topic} in ${timeoutMs} ms`)), timeoutMs);
      if (count === 0) {
        clearTimeout(timer);
        resolve();
        return;
      }
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            seen.push({
              partition,
              offset: Number(message.offset),
              key: message.key!.toString(),
              entry: decodeEntry(message.value!),
            });
            if (seen.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

export async function deleteTopics(brokers: string[], topics: string[]): Promise<void> {
  const admin = client(brokers).admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
}
