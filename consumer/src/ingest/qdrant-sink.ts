// Writes points into Qdrant: upsert with wait=true (acknowledged means applied,
// which is what lets the caller commit offsets afterwards), retried without limit
// while Qdrant is down, slow or throttling, and a batch Qdrant rejects as
// malformed is split in halves until the points it refuses are isolated, so one
// bad point costs O(log n) extra requests and never holds back the good ones.
//
// Append-only per request_id (issue 13 finding 4): the upsert is insert-only
// (update_mode insert_only, Qdrant >= 1.19), so a point whose id is stored is
// left as it is. Then one retrieve per written slice reads back the stored
// entry_digest of its ids: equal to ours means stored now or earlier (a
// redelivery, a no-op); different means another entry holds the id, and the
// point is reported as a conflict for the caller to dead-letter. A point stored
// before digests existed has none: it is kept and ours counts as a redelivery.
import type { Schemas } from '@qdrant/js-client-rest';
import type { Logger } from 'pino';
import { ensureCollection } from '../store/collection.js';
import type { CollectionOptions } from '../store/collection-options.js';
import { QdrantRejectedError, classifyQdrantError, type QdrantError } from '../errors.js';
import type { ConsumerMetrics } from './metrics.js';
import { DIGEST_FIELD, type WitnessPoint } from '../store/point.js';
import type { QdrantWriter } from '../store/qdrant.js';
import type { Retry } from '@witnesslog/core';

export interface QdrantSinkOptions {
  client: QdrantWriter;
  collection: string;
  dim: number;
  /** The settings a collection is created with, also when the sink puts a deleted one back. */
  collectionOptions?: CollectionOptions;
  retry: Retry;
  metrics: ConsumerMetrics;
  logger: Logger;
}

export interface WriteResult {
  /** Points Qdrant refused on their own, by index into the written array. */
  rejected: Array<{ index: number; error: QdrantRejectedError }>;
  /** Points not applied because their id is stored with another digest, by index into the written array. */
  conflicts: number[];
}

export interface QdrantSink {
  /** Resolves once every point is written or isolated as rejected; only `signal` stops the retrying. */
  write(points: readonly WitnessPoint[], signal?: AbortSignal): Promise<WriteResult>;
  /** True unless the last request failed for a reason other than the points themselves. */
  readonly reachable: boolean;
}

// While Qdrant stays down, one log line per interval rather than one per retry.
const WAITING_LOG_INTERVAL_MS = 30_000;

export function createQdrantSink({ client, collection, dim, collectionOptions, retry, metrics, logger }: QdrantSinkOptions): QdrantSink {
  const log = logger.child({ component: 'qdrant-sink', collection });
  let reachable = true;
  let waitingSince: number | undefined;
  let lastWaitingLog = 0;
  let recreate = false;

  async function upsertOnce(points: readonly WitnessPoint[]): Promise<void> {
    try {
      // 404 means the collection went away under us (deleted by hand); put it back before writing.
      if (recreate) {
        await ensureCollection(client, { collection, dim, logger: log, options: collectionOptions });
        recreate = false;
      }
      await client.upsert(collection, { wait: true, update_mode: 'insert_only', points: points as unknown as Schemas['PointStruct'][] });
    } catch (err) {
      throw failed(err);
    }
    writable();
  }

  /** The stored digest of each point's id (undefined: stored without one, or not found). */
  async function storedDigests(points: readonly WitnessPoint[]): Promise<Map<string, unknown>> {
    let records;
    try {
      records = await client.retrieve(collection, { ids: points.map((p) => p.id), with_payload: { include: [DIGEST_FIELD] }, with_vector: false });
    } catch (err) {
      throw failed(err);
    }
    writable();
    return new Map(records.map((r) => [String(r.id), r.payload?.[DIGEST_FIELD]]));
  }

  function failed(err: unknown): QdrantError {
    const error = classifyQdrantError(err);
    metrics.qdrantWriteErrors.inc({ kind: error.kind });
    if (error.kind === 'collection_missing') recreate = true;
    if (error.kind !== 'rejected') reachable = false;
    return error;
  }

  function writable(): void {
    reachable = true;
    if (waitingSince !== undefined) {
      log.info({ waitedMs: Date.now() - waitingSince }, 'Qdrant is writable again; resuming');
      waitingSince = undefined;
      metrics.qdrantWaiting.set(0);
    }
  }

  function onRetry(err: unknown, attempt: number, delayMs: number): void {
    const error = err as QdrantError;
    metrics.qdrantWriteRetries.inc({ kind: error.kind });
    const now = Date.now();
    if (waitingSince === undefined) {
      waitingSince = now;
      metrics.qdrantWaiting.set(1);
    }
    if (attempt === 1 || now - lastWaitingLog >= WAITING_LOG_INTERVAL_MS) {
      lastWaitingLog = now;
      log.warn(
        { kind: error.kind, status: error.status, attempt, retryInMs: delayMs, waitingMs: now - waitingSince, err: error.message },
        'Qdrant write failed; waiting and retrying (offsets are not committed meanwhile)',
      );
    }
  }

  async function writeRange(
    points: readonly WitnessPoint[],
    start: number,
    end: number,
    result: WriteResult,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const slice = start === 0 && end === points.length ? points : points.slice(start, end);
    try {
      await retry(() => upsertOnce(slice), { signal, onRetry });
      const stored = await retry(() => storedDigests(slice), { signal, onRetry });
      for (let i = 0; i < slice.length; i++) {
        const ours = slice[i]!.payload.entry_digest;
        const theirs = stored.get(slice[i]!.id);
        if (typeof theirs === 'string' && theirs !== ours) result.conflicts.push(start + i);
      }
    } catch (err) {
      if (!(err instanceof QdrantRejectedError)) throw err;
      if (end - start === 1) {
        log.warn({ id: points[start]?.id, err: err.message }, 'Qdrant rejected a point; dead-lettering it');
        result.rejected.push({ index: start, error: err });
        return;
      }
      const middle = start + Math.ceil((end - start) / 2);
      await writeRange(points, start, middle, result, signal);
      await writeRange(points, middle, end, result, signal);
    }
  }

  return {
    async write(points, signal) {
      const result: WriteResult = { rejected: [], conflicts: [] };
      if (points.length > 0) await writeRange(points, 0, points.length, result, signal);
      return result;
    },
    get reachable() {
      return reachable;
    },
  };
}
