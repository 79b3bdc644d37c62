// @witnesslog/consumer: the witness consumer (topic -> Qdrant), its
// configuration, metrics and replay. Reading the log back is
// @witnesslog/consumer/query (query-api.ts).
export { createWitnessConsumer } from './consumer.js';
export { loadConfig, redactConfig, CONFIG_DEFAULTS } from './config.js';
export { createMetrics, METRICS, METRIC_NAMES } from './metrics.js';
export { entryToPoint, pointToEntry, pointToRecord, QUERY_VECTOR, RESPONSE_VECTOR } from './point.js';
export { replayTopic } from './replay.js';
export { ensureCollection, vectorsConfig, PAYLOAD_INDEXES } from './collection.js';
export { DLQ_HEADERS } from './dead-letter.js';
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
} from './consumer-types.js';
export type { ConsumerConfig, ConfigEnv, ConfigVariable, LogLevel, SaslMechanism, SslOptions, SaslOptions } from './config.js';
export type { ConsumerMetrics, MetricKey } from './metrics.js';
export type { WitnessPoint, WitnessPayload, WitnessRecord, StoredPoint, VectorNorms } from './point.js';
export type { ReplayOptions, ReplayResult } from './replay.js';
export type { KafkaClients, GroupConsumer, RecordProducer, KafkaAdmin } from './kafka.js';
export type { QdrantWriter, QdrantProbe } from './qdrant.js';
export type { ConsumerErrorCode, QdrantErrorKind, QdrantError } from './errors.js';
