// Reading the witness log back: nearest neighbours, one entry, newest-first
// pages, server-side stats and retention. Points are read through
// pointToRecord (point.ts), the same mapping the sink writes with, so what a
// query returns is the entry as it was produced.
import { UUID_PATTERN } from '@witnesslog/core';
import {
  QdrantUnavailableError,
  QueryInputError,
  UnknownCollectionError,
  VectorDimensionError,
  classifyQdrantError,
} from '../errors.js';
import { QUERY_VECTOR, RESPONSE_VECTOR, pointToRecord, type StoredPoint, type WitnessRecord } from '../store/point.js';
import { createQdrantClient } from '../store/qdrant.js';
import { toQdrantFilter, type QdrantCondition, type WitnessFilter } from './filter.js';
import { clusterReport, type ClusterOptions, type ClusterReport } from './clusters.js';
import { latencyReport, type LatencyOptions, type LatencyReport } from './latency.js';
import { qualityReport, type QualityOptions, type QualityReport } from './quality.js';
import { routingReport, type RoutingOptions, type RoutingReport } from './routing.js';
import type { QueryContext } from './read.js';
import { auditLog, type AuditOptions, type AuditReport } from './audit.js';

export interface WitnessQueryOptions {
  url: string;
  apiKey?: string;
  collection: string;
  /** Per request. Default 10 s: a person is waiting on the answer. */
  timeoutMs?: number;
}

export type VectorName = typeof QUERY_VECTOR | typeof RESPONSE_VECTOR;

export interface SearchOptions {
  /** Default 10. */
  limit?: number;
  /** Which stored embedding to compare with. Default 'query'. */
  using?: VectorName;
  filter?: WitnessFilter;
  /** Return the stored embeddings too. Default false. */
  withVectors?: boolean;
  /** Request ids to leave out (e.g. the entry a "more like this" search started from). */
  exclude?: readonly string[];
}

export interface SearchHit {
  /** Cosine similarity, as Qdrant scores it. */
  score: number;
  entry: WitnessRecord;
}

export interface ListOptions {
  filter?: WitnessFilter;
  /** Default 20. */
  limit?: number;
  /** 'newest' first (default), or 'oldest' first (a session's timeline). */
  order?: 'newest' | 'oldest';
  /** nextCursor of the previous page (asked with the same filter and order). */
  cursor?: string | null;
  withVectors?: boolean;
}

export interface ListPage {
  entries: WitnessRecord[];
  /** Pass to list() for the next page; null when this page is the last. */
  nextCursor: string | null;
}

export interface WitnessStats {
  total: number;
  success: number;
  error: number;
  /** success / total; null when there is nothing to divide. */
  successRate: number | null;
  byModel: Record<string, number>;
  byErrorCode: Record<string, number>;
}

export interface WitnessQuery {
  readonly collection: string;
  searchSimilar(embedding: ArrayLike<number>, options?: SearchOptions): Promise<SearchHit[]>;
  /** The entry with its embeddings, or null. */
  get(requestId: string): Promise<WitnessRecord | null>;
  list(options?: ListOptions): Promise<ListPage>;
  stats(options?: { filter?: WitnessFilter }): Promise<WitnessStats>;
  count(options?: { filter?: WitnessFilter }): Promise<number>;
  /** Deletes every entry older than `cutoff` (by timestamp); resolves to how many there were. */
  prune(cutoff: Date): Promise<number>;
  /** Groups a sample of the matching entries by embedding similarity (clusters.ts). */
  clusters(options?: ClusterOptions): Promise<ClusterReport>;
  /** The router's choice against the model that served, confidence, unsure decisions (routing.ts). */
  routing(options?: RoutingOptions): Promise<RoutingReport>;
  /** quality_score and success rate per time bucket and model (quality.ts). */
  quality(options?: QualityOptions): Promise<QualityReport>;
  /** Latency percentiles per component and how often each was the slowest (latency.ts). */
  latency(options?: LatencyOptions): Promise<LatencyReport>;
  /** Every producer's seqs: stored, dead-lettered, dropped, in flight or unaccounted (audit.ts). */
  audit(options?: AuditOptions): Promise<AuditReport>;
}

