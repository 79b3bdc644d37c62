// The public shape of the witness consumer: its options, events, status and
// methods (the implementation is consumer.ts).
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConsumerConfig } from '../config.js';
import type { FlushEvent } from './flush.js';
import type { KafkaClients, TopicPartitionOffset } from './kafka.js';
import type { QdrantProbe, QdrantWriter } from '../store/qdrant.js';
import type { SchemaVersion } from '@witnesslog/schemas';

export type { FlushEvent, TopicPartitionOffset };

export interface WitnessConsumerOptions {
  config: ConsumerConfig;
  /** The host's registry; the consumer registers its metrics (METRICS) into it. */
  registry: Registry;
  logger: Logger;
  /** Also register Node process metrics (CPU, memory, event loop, GC). Default false: the host decides. */
  processMetrics?: boolean;
  /** The Kafka clients. Default: kafkajs, from config.kafka. */
  kafka?: KafkaClients;
  /** The Qdrant client writes go through, and the one readiness asks (it must answer quickly). Default: from config.qdrant. */
  qdrant?: { writer: QdrantWriter; probe: QdrantProbe };
  /** Wall clock, ms. Default Date.now. */
  now?: () => number;
  /**
   * The schema versions this consumer reads, oldest first; entries are read as the
   * last. Default: every production version. A message of any other version is
   * dead-lettered as WITNESS_UNKNOWN_FINGERPRINT: set it to an older list to see what
   * an older consumer does with a newer producer's messages (the deploy-order tests).
   */
  schemaVersions?: readonly SchemaVersion[];
}

export interface ConsumerEvents {
  flush: [FlushEvent];
  pause: [{ buffered: number }];
  resume: [{ buffered: number }];
  group_join: [{ assignment: Record<string, number[]>; generation: number }];
  /** An error the consumer cannot continue from; the host should close and exit non-zero. */
  fatal: [Error];
}

export interface ConsumerStatus {
  started: boolean;
  joined: boolean;
  closing: boolean;
  paused: boolean;
  buffered: number;
  qdrantReachable: boolean;
  /** Present while dead letters fail past the retry bound: the error type (e.g. MESSAGE_TOO_LARGE, NETWORK). */
  deadLetterStalled?: string;
  assignment: Record<string, number[]>;
}

export interface CloseResult {
  /** True when everything fetched was written and committed before disconnecting. */
  drained: boolean;
}

export interface WitnessConsumer {
  /** Ensures the collection, connects, joins the group and starts consuming. Rejects on a wrong collection or unreachable Kafka. */
  start(): Promise<void>;
  /** Stops fetching, flushes and commits (bounded by shutdownTimeoutMs), disconnects. Safe to call more than once. */
  close(): Promise<CloseResult>;
  /** Joined the group, not closing, dead letters not stalled, and Qdrant answers. */
  ready(): Promise<boolean>;
  status(): ConsumerStatus;
  on<E extends keyof ConsumerEvents>(event: E, listener: (...args: ConsumerEvents[E]) => void): () => void;
}
