// The consumer's only door to Kafka. Everything else in src/ speaks the small
// interfaces below (a group consumer, a record producer, an admin), so the
// client library (kafkajs, which is no longer released) can be swapped by
// editing this file alone, and the delivery logic can be driven in unit tests
// by fakes of these interfaces.
//
// The kafkajs client is built from the configuration: TLS, SASL, and kafkajs's
// log lines routed into our pino logger (component "kafkajs") instead of its own
// console output, at the level the service runs at, in the one shape the core's
// clientLogSink gives them in both packages.
import { clientLogSink, errorChain } from '@witnesslog/core';
import kafkajs, { type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { ConsumerConfig, LogLevel } from '../config.js';

const { Kafka, logLevel: KafkaLogLevel } = kafkajs;

/** Record headers as Kafka carries them. */
export type RecordHeaders = Record<string, Buffer | string | Array<Buffer | string> | undefined>;

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read, as committed. */
  offset: string;
}

export interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeaders | undefined;
}

export interface FetchedBatch {
  topic: string;
  partition: number;
  highWatermark: string;
  /** Offset of the first message, null when the batch holds none. */
  firstOffset: string | null;
  /** Offset of the last record fetched, control records included. */
  lastOffset: string;
  messages: readonly FetchedMessage[];
}

/** What the fetch loop lets a batch handler do. */
export interface BatchControl {
  /** Moves the fetch position past `offset` (a read position, not a commit). */
  resolveOffset(offset: string): void;
  /** Rejects with an error for which isRebalanceInProgress is true when the group is rebalancing. */
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

export interface GroupConsumerEvents {
  groupJoin(assignment: Record<string, number[]>): void;
  rebalancing(): void;
  crash(error: Error, restart: boolean): void;
}

/** A member of a consumer group that never commits by itself. */
export interface GroupConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(topic: string): Promise<void>;
  /** Starts the fetch loop; each fetched batch goes to `eachBatch`, one partition at a time. */
  run(eachBatch: (batch: FetchedBatch, control: BatchControl) => Promise<void>): Promise<void>;
  pause(topic: string): void;
  resume(topic: string): void;
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
  on<E extends keyof GroupConsumerEvents>(event: E, listener: GroupConsumerEvents[E]): void;
}

export interface OutgoingRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
}

/** An idempotent producer whose sends resolve once every in-sync replica has the records (acks=all). */
export interface RecordProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(topic: string, records: OutgoingRecord[]): Promise<void>;
}

export interface PartitionRange {
  partition: number;
  low: string;
  high: string;
}

export interface KafkaAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  topicOffsets(topic: string): Promise<PartitionRange[]>;
  /** The group's committed offset per partition ("-1" before its first commit). */
  committedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }>>;
}

export interface GroupConsumerOptions {
  groupId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How long a fetch waits for data; also how long a paused fetch loop sleeps. */
  maxWaitMs: number;
}

export interface KafkaClients {
  groupConsumer(options: GroupConsumerOptions): GroupConsumer;
  producer(): RecordProducer;
  admin(): KafkaAdmin;
}

function kafkaLogLevel(level: LogLevel): kafkajs.logLevel {
  switch (level) {
    case 'trace':
    case 'debug':
      return KafkaLogLevel.DEBUG;
    case 'info':
      return KafkaLogLevel.INFO;
    case 'warn':
      return KafkaLogLevel.WARN;
    case 'error':
    case 'fatal':
      return KafkaLogLevel.ERROR;
    case 'silent':
      return KafkaLogLevel.NOTHING;
  }
}

/** The group is rebalancing and still accepts our commits (what a heartbeat answers then). */
export function isRebalanceInProgress(err: unknown): boolean {
  return (err as { type?: unknown } | null)?.type === 'REBALANCE_IN_PROGRESS';
}

/** Kafka could not be reached: kafkajs names its connection failures; retries exhausted wrap one of them. */
export function isKafkaUnreachable(err: unknown): boolean {
  return errorChain(err).some((e) => {
    const { name, message } = e as { name?: unknown; message?: unknown };
    if (name === 'KafkaJSConnectionError' || name === 'KafkaJSBrokerNotFound') return true;
    return name === 'KafkaJSNonRetriableError' && /connect/i.test(String(message));
  });
}