// Qdrant has no hard cap; this one keeps a typo (limit 1e9) from pulling the whole log.
const MAX_LIMIT = 10_000;
// Facet answers are capped by `limit`; far above any fleet's number of models or error codes.
const FACET_LIMIT = 10_000;

export function createWitnessQuery({ url, apiKey, collection, timeoutMs = 10_000 }: WitnessQueryOptions): WitnessQuery {
  const client = createQdrantClient({ url, apiKey, timeoutMs });
  let sizes: Promise<Record<string, number>> | undefined;

  // Every failure leaves as one of three things a caller can act on: the
  // collection is missing, the request is wrong, or Qdrant is not answering.
  async function call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      if ((err as { status?: unknown }).status === 404) throw new UnknownCollectionError(collection, err);
      throw classifyQdrantError(err);
    }
  }

  // The vector sizes, read once: a wrong-length search vector is named as such
  // instead of surfacing as whatever wording the server uses for it.
  function vectorSizes(): Promise<Record<string, number>> {
    sizes ??= call(() => client.getCollection(collection)).then((info) => {
      const vectors = (info.config.params.vectors ?? {}) as Record<string, { size?: number }>;
      return Object.fromEntries(Object.entries(vectors).filter(([, v]) => typeof v?.size === 'number').map(([k, v]) => [k, v.size!]));
    });
    sizes.catch(() => (sizes = undefined));
    return sizes;
  }

  async function count(filter: WitnessFilter | undefined, extra: QdrantCondition[] = []): Promise<number> {
    const f = toQdrantFilter(filter, extra);
    return (await call(() => client.count(collection, { ...(f ? { filter: f } : {}), exact: true }))).count;
  }

  async function facet(key: string, filter: WitnessFilter | undefined, extra: QdrantCondition[] = []): Promise<Record<string, number>> {
    const f = toQdrantFilter(filter, extra);
    const res = await call(() => client.facet(collection, { key, limit: FACET_LIMIT, exact: true, ...(f ? { filter: f } : {}) }));
    const out: Record<string, number> = {};
    for (const hit of res.hits) out[String(hit.value)] = hit.count;
    return out;
  }

  // What the postmortem questions (their own files) use of this client.
  const ctx: QueryContext = { client, collection, call, count, facet };

  return {
    collection,
    clusters: (options) => clusterReport(ctx, options),
    routing: (options) => routingReport(ctx, options),
    quality: (options) => qualityReport(ctx, options),
    latency: (options) => latencyReport(ctx, options),
    audit: (options) => auditLog(ctx, options),

    async searchSimilar(embedding, { limit = 10, using = QUERY_VECTOR, filter, withVectors = false, exclude = [] } = {}) {
      checkLimit(limit);
      if (using !== QUERY_VECTOR && using !== RESPONSE_VECTOR) throw new QueryInputError('using', using, `"${QUERY_VECTOR}" or "${RESPONSE_VECTOR}"`);
      const vector = Array.from(embedding, Number);
      const bad = vector.findIndex((x) => !Number.isFinite(x));
      if (vector.length === 0 || bad >= 0) throw new QueryInputError(bad >= 0 ? `embedding[${bad}]` : 'embedding', bad >= 0 ? vector[bad] : [], 'a non-empty array of finite numbers');
      const expected = (await vectorSizes())[using];
      if (expected !== undefined && expected !== vector.length) throw new VectorDimensionError(using, expected, vector.length);
      const f = toQdrantFilter(filter);
      const withExclusion = exclude.length > 0 ? { ...(f ?? {}), must_not: [{ has_id: [...exclude] }] } : f;
      const res = await call(() =>
        client.query(collection, {
          query: vector,
          using,
          limit,
          with_payload: true,
          with_vector: withVectors ? [QUERY_VECTOR, RESPONSE_VECTOR] : false,
          ...(withExclusion ? { filter: withExclusion } : {}),
        }),
      );
      return res.points.map((p) => ({ score: p.score, entry: pointToRecord(p as StoredPoint) }));
    },

    async get(requestId) {
      if (typeof requestId !== 'string' || !UUID_PATTERN.test(requestId)) throw new QueryInputError('request id', requestId, 'a UUID (the entry\'s request_id)');
      const points = await call(() => client.retrieve(collection, { ids: [requestId.toLowerCase()], with_payload: true, with_vector: true }));
      return points.length === 0 ? null : pointToRecord(points[0] as StoredPoint);
    },

    async list({ filter, limit = 20, order = 'newest', cursor = null, withVectors = false } = {}) {
      checkLimit(limit);
      if (order !== 'newest' && order !== 'oldest') throw new QueryInputError('order', order, '"newest" or "oldest"');
      const after = cursor ? decodeCursor(cursor) : undefined;
      // Ordered by timestamp. Qdrant gives no offset with order_by, so the
      // cursor is the last timestamp seen plus the ids already returned at it:
      // entries sharing a timestamp are neither skipped nor repeated.
      const bound = order === 'newest' ? { lte: after?.t } : { gte: after?.t };
      const extra: QdrantCondition[] = after ? [{ key: 'timestamp', range: bound }] : [];
      const f = toQdrantFilter(filter, extra);
      const withSeen = after && after.ids.length > 0 ? { ...(f ?? {}), must_not: [{ has_id: after.ids }] } : f;
      // One more than asked: whether a next page exists is known now, so the
      // last page never comes with a cursor that leads to an empty one.
      const res = await call(() =>
        client.scroll(collection, {
          limit: limit + 1,
          order_by: { key: 'timestamp', direction: order === 'newest' ? 'desc' : 'asc' },
          with_payload: true,
          with_vector: withVectors,
          ...(withSeen ? { filter: withSeen } : {}),
        }),
      );
      const entries = res.points.slice(0, limit).map((p) => pointToRecord(p as StoredPoint));
      if (res.points.length <= limit) return { entries, nextCursor: null };
      const last = entries[entries.length - 1]!.timestamp;
      const lastMs = Date.parse(last);
      const atLast = entries.filter((e) => Date.parse(e.timestamp) === lastMs).map((e) => e.request_id);
      const carried = after && Date.parse(after.t) === lastMs ? after.ids : [];
      return { entries, nextCursor: encodeCursor({ t: last, ids: [...carried, ...atLast] }) };
    },

    async stats({ filter } = {}) {
      // Two counts and two facets, answered from the indexes; nothing is pulled point by point.
      const [total, success, byModel, byErrorCode] = await Promise.all([
        count(filter),
        count(filter, [{ key: 'is_success', match: { value: true } }]),
        facet('model_used', filter),
        facet('error.code', filter, [{ key: 'is_success', match: { value: false } }]),
      ]);
      return { total, success, error: total - success, successRate: total === 0 ? null : success / total, byModel, byErrorCode };
    },

    count: ({ filter } = {}) => count(filter),

    async prune(cutoff) {
      if (!(cutoff instanceof Date) || Number.isNaN(cutoff.getTime())) throw new QueryInputError('cutoff', String(cutoff), 'a valid Date');
      const f = toQdrantFilter({ until: cutoff })!;
      // Qdrant's delete does not say how many points it removed; count first,
      // under the same filter. Entries arriving meanwhile are newer than the cutoff.
      const n = (await call(() => client.count(collection, { filter: f, exact: true }))).count;
      if (n > 0) await call(() => client.delete(collection, { filter: f, wait: true }));
      return n;
    },
  };
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new QueryInputError('limit', limit, `an integer from 1 to ${MAX_LIMIT}`);
}

interface Cursor {
  t: string;
  ids: string[];
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.t === 'string' && !Number.isNaN(Date.parse(c.t)) && Array.isArray(c.ids) && c.ids.every((id) => typeof id === 'string')) return c;
  } catch {
    // fall through to the error below
  }
  throw new QueryInputError('cursor', text, 'the nextCursor of a previous list() page');
}

/**
 * True when `err` means Qdrant is out of reach or not serving us (down, slow,
 * overloaded, wrong key, collection deleted) rather than refusing the request:
 * what the CLI reports with exit code 3. Such errors are worth retrying later;
 * the others will fail the same way again.
 */
export function isUnreachable(err: unknown): err is QdrantUnavailableError {
  return err instanceof QdrantUnavailableError;
}
