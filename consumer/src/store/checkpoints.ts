// The collection `<collection>_checkpoints` (issue 26): what the audit reads
// beside the entries. Two kinds of point, each under a deterministic id so a
// redelivered message rewrites the same point instead of adding one:
// - `checkpoint`: one per SDK checkpoint, id from (producer_id, checkpoint_seq);
// - `dead_letter`: one per dead-lettered message, id from (topic, partition, offset),
//   with the entry's producer id and seq when it decoded (null when it did not: an
//   undecodable message is counted by partition and offset).
// No meaningful vector: a 1-d vector `_` = [1], which every Qdrant engine takes
// (a collection without vectors is not accepted everywhere).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { DecodedWitnessEntry, RefusedCounts, UndeliveredRange, WitnessCheckpoint } from '@witnesslog/schemas';
import { classifyQdrantError } from '../errors.js';
import { ensureCollection, type PayloadIndexType } from './collection.js';
import type { CollectionOptions } from './collection-options.js';
import type { QdrantWriter } from './qdrant.js';

export const CHECKPOINT_COLLECTION_SUFFIX = '_checkpoints';
export const CHECKPOINT_KIND = 'checkpoint';
export const DEAD_LETTER_KIND = 'dead_letter';
/** The placeholder vector of every point of the collection. */
export const CHECKPOINT_VECTOR = '_';
/** The dead-letter payload keeps this many characters of the error. */
export const DEAD_LETTER_ERROR_MAX_CHARS = 1000;

export const CHECKPOINT_PAYLOAD_INDEXES: ReadonlyArray<{ field: string; type: PayloadIndexType }> = Object.freeze([
  { field: 'kind', type: 'keyword' },
  { field: 'producer_id', type: 'keyword' },
  { field: 'service', type: 'keyword' },
  { field: 'sent_at', type: 'datetime' },
  { field: 'at', type: 'datetime' },
  { field: 'high_seq', type: 'integer' },
  { field: 'seq', type: 'integer' },
  { field: 'partition', type: 'integer' },
]);

/** The collection of checkpoints and dead-letter records beside `collection`. */
export function checkpointCollection(collection: string): string {
  return `${collection}${CHECKPOINT_COLLECTION_SUFFIX}`;
}

/** Where a message was read: its topic, partition and offset (a string, as kafkajs gives it). */
export interface MessagePosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface CheckpointPayload {
  kind: typeof CHECKPOINT_KIND;
  producer_id: string;
  service: string;
  host: string;
  checkpoint_seq: number;
  /** RFC 3339. */
  sent_at: string;
  high_seq: number;
  undelivered: UndeliveredRange[];
  truncated: boolean;
  refused: RefusedCounts;
  final: boolean;
  topic: string;
  partition: number;
  offset: string;
}

export interface DeadLetterPayload {
  kind: typeof DEAD_LETTER_KIND;
  topic: string;
  partition: number;
  offset: string;
  reason: string;
  /** The first DEAD_LETTER_ERROR_MAX_CHARS characters. */
  error: string;
  /** RFC 3339: when it was dead-lettered. */
  at: string;
  request_id: string | null;
  producer_id: string | null;
  seq: number | null;
  service: string | null;
  /** The entry's own timestamp (RFC 3339), null when it did not decode. */
  entry_timestamp: string | null;
}

export interface RecordPoint<P> {
  id: string;
  vector: { [CHECKPOINT_VECTOR]: number[] };
  payload: P;
}

