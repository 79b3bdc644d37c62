// The witness collection: its vectors and payload indexes, declared once here and
// created at start. An existing collection with other vectors is refused, not
// written into: mixing dimensions would make every upsert fail, and a silently
// "fixed" collection would hide a deployment mistake.
import type { Schemas } from '@qdrant/js-client-rest';
import type { Logger } from 'pino';
import { CollectionMismatchError, classifyQdrantError } from '../errors.js';
import { QUERY_VECTOR, RESPONSE_VECTOR } from './point.js';
import { collectionRequest, type CollectionOptions } from './collection-options.js';
import type { QdrantWriter } from './qdrant.js';

export type PayloadIndexType = 'keyword' | 'bool' | 'datetime' | 'float' | 'integer';

/** Payload fields the query module filters and sorts on, with the index type of each. */
export const PAYLOAD_INDEXES: ReadonlyArray<{ field: string; type: PayloadIndexType }> = Object.freeze([
  { field: 'session_id', type: 'keyword' },
  { field: 'model_used', type: 'keyword' },
  { field: 'tags', type: 'keyword' },
  { field: 'error.code', type: 'keyword' },
  { field: 'is_success', type: 'bool' },
  { field: 'timestamp', type: 'datetime' },
  { field: 'quality_score', type: 'float' },
  { field: 'latency.total_ms', type: 'float' },
  // The postmortem questions (query/routing.ts, latency.ts): facets and counts on these.
  { field: 'latency_slowest', type: 'keyword' },
  { field: 'routing_decision.model', type: 'keyword' },
  { field: 'routing_decision.model_probs', type: 'float' },
  // Schema v2: the entries of one trace (witness get --trace), of one service or SDK
  // instance, and producer.seq as an integer for range scans of one instance's
  // numbering (finding the gaps a lost entry leaves).
  { field: 'trace.trace_id', type: 'keyword' },
  { field: 'producer.id', type: 'keyword' },
  { field: 'producer.seq', type: 'integer' },
  { field: 'producer.service', type: 'keyword' },
]);

export const DISTANCE = 'Cosine' as const;

/** The vectors of the collection: `query` and `response`, both `dim`, cosine. */
export function vectorsConfig(dim: number): Record<string, { size: number; distance: typeof DISTANCE }> {
  return {
    [QUERY_VECTOR]: { size: dim, distance: DISTANCE },
    [RESPONSE_VECTOR]: { size: dim, distance: DISTANCE },
  };
}

/**
 * What differs between an existing collection's vectors and ours, in words; empty
 * when it fits. Extra named vectors are allowed (someone may add one for another
 * purpose; our points simply do not set it).
 */
export function vectorDifferences(existing: Schemas['VectorsConfig'] | undefined | null, dim: number): string[] {
  const wanted = vectorsConfig(dim);
  if (!existing || typeof existing !== 'object') return [`it has no vectors; expected named vectors ${describeWanted(dim)}`];
  if ('size' in existing && typeof existing.size === 'number') {
    return [`it has a single unnamed vector (size ${existing.size}, ${existing.distance}); expected named vectors ${describeWanted(dim)}`];
  }
  const named = existing as Record<string, Schemas['VectorParams'] | undefined>;
  const differences: string[] = [];
  for (const [name, want] of Object.entries(wanted)) {
    const have = named[name];
    if (!have) {
      differences.push(`vector "${name}" is missing (expected size ${want.size}, ${want.distance})`);
      continue;
    }
    if (have.size !== want.size) differences.push(`vector "${name}" has size ${have.size}, expected ${want.size} (WITNESS_EMBEDDING_DIM)`);
    if (have.distance !== want.distance) differences.push(`vector "${name}" uses ${have.distance} distance, expected ${want.distance}`);
    if (have.multivector_config) differences.push(`vector "${name}" is a multivector, expected a plain dense vector`);
  }
  return differences;
}

function describeWanted(dim: number): string {
  return `"${QUERY_VECTOR}" and "${RESPONSE_VECTOR}" (size ${dim}, ${DISTANCE})`;
}

/**
 * Creates the collection and its payload indexes if missing; checks the vectors
 * of an existing one. Throws CollectionMismatchError (not retriable) when they
 * differ, a classified QdrantError otherwise (retriable when Qdrant is down).
 */
export async function ensureCollection(
  client: Omit<QdrantWriter, 'upsert'>,
  { collection, dim, logger, options }: { collection: string; dim: number; logger: Logger; options?: CollectionOptions },
): Promise<void> {
  let info = await getCollectionInfo(client, collection);
  if (info === undefined) {
    try {
      await client.createCollection(collection, collectionRequest(vectorsConfig(dim), options));
      logger.info({ collection, dim }, 'created collection');
    } catch (err) {
      // Another instance may have created it in the meantime (409, or 400 on older servers).
      info = await getCollectionInfo(client, collection);
      if (info === undefined) throw classifyQdrantError(err);
    }
    info ??= await getCollectionInfo(client, collection);
  }
  const differences = vectorDifferences(info?.config.params.vectors, dim);
  if (differences.length > 0) throw new CollectionMismatchError(collection, differences);

  const existing = info?.payload_schema ?? {};
  for (const { field, type } of PAYLOAD_INDEXES) {
    const have = existing[field]?.data_type;
    if (have === type) continue;
    if (have !== undefined) {
      // A different index on the field still works for filtering of that type or not at all;
      // it is the operator's to change, not ours to drop.
      logger.warn({ collection, field, have, want: type }, 'payload index has another type; leaving it as it is');
      continue;
    }
    try {
      await client.createPayloadIndex(collection, { field_name: field, field_schema: type, wait: true });
    } catch (err) {
      throw classifyQdrantError(err);
    }
  }
}

async function getCollectionInfo(client: Pick<QdrantWriter, 'getCollection'>, collection: string): Promise<Schemas['CollectionInfo'] | undefined> {
  try {
    return await client.getCollection(collection);
  } catch (err) {
    if ((err as { status?: unknown }).status === 404) return undefined;
    throw classifyQdrantError(err);
  }
}
