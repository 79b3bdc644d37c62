// Reading a topic back from the beginning, as the tests check what reached
// Kafka: every message with its partition, a hard timeout, and (unless told)
// the count taken from the offsets first. Over the plain or a secured listener.
import kafkajs, { type KafkaConfig, type KafkaMessage } from 'kafkajs';
import { isCheckpointMessage } from '@witnesslog/schemas';
import { uniqueName } from './env.js';

/** How clients reach the broker: the plain listener, or a secured one (security.test.ts). */
export interface KafkaAccess {
  brokers: string[];
  ssl?: KafkaConfig['ssl'];
  sasl?: KafkaConfig['sasl'];
}

const client = (access: KafkaAccess) => new kafkajs.Kafka({ ...access, clientId: 'test-reader', logLevel: kafkajs.logLevel.NOTHING });

/** Sum over partitions of (high watermark - low watermark): how many messages the topic holds. */
export async function messageCount(access: KafkaAccess, topic: string): Promise<number> {
  const admin = client(access).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the topics; one that does not exist is no error. */
export async function deleteTopics(access: KafkaAccess, topics: string[]): Promise<void> {
  const admin = client(access).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

/** `count` messages (default: all the topic holds now) with a throwaway group; rejects after timeoutMs. */
export async function readMessages(
  access: KafkaAccess,
  topic: string,
  { count, timeoutMs = 30_000 }: { count?: number; timeoutMs?: number } = {},
): Promise<Array<{ partition: number; message: KafkaMessage }>> {
  const expected = count ?? (await messageCount(access, topic));
  if (expected === 0) return [];
  const consumer = client(access).consumer({ groupId: uniqueName('test-reader'), maxWaitTimeInMs: 200 });
  const seen: Array<{ partition: number; message: KafkaMessage }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${seen.length} of ${expected} messages of ${topic} in ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            seen.push({ partition, message });
            if (seen.length >= expected) {
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

/** Every message of a topic, as the offsets count them. */
export async function readTopic(access: KafkaAccess, topic: string, timeoutMs = 60_000): Promise<KafkaMessage[]> {
  return (await readMessages(access, topic, { timeoutMs })).map((m) => m.message);
}

/** The topic's messages by kind: the SDKs' checkpoints (issue 26) apart from everything else. */
export async function countByKind(access: KafkaAccess, topic: string): Promise<{ entries: number; checkpoints: number }> {
  const read = await readMessages(access, topic);
  const checkpoints = read.filter(({ message }) => isCheckpointMessage(message.value ?? Buffer.alloc(0))).length;
  return { entries: read.length - checkpoints, checkpoints };
}
