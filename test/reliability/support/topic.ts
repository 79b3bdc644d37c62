// Reading a topic back, whole, over the plain or a secured listener.
import kafkajs, { type KafkaConfig, type KafkaMessage } from 'kafkajs';
import { uniqueName } from '../../support/env.js';

/** How clients reach the broker: the plain listener, or a secured one (security.test.ts). */
export interface KafkaAccess {
  brokers: string[];
  ssl?: KafkaConfig['ssl'];
  sasl?: KafkaConfig['sasl'];
}

/** Every message of a topic from the beginning (the count is known from the offsets first). */
export async function readTopic(access: KafkaAccess, topic: string, timeoutMs = 60_000): Promise<KafkaMessage[]> {
  const kafka = new kafkajs.Kafka({ ...access, clientId: 'reliability-reader', logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  let expected: number;
  try {
    expected = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
  if (expected === 0) return [];
  const consumer = kafka.consumer({ groupId: uniqueName('reliability-reader'), maxWaitTimeInMs: 200 });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${seen.length} of ${expected} messages of ${topic} in ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message);
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