/** A UUID made of the first 128 bits of SHA-256 over the parts: the same parts, the same point. */
export function derivedPointId(...parts: ReadonlyArray<string | number>): string {
  const hex = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function checkpointPointId(producerId: string, checkpointSeq: number): string {
  return derivedPointId(CHECKPOINT_KIND, producerId, checkpointSeq);
}

export function deadLetterPointId(topic: string, partition: number, offset: string): string {
  return derivedPointId(DEAD_LETTER_KIND, topic, partition, offset);
}

export function checkpointToPoint(c: WitnessCheckpoint, at: MessagePosition): RecordPoint<CheckpointPayload> {
  return {
    id: checkpointPointId(c.producer_id, c.checkpoint_seq),
    vector: { [CHECKPOINT_VECTOR]: [1] },
    payload: {
      kind: CHECKPOINT_KIND,
      producer_id: c.producer_id,
      service: c.service,
      host: c.host,
      checkpoint_seq: c.checkpoint_seq,
      sent_at: new Date(c.sent_at).toISOString(),
      high_seq: c.high_seq,
      undelivered: c.undelivered,
      truncated: c.truncated,
      refused: c.refused,
      final: c.final,
      topic: at.topic,
      partition: at.partition,
      offset: at.offset,
    },
  };
}

/** `entry` is the decoded entry when the message decoded, undefined otherwise; `at` is ms since the epoch. */
export function deadLetterToPoint(
  letter: MessagePosition & { reason: string; error: string },
  entry: DecodedWitnessEntry | undefined,
  at: number,
): RecordPoint<DeadLetterPayload> {
  const producer = entry?.producer ?? null;
  return {
    id: deadLetterPointId(letter.topic, letter.partition, letter.offset),
    vector: { [CHECKPOINT_VECTOR]: [1] },
    payload: {
      kind: DEAD_LETTER_KIND,
      topic: letter.topic,
      partition: letter.partition,
      offset: letter.offset,
      reason: letter.reason,
      error: letter.error.slice(0, DEAD_LETTER_ERROR_MAX_CHARS),
      at: new Date(at).toISOString(),
      request_id: entry?.request_id ?? null,
      producer_id: producer?.id ?? null,
      seq: producer?.seq ?? null,
      service: producer?.service ?? null,
      entry_timestamp: entry?.timestamp ?? null,
    },
  };
}

/**
 * Creates `<collection>_checkpoints` and its payload indexes where missing (an
 * existing collection gets the missing indexes). Throws a classified QdrantError
 * (retriable when Qdrant is down), so the consumer's start waits for Qdrant.
 */
export async function ensureCheckpointCollection(client: Omit<QdrantWriter, 'upsert' | 'retrieve'>, { collection, logger }: { collection: string; logger: Logger }): Promise<void> {
  const name = checkpointCollection(collection);
  let info = await describe(client, name);
  if (info === undefined) {
    try {
      await client.createCollection(name, { vectors: { [CHECKPOINT_VECTOR]: { size: 1, distance: 'Dot' } } });
      logger.info({ collection: name }, 'created the checkpoint collection');
    } catch (err) {
      // Another instance may have created it meanwhile.
      if ((await describe(client, name)) === undefined) throw classifyQdrantError(err);
    }
    info = await describe(client, name);
  }
  const existing = info?.payload_schema ?? {};
  for (const { field, type } of CHECKPOINT_PAYLOAD_INDEXES) {
    if (existing[field] !== undefined) continue;
    try {
      await client.createPayloadIndex(name, { field_name: field, field_schema: type, wait: true });
    } catch (err) {
      throw classifyQdrantError(err);
    }
  }
}

async function describe(client: Pick<QdrantWriter, 'getCollection'>, name: string): Promise<Awaited<ReturnType<QdrantWriter['getCollection']>> | undefined> {
  try {
    return await client.getCollection(name);
  } catch (err) {
    if ((err as { status?: unknown }).status === 404) return undefined;
    throw classifyQdrantError(err);
  }
}

/** What the consumer ensures at start: the witness collection (collection.ts), then its checkpoint companion. */
export async function ensureCollections(
  client: Omit<QdrantWriter, 'upsert'>,
  options: { collection: string; dim: number; logger: Logger; options?: CollectionOptions },
): Promise<void> {
  await ensureCollection(client, options);
  await ensureCheckpointCollection(client, options);
}
