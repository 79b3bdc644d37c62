// @witnesslog/consumer: the witness consumer (topic -> Qdrant), its
// configuration, metrics and replay. Reading the log back is
// @witnesslog/consumer/query (query/index.ts).
export { createWitnessConsumer } from './ingest/consumer.js';
export { loadConfig, redactConfig, CONFIG_DEFAULTS } from './config.js';
export { createMetrics, METRICS, METRIC_NAMES } from './ingest/metrics.js';
export { entryToPoint, pointToEntry, pointToRecord, storedVectors, QUERY_VECTOR, RESPONSE_VECTOR } from './store/point.js';
export { replayTopic } from './ops/replay.js';
export { ensureCollection, vectorsConfig, PAYLOAD_INDEXES } from './store/collection.js';
export { DLQ_HEADERS } from './ingest/dead-letter.js';
export {
  WitnessConsumerError,
  ConfigError,
  CollectionMismatchError,
  QdrantUnavailableError,
  QdrantRejectedError,
  DeadLetterError,
  AbortedError,
  EmptyMessageError,
  UnknownTopicError,
} from './errors.js';

export type {
  WitnessConsumer,
  WitnessConsumerOptions,
  ConsumerEvents,
  ConsumerStatus,
  CloseResult,
  FlushEvent,
  TopicPartitionOffset,
} from './ingest/types.js';
export type { ConsumerConfig, ConfigEnv, ConfigVariable, LogLevel, SaslMechanism, SslOptions, SaslOptions } from './config.js';
export type { ConsumerMetrics, MetricKey } from './ingest/metrics.js';
export type { WitnessPoint, WitnessPayload, WitnessRecord, StoredPoint, VectorNorms } from './store/point.js';
export type { ReplayOptions, ReplayResult } from './ops/replay.js';
export type { KafkaClients, GroupConsumer, RecordProducer, KafkaAdmin } from './ingest/kafka.js';
export type { QdrantWriter, QdrantProbe } from './store/qdrant.js';
export type { ConsumerErrorCode, QdrantErrorKind, QdrantError } from './errors.js';
