// Helpers for the consumer's integration tests: topics, raw produce (plain
// kafkajs, so tests can also write poison), a consumer running in-process
// against the real broker and Qdrant, read-backs of Qdrant and the dead-letter
// topic, and a fault proxy. Entries and metric readers live in test/support/
// (re-exported here). The clients are built on first use, not at import.
import { QdrantClient } from '@qdrant/js-client-rest';
import kafkajs, { type Admin, type KafkaMessage, type Producer } from 'kafkajs';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import {
  createWitnessConsumer,
  loadConfig,
  type ConsumerConfig,
  type FlushEvent,
  type StoredPoint,
  type WitnessConsumer,
} from '@witnesslog/consumer';
import { brokers, consumerEnv, qdrantUrl, uniqueName } from './env.js';
import { freePort } from './net.js';
import { readMessages } from './topic.js';
import { lazy } from './lazy.js';
import type { RawMessage } from './entries.js';

export { brokers, qdrantUrl, uniqueName, freePort };
export { assertVectorClose, codec, encoded, testEntry, type RawMessage } from './entries.js';
export { metricValue } from './metrics.js';
export { rejectingProxy } from './rejecting-proxy.js';

export const kafka = lazy(() => new kafkajs.Kafka({ brokers, clientId: 'consumer-test', logLevel: kafkajs.logLevel.NOTHING }));
export const qdrant = lazy(() => new QdrantClient({ url: qdrantUrl, checkCompatibility: false }));

let adminPromise: Promise<Admin> | undefined;
let producerPromise: Promise<Producer> | undefined;

function admin(): Promise<Admin> {
  adminPromise ??= (async () => {
    const a = kafka.admin();
    await a.connect();
    return a;
  })();
  return adminPromise;
}

function producer(): Promise<Producer> {
  producerPromise ??= (async () => {
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await p.connect();
    return p;
  })();
  return producerPromise;
}

/** Disconnects the shared admin and producer; call from a file's after(). */
export async function disconnectShared(): Promise<void> {
  const [a, p] = [adminPromise, producerPromise];
  adminPromise = producerPromise = undefined;
  await (await a)?.disconnect();
  await (await p)?.disconnect();
}

export async function createTopics(...topics: Array<{ topic: string; partitions?: number }>): Promise<void> {
  await (await admin()).createTopics({
    topics: topics.map(({ topic, partitions = 1 }) => ({ topic, numPartitions: partitions })),
    waitForLeaders: true,
  });
}

export async function deleteTopics(...topics: string[]): Promise<void> {
  await (await admin()).deleteTopics({ topics }).catch(() => {});
}

export async function committedOffsets(groupId: string, topic: string): Promise<number> {
  const offsets = await (await admin()).fetchOffsets({ groupId, topics: [topic] });
  return offsets[0]!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}


/** Produces as given (acks=all), in order, in one request. */
export async function produce(topic: string, messages: RawMessage[]): Promise<void> {
  await (await producer()).send({ topic, acks: -1, messages: messages.map((m) => ({ ...m, key: m.key ?? null })) });
}

export function testLogger(name: string): Logger {
  const level = process.env.WITNESS_TEST_LOG ?? 'silent';
  return pino({ level, base: { test: name } }, pino.destination(2));
}

/** Names for one test: topic, DLQ topic, group, collection. */
export function testNames(prefix: string) {
  return {
    topic: uniqueName(`${prefix}`),
    dlqTopic: uniqueName(`${prefix}-dlq`),
    groupId: uniqueName(`${prefix}-group`),
    collection: uniqueName(`${prefix}_col`).replace(/-/g, '_'),
  };
}

export function testConfig(names: ReturnType<typeof testNames>, env: Record<string, string> = {}): ConsumerConfig {
  return loadConfig({
    ...consumerEnv(names),
    WITNESS_EMBEDDING_DIM: '8',
    WITNESS_BATCH_MAX_WAIT_MS: '100',
    WITNESS_RETRY_INITIAL_MS: '50',
    WITNESS_RETRY_MAX_MS: '500',
    WITNESS_SHUTDOWN_TIMEOUT_MS: '10000',
    LOG_LEVEL: process.env.WITNESS_TEST_LOG ?? 'silent',
    ...env,
  });
}

export interface RunningConsumer {
  consumer: WitnessConsumer;
  registry: Registry;
  flushes: FlushEvent[];
  close(): Promise<void>;
}

/** A consumer in this process; resolves once it has joined its group. */
export async function runConsumer(config: ConsumerConfig, name = 'consumer'): Promise<RunningConsumer> {
  const registry = new Registry();
  const consumer = createWitnessConsumer({ config, registry, logger: testLogger(name) });
  const flushes: FlushEvent[] = [];
  consumer.on('flush', (e) => flushes.push(e));
  const joined = new Promise<void>((resolve) => consumer.on('group_join', () => resolve()));
  await consumer.start();
  await joined;
  return {
    consumer,
    registry,
    flushes,
    close: async () => {
      await consumer.close();
    },
  };
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function countPoints(collection: string): Promise<number> {
  return (await qdrant.count(collection, { exact: true })).count;
}

export async function readPoints(collection: string): Promise<StoredPoint[]> {
  const out: StoredPoint[] = [];
  let offset: string | number | undefined;
  for (;;) {
    const page = await qdrant.scroll(collection, { limit: 256, with_payload: true, with_vector: true, ...(offset === undefined ? {} : { offset }) });
    out.push(...(page.points as StoredPoint[]));
    const next = page.next_page_offset;
    if (next === null || next === undefined || typeof next === 'object') break;
    offset = next;
  }
  return out;
}

export async function dropCollection(collection: string): Promise<void> {
  await qdrant.deleteCollection(collection).catch(() => {});
}

/** Reads `count` messages of a topic from the beginning with a throwaway group. */
export async function readTopic(topic: string, count: number, timeoutMs = 20_000): Promise<KafkaMessage[]> {
  return (await readMessages({ brokers }, topic, { count, timeoutMs })).map((m) => m.message);
}
