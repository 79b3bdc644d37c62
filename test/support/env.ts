// Where the running local stack is (local/stack.ts sets these for the tests) and
// small helpers that give every test its own topic, group and collection names.
import { randomBytes } from 'node:crypto';

export const brokers = (process.env.WITNESS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const qdrantUrl = process.env.WITNESS_QDRANT_URL ?? 'http://127.0.0.1:6333';
export const prometheusUrl = process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090';

/** A name no other test (or earlier run) uses: `prefix-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A consumer's names: its topic, dead-letter topic, group and collection. */
export interface ConsumerNames {
  topic: string;
  dlqTopic: string;
  groupId: string;
  collection: string;
}

/** Fresh names for one scenario: its topic, dead-letter topic, group and collection. */
export function uniqueConsumerNames(prefix: string): ConsumerNames {
  return {
    topic: uniqueName(prefix),
    dlqTopic: uniqueName(`${prefix}-dlq`),
    groupId: uniqueName(`${prefix}-group`),
    // Qdrant collection names take no '-' in some tools; keep them plain.
    collection: uniqueName(`${prefix}_col`).replace(/-/g, '_'),
  };
}

/** The consumer's variables for `names` against a broker and a Qdrant (the local stack's by default). */
export function consumerEnv(
  names: ConsumerNames,
  { brokers: kafka = brokers, qdrant = qdrantUrl }: { brokers?: readonly string[]; qdrant?: string } = {},
): Record<string, string> {
  return {
    WITNESS_KAFKA_BROKERS: kafka.join(','),
    WITNESS_QDRANT_URL: qdrant,
    WITNESS_TOPIC: names.topic,
    WITNESS_DLQ_TOPIC: names.dlqTopic,
    WITNESS_GROUP_ID: names.groupId,
    WITNESS_COLLECTION: names.collection,
    // WITNESS_QDRANT_WRITE_PROTOCOL=rest (or grpc) runs the consumer tests on that write path.
    ...(process.env.WITNESS_QDRANT_WRITE_PROTOCOL ? { WITNESS_QDRANT_WRITE_PROTOCOL: process.env.WITNESS_QDRANT_WRITE_PROTOCOL } : {}),
  };
}