export function createKafka(config: ConsumerConfig, logger: Logger): KafkaClients {
  const kafka = createKafkajs(config, logger);
  return {
    groupConsumer: (options) => groupConsumer(kafka, options),
    producer: () => recordProducer(kafka),
    admin: () => admin(kafka),
  };
}

/** The kafkajs client itself, for the ops tools that read a topic outside a consumer group's flow (ops/redrive.ts). */
export function createKafkajs(config: ConsumerConfig, logger: Logger): kafkajs.Kafka {
  const log = logger.child({ component: 'kafkajs' });
  const { brokers, clientId, ssl, sasl } = config.kafka;
  const options: KafkaConfig = {
    clientId,
    brokers: [...brokers],
    logLevel: kafkaLogLevel(config.logLevel),
    logCreator: () => clientLogSink(log),
  };
  if (ssl !== false) {
    const tls = { ...(ssl.ca === undefined ? {} : { ca: [ssl.ca] }), ...(ssl.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: ssl.rejectUnauthorized }) };
    options.ssl = Object.keys(tls).length === 0 ? true : tls;
  }
  if (sasl) options.sasl = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
  return new Kafka(options);
}

function groupConsumer(kafka: kafkajs.Kafka, options: GroupConsumerOptions): GroupConsumer {
  const consumer = kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitMs,
    sessionTimeout: options.sessionTimeoutMs,
    // The coordinator waits this long for members to rejoin; the hand-over flush stays well inside it.
    rebalanceTimeout: 60_000,
    heartbeatInterval: options.heartbeatIntervalMs,
  });
  return {
    connect: () => consumer.connect(),
    disconnect: () => consumer.disconnect(),
    subscribe: (topic) => consumer.subscribe({ topic, fromBeginning: true }),
    run: (eachBatch) =>
      consumer.run({
        // With autoCommit off kafkajs never commits resolved offsets itself (runner.js
        // gates every commit on autoCommit): only our ledger commits.
        eachBatchAutoResolve: false,
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: ({ batch, resolveOffset, heartbeat, isRunning, isStale }) =>
          eachBatch(
            {
              topic: batch.topic,
              partition: batch.partition,
              highWatermark: batch.highWatermark,
              firstOffset: batch.firstOffset(),
              lastOffset: batch.lastOffset(),
              messages: batch.messages,
            },
            { resolveOffset, heartbeat, isRunning, isStale },
          ),
      }),
    pause: (topic) => consumer.pause([{ topic }]),
    resume: (topic) => consumer.resume([{ topic }]),
    commitOffsets: (offsets) => consumer.commitOffsets(offsets),
    on(event, listener) {
      if (event === 'groupJoin') {
        const onJoin = listener as GroupConsumerEvents['groupJoin'];
        consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => onJoin(payload.memberAssignment));
      } else if (event === 'rebalancing') {
        consumer.on(consumer.events.REBALANCING, () => (listener as GroupConsumerEvents['rebalancing'])());
      } else {
        const onCrash = listener as GroupConsumerEvents['crash'];
        consumer.on(consumer.events.CRASH, ({ payload }) => onCrash(payload.error, payload.restart));
      }
    },
  };
}

function recordProducer(kafka: kafkajs.Kafka): RecordProducer {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(topic, records) {
      await producer.send({ topic, acks: -1, messages: records });
    },
  };
}

function admin(kafka: kafkajs.Kafka): KafkaAdmin {
  const client = kafka.admin();
  return {
    connect: () => client.connect(),
    disconnect: () => client.disconnect(),
    listTopics: () => client.listTopics(),
    async topicOffsets(topic) {
      return (await client.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ partition, low, high }));
    },
    async committedOffsets(groupId, topic) {
      const [committed] = await client.fetchOffsets({ groupId, topics: [topic] });
      return committed?.partitions.map(({ partition, offset }) => ({ partition, offset })) ?? [];
    },
  };
}
