// Re-ingesting the topic into another collection, for re-indexing after a
// schema or embedding-model change. It is the ordinary consumer with a group
// that has never committed (so it starts at the beginning of every partition),
// run until it has committed up to the high watermarks seen at start. Entries
// produced meanwhile may or may not be copied: the replay is a snapshot of the
// topic as it was when it began, and the live consumer has the rest.
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ConsumerConfig } from '../config.js';
import { createWitnessConsumer } from '../ingest/consumer.js';
import { UnknownTopicError, classifyQdrantError } from '../errors.js';
import { createKafka } from '../ingest/kafka.js';
import { createQdrantClient } from '../store/qdrant.js';
import { ensureCollection } from '../store/collection.js';

export interface ReplayOptions {
  /** The consumer configuration; its groupId should be fresh and its collection the new one. */
  config: ConsumerConfig;
  logger: Logger;
  /** How often the committed offsets are compared with the target. Default 250 ms. */
  pollMs?: number;
  /** Called after each comparison: messages committed so far, of `total`. */
  onProgress?: (progress: { done: number; total: number }) => void;
}

export interface ReplayResult {
  topic: string;
  collection: string;
  groupId: string;
  /** Messages up to the high watermarks at start. */
  messages: number;
  written: number;
  deadLettered: number;
  /** Points in the collection afterwards. */
  points: number;
}

export async function replayTopic({ config, logger, pollMs = 250, onProgress }: ReplayOptions): Promise<ReplayResult> {
  const qdrant = createQdrantClient(config.qdrant);
  // The consumer waits for Qdrant without end (right for a service); a replay
  // started against an unreachable Qdrant should say so at once instead.
  try {
    await qdrant.getCollections();
  } catch (err) {
    throw classifyQdrantError(err);
  }
  // A read-only key reads the list above, and the consumer would retry its refused writes
  // forever: creating the collection (what the consumer does first) and a write that
  // changes nothing (deleting no points) ask Qdrant now, and a 403 ends the replay.
  const { collection, collectionOptions } = config.qdrant;
  await ensureCollection(qdrant, { collection, dim: config.embeddingDim, logger, ...(collectionOptions ? { options: collectionOptions } : {}) });
  try {
    await qdrant.delete(collection, { points: [], wait: true });
  } catch (err) {
    // Qdrant checks the key before the request: 400 ("Empty update request") means the key may write.
    if ((err as { status?: unknown }).status !== 400) throw classifyQdrantError(err);
  }
  const admin = createKafka(config, logger).admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(config.topic)) throw new UnknownTopicError(config.topic);
    const target = new Map((await admin.topicOffsets(config.topic)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
    const messages = [...target.values()].reduce((n, p) => n + (p.high - p.low), 0);

    const consumer = createWitnessConsumer({ config, registry: new Registry(), logger });
    let written = 0;
    let deadLettered = 0;
    consumer.on('flush', (e) => {
      written += e.written;
      deadLettered += e.deadLettered;
    });
    let fatal: Error | undefined;
    consumer.on('fatal', (err) => (fatal = err));
    try {
      await consumer.start();
      for (;;) {
        if (fatal) throw fatal;
        const committed = await admin.committedOffsets(config.groupId, config.topic);
        let done = 0;
        for (const [partition, { low, high }] of target) {
          // -1 until the group commits; an empty partition (high == low) has nothing to wait for.
          const offset = Number(committed.find((p) => p.partition === partition)?.offset ?? -1);
          done += Math.max(0, Math.min(offset, high) - low);
        }
        onProgress?.({ done, total: messages });
        if (done >= messages) break;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    } finally {
      await consumer.close();
    }

    let points: number;
    try {
      points = (await qdrant.count(config.qdrant.collection, { exact: true })).count;
    } catch (err) {
      throw classifyQdrantError(err);
    }
    return { topic: config.topic, collection: config.qdrant.collection, groupId: config.groupId, messages, written, deadLettered, points };
  } finally {
    await admin.disconnect();
  }
}
