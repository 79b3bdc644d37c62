// @witnesslog/consumer/query: reading the witness log back (search, get, list,
// stats, prune), for tools and dashboards that never run the consumer.
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
