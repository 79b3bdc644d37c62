// @witnesslog/consumer/query: reading the witness log back (search, get, list,
// stats, prune, and the postmortem questions: clusters, routing, quality,
// latency), for tools and dashboards that never run the consumer.
export { createWitnessQuery, isUnreachable } from './query.js';
export { toQdrantFilter } from './filter.js';
export { parseDuration } from '../duration.js';
export { pointToEntry, pointToRecord, QUERY_VECTOR, RESPONSE_VECTOR } from '../store/point.js';
export {
  WitnessConsumerError,
  QdrantUnavailableError,
  QdrantRejectedError,
  QueryInputError,
  UnknownCollectionError,
  VectorDimensionError,
} from '../errors.js';

export type { WitnessQuery, WitnessQueryOptions, SearchOptions, SearchHit, ListOptions, ListPage, WitnessStats, VectorName } from './query.js';
export type { WitnessFilter, QdrantFilter, QdrantCondition } from './filter.js';
export type { WitnessRecord, StoredPoint } from '../store/point.js';
export type { ClusterOptions, ClusterReport, Cluster } from './clusters.js';
export type { RoutingOptions, RoutingReport, Quartiles } from './routing.js';
export type { QualityOptions, QualityReport, QualityBucket } from './quality.js';
export type { LatencyOptions, LatencyReport, Percentiles } from './latency.js';
export { DEFAULT_MAX_ENTRIES } from './read.js';
export { DEFAULT_SAMPLE as DEFAULT_CLUSTER_SAMPLE, MAX_SAMPLE as MAX_CLUSTER_SAMPLE } from './clusters.js';
export { FALLBACK_THRESHOLD as CLUSTER_FALLBACK_THRESHOLD } from './dbscan.js';
export { DEFAULT_AUDIT_GRACE_MS } from './audit.js';
export type { AuditOptions, AuditReport } from './audit.js';
export type { ProducerAudit, AuditProblem } from './audit-producer.js';
