// The one place where a witness entry becomes a Qdrant point and back. The
// query module (search, stats, CLI) reads points through pointToEntry, so the
// two directions are kept side by side and tested as a round trip.
//
// Point id: request_id (a lowercase UUID, which Qdrant accepts as an id). The log
// is append-only per id (issue 13 finding 4): the sink writes insert-only, so a
// redelivered entry is a no-op and a different entry under a stored id is not
// applied; entry_digest is how the two are told apart (see flush.ts).
// Vectors: named `query` and `response`; an entry without a response embedding
// has no `response` vector. Payload: every other field under its schema name,
// copied by rest-spread so a new schema field needs no edit here (the timestamp stays an RFC 3339 string, which Qdrant's datetime index and
// range filters read directly), plus:
// - is_success: error === null, indexed, so dashboards filter without a null check;
// - vector_norms: the Euclidean norm of each embedding. Qdrant normalizes the
//   vectors of a cosine collection on write, so the norm is what lets
//   pointToEntry give back the vector that was produced, not its direction only;
// - entry_digest: SHA-256 (hex, first 32 digits) of the message value as it was
//   produced, when the consumer knows it: equal digests mean the same entry;
// - latency_slowest: the latency component that took longest (slowestComponent),
//   computed once here and indexed, so "how often was each part the slowest" is
//   one facet instead of a read of every entry's latency.
// Vectors travel as unit-length float32 (see toUnit), which Qdrant keeps bit for
// bit, so storedVectors says exactly what retrieve and scroll give back (issue 27).
import { createHash } from 'node:crypto';
import { isSuccess, slowestComponent, type DecodedWitnessEntry, type LatencyComponent, type WitnessEntry } from '@witnesslog/schemas';

export const QUERY_VECTOR = 'query';
export const RESPONSE_VECTOR = 'response';

export interface VectorNorms {
  query: number;
  /** null when the entry has no response embedding. */
  response: number | null;
}

/** The payload of a witness point: the entry minus its embeddings, plus is_success, vector_norms, latency_slowest and entry_digest. */
export type WitnessPayload = Omit<WitnessEntry, 'query_embedding' | 'response_embedding'> & {
  is_success: boolean;
  vector_norms: VectorNorms;
  /** Absent on points written before it existed. */
  latency_slowest?: LatencyComponent;
  entry_digest?: string;
};

/** The payload field holding the digest of the encoded entry. */
export const DIGEST_FIELD = 'entry_digest';

