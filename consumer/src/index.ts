export { createWitnessConsumer } from './consumer.js';
export { loadConfig, redactConfig, CONFIG_DEFAULTS } from './config.js';
export { createMetrics, METRICS, METRIC_NAMES } from './metrics.js';
export { entryToPoint, pointToEntry, pointToRecord, QUERY_VECTOR, RESPONSE_VECTOR } from './point.js';
export { createWitnessQuery, isUnreachable } from './query.js';
export { toQdrantFilter } from './query-filter.js';
export { replayTopic } from './replay.js';
export { parseDuration } from './duration.js';
export { ensureCollection, vectorsConfig, vectorDifferences, PAYLOAD_INDEXES, DISTANCE } from './collection.js';
export { DLQ_HEADERS } from './dead-letter.js';
export { createRetry, backoffDelay, isRetriable } from './retry.js';
export { startHttpServer } from './http.js';
export { Batcher } from './batcher.js';
export {
  WitnessConsumerError,
  ConfigError,
  CollectionMismatchError,
  QdrantUnavailableError,
  QdrantRejectedError,
  DeadLetterError,
  CommitError,
  AbortedError,
  EmptyMessageError,
  QueryInputError,
  UnknownCollectionError,
  VectorDimensionError,
  UnknownTopicError,
  classifyQdrantError,
} from './errors.js';

export type {
  WitnessConsumer,
  WitnessConsumerOptions,
  ConsumerEvents,
  ConsumerStatus,
  CloseResult,
  FlushEvent,
  TopicPartitionOffset,
} from './consumer.js';
export type { ConsumerConfig, ConfigEnv, ConfigVariable, LogLevel, SaslMechanism } from './config.js';
export type { ConsumerMetrics, MetricKey } from './metrics.js';
export type { WitnessPoint, WitnessPayload, WitnessRecord, StoredPoint, VectorNorms } from './point.js';
export type { WitnessQuery, WitnessQueryOptions, SearchOptions, SearchHit, ListOptions, ListPage, WitnessStats, VectorName } from './query.js';
export type { ReplayOptions, ReplayResult } from './replay.js';
export type { WitnessFilter, QdrantFilter, QdrantCondition } from './query-filter.js';
export type { PayloadIndexType } from './collection.js';
export type { DeadLetter } from './dead-letter.js';
export type { Retry, RetryPolicy, RetryCallOptions } from './retry.js';
export type { HttpServer } from './http.js';
export type { BatcherOptions } from './batcher.js';
export type { ConsumerErrorCode, QdrantErrorKind, QdrantError } from './errors.js';