/** The digest stored with a point: SHA-256 of the encoded message, 128 bits as hex. */
export function entryDigest(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

export interface WitnessPoint {
  id: string;
  vector: { query: number[]; response?: number[] };
  payload: WitnessPayload;
}

/** What Qdrant hands back from retrieve/scroll/search with payload and vectors. */
export interface StoredPoint {
  id: string | number;
  payload?: Record<string, unknown> | null;
  vector?: unknown;
}

export function entryToPoint(entry: WitnessEntry, digest?: string): WitnessPoint {
  const query = toUnit(entry.query_embedding);
  const hasResponse = entry.response_embedding.length > 0;
  const response = hasResponse ? toUnit(entry.response_embedding) : undefined;
  // Every field but the embeddings, by rest-spread: a field added to the schema
  // reaches the payload (and comes back in pointToRecord) without a list to edit.
  const { query_embedding: _query, response_embedding: _response, ...fields } = entry;
  const payload: WitnessPayload = {
    ...fields,
    is_success: isSuccess(entry),
    vector_norms: { query: norm(entry.query_embedding), response: hasResponse ? norm(entry.response_embedding) : null },
    latency_slowest: slowestComponent(entry.latency),
    ...(digest !== undefined ? { entry_digest: digest } : {}),
  };
  return { id: entry.request_id, vector: response ? { query, response } : { query }, payload };
}

/** An entry as read back: every field, the embeddings only when they were asked for. */
export type WitnessRecord = Omit<DecodedWitnessEntry, 'query_embedding' | 'response_embedding'> & {
  query_embedding?: Float32Array;
  response_embedding?: Float32Array;
};

/**
 * The entry a stored point holds, field for field as it was produced: the
 * embeddings as Float32Array (as decodeEntry gives them), rescaled by the
 * stored norms. Throws if the point is not a witness point (no payload, or no
 * query vector: ask Qdrant with with_payload and with_vector).
 */
export function pointToEntry(point: StoredPoint): DecodedWitnessEntry {
  const record = pointToRecord(point);
  if (record.query_embedding === undefined) {
    throw new TypeError(`point ${String(point.id)} has no "${QUERY_VECTOR}" vector (read it with with_vector: true)`);
  }
  return { ...record, query_embedding: record.query_embedding, response_embedding: record.response_embedding ?? new Float32Array(0) };
}

/**
 * Like pointToEntry, for points read with or without vectors: the embeddings
 * are present exactly when Qdrant returned them, so a search that did not ask
 * for vectors never passes anything else off as the stored ones.
 */
export function pointToRecord(point: StoredPoint): WitnessRecord {
  const payload = point.payload;
  if (!payload || typeof payload.request_id !== 'string') {
    throw new TypeError(`point ${String(point.id)} has no witness payload (read it with with_payload: true)`);
  }
  // The payload minus what entryToPoint added, whatever the schema version's fields are.
  const { is_success: _isSuccess, vector_norms: _norms, latency_slowest: _slowest, entry_digest: _digest, ...fields } = payload as unknown as WitnessPayload;
  const record = fields as WitnessRecord;
  // A point stored before schema v2 lacks the v2 fields; read back, it is the v1
  // entry a v2 reader decodes: the three null.
  record.producer ??= null;
  record.trace ??= null;
  record.usage ??= null;
  const vectors = point.vector;
  if (vectors === null || vectors === undefined || typeof vectors !== 'object' || Array.isArray(vectors)) return record;
  const named = vectors as Record<string, unknown>;
  const norms = (payload.vector_norms ?? null) as Partial<VectorNorms> | null;
  const storedQuery = named[QUERY_VECTOR];
  if (Array.isArray(storedQuery)) {
    record.query_embedding = rescale(storedQuery as number[], norms?.query);
    const storedResponse = named[RESPONSE_VECTOR];
    record.response_embedding = Array.isArray(storedResponse)
      ? rescale(storedResponse as number[], norms?.response ?? undefined)
      : new Float32Array(0);
  }
  return record;
}

/**
 * The vectors Qdrant stores for this point and returns from retrieve/scroll,
 * bit for bit: entryToPoint writes unit-length float32 values (see toUnit), and
 * Qdrant keeps a cosine vector whose length is already 1 as it is.
 */
export function storedVectors(point: WitnessPoint): { query: Float32Array; response?: Float32Array } {
  const query = Float32Array.from(point.vector.query);
  return point.vector.response ? { query, response: Float32Array.from(point.vector.response) } : { query };
}

/**
 * The embedding scaled to length 1 in float64, each component then rounded to
 * float32. Qdrant normalizes cosine vectors on write, except one whose length
 * it finds to be 1 within its tolerance: it keeps that one bit for bit, which is
 * what lets a content hash taken at write time match what is read back later.
 * Rounding to float32 moves the squared length by at most ~1e-7; Qdrant sums
 * it in float32 SIMD lanes, which adds ~2e-7 for 768 dims, inside its 1e-6
 * (consumer/test/integration/stored-vectors.test.ts checks the bits on both
 * engines). Known limit: a Qdrant built without SIMD sums one lane, which can
 * drift ~1.2e-6 and would then re-normalize (the integration test shows it). The values
 * are float32 held as doubles, so JSON carries the exact float32 and the gRPC
 * writer packs them unchanged. A zero vector stays zero (Qdrant keeps it too).
 */
function toUnit(values: ArrayLike<number>): number[] {
  const length = norm(values);
  const scale = length === 0 ? 0 : 1 / length;
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.fround(values[i]! * scale);
  return out;
}

function norm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  return Math.sqrt(sum);
}

// The stored vector is v / |v| as the server computed it (in float32, whose norm
// differs from ours in the last bits); scaling by |v| / |stored| rather than by
// |v| alone cancels that difference, and is exact when the server kept v as is.
function rescale(stored: readonly number[], originalNorm: number | undefined): Float32Array {
  const out = new Float32Array(stored.length);
  const storedNorm = norm(stored);
  const scale = originalNorm === undefined || storedNorm === 0 ? 1 : originalNorm / storedNorm;
  for (let i = 0; i < stored.length; i++) out[i] = stored[i]! * scale;
  return out;
}
