// The flush pipeline, for one batch: entries -> points -> Qdrant -> dead letters
// -> commit. Every message of the batch ends up written, dead-lettered with a
// reason, or (if the flush is abandoned) uncommitted and so delivered again.
// The commit comes last and only after both writes were acknowledged.
//
// Append-only per request_id (issue 13 finding 4): each point carries the digest
// of its message value. Within a batch the first message of an id (in batch
// order, which is offset order within a partition) is the one written; a later
// one with the same digest is the same entry (a no-op), one with another digest
// is a conflict. The sink reports the conflicts with what is already stored.
// A conflict is not applied, is counted (witness_entries_conflicting_total) and
// dead-lettered as WITNESS_DUPLICATE_REQUEST_ID.
import { performance } from 'node:perf_hooks';
import type { DecodedWitnessEntry } from '@witnesslog/schemas';
import type { DeadLetter, DeadLetterWriter } from './dead-letter.js';
import type { Received } from './intake.js';
import type { CommitLedger } from './ledger.js';
import type { ConsumerMetrics } from './metrics.js';
import { entryDigest, entryToPoint, type WitnessPoint } from '../store/point.js';
import type { QdrantSink } from './qdrant-sink.js';
import type { TopicPartitionOffset } from './kafka.js';

export interface FlushEvent {
  /** Messages in the batch (written plus dead-lettered). */
  size: number;
  written: number;
  deadLettered: number;
  durationMs: number;
  /** How long the oldest message of the batch waited in the buffer before the flush began. */
  waitedMs: number;
  committed: TopicPartitionOffset[];
}

export type Flush = (items: readonly Received[], signal: AbortSignal) => Promise<FlushEvent>;

/** One batch once Qdrant acknowledged its points and its dead letters were sent. */
export interface WrittenBatch {
  /** Every message of the batch, in batch order (offset order within a partition). */
  items: readonly Received[];
  /** The points now stored (written now or already stored with the same digest), each with its message. */
  stored: ReadonlyArray<{ item: Received; point: WitnessPoint }>;
  /** The messages dead-lettered, each with its reason. */
  deadLettered: ReadonlyArray<{ item: Received; reason: string; error: string }>;
}

/**
 * Work that belongs to a batch but is not its points: it runs after the batch's
 * points are acknowledged and before its offsets are committed, once per batch,
 * in batch order. A stage that throws an AbortedError abandons the flush (nothing
 * committed); any other error is fatal, like a bug in the flush itself, so a
 * stage retries its own transient failures.
 */
export interface FlushStage {
  readonly name: string;
  afterWrite(batch: WrittenBatch, signal: AbortSignal): Promise<void>;
}

export interface FlushPipelineOptions {
  sink: Pick<QdrantSink, 'write'>;
  deadLetters: DeadLetterWriter;
  ledger: Pick<CommitLedger, 'commit'>;
  metrics: ConsumerMetrics;
  /** Run after the writes and before the commit, in this order (see FlushStage). */
  stages?: readonly FlushStage[];
  /** Wall clock, ms (Date.now by default). */
  now?: () => number;
}

export function createFlushPipeline({ sink, deadLetters, ledger, metrics, stages = [], now = Date.now }: FlushPipelineOptions): Flush {
  // Histograms of the witnessed requests themselves, for the LLM-requests dashboard.
  function observeRequest(entry: DecodedWitnessEntry): void {
    const { latency } = entry;
    metrics.llmLatency.observe({ component: 'embedding' }, latency.embedding_ms / 1000);
    metrics.llmLatency.observe({ component: 'retrieval' }, latency.retrieval_ms / 1000);
    metrics.llmLatency.observe({ component: 'routing' }, latency.routing_ms / 1000);
    metrics.llmLatency.observe({ component: 'attention' }, latency.attention_ms / 1000);
    metrics.llmLatency.observe({ component: 'generation' }, latency.generation_ms / 1000);
    metrics.llmLatency.observe({ component: 'total' }, latency.total_ms / 1000);
    metrics.llmQuality.observe(entry.quality_score);
  }

  function countWritten(sources: readonly Received[], rejectedIndexes: ReadonlySet<number>): number {
    const byOutcome = new Map<string, { outcome: string; model: string; count: number }>();
    let written = 0;
    for (let i = 0; i < sources.length; i++) {
      if (rejectedIndexes.has(i)) continue;
      written += 1;
      const entry = sources[i]!.entry!;
      observeRequest(entry);
      const outcome = entry.error === null ? 'success' : 'error';
      const k = `${outcome}/${entry.model_used}`;
      const counted = byOutcome.get(k);
      if (counted) counted.count += 1;
      else byOutcome.set(k, { outcome, model: entry.model_used, count: 1 });
    }
    for (const { outcome, model, count } of byOutcome.values()) metrics.requests.inc({ outcome, model }, count);
    if (written > 0) metrics.entriesUpserted.inc(written);
    return written;
  }

  return async function flush(items, signal) {
    const startedAt = performance.now();
    const waitedMs = now() - items[0]!.arrivedAt;
    const points: WitnessPoint[] = [];
    const sources: Received[] = [];
    const letters: Array<DeadLetter & { item: Received }> = [];
    // request_id -> digest of the first message carrying it in this batch.
    const firstById = new Map<string, string>();
    for (const item of items) {
      if (item.entry) {
        const digest = entryDigest(item.value ?? new Uint8Array(0));
        const first = firstById.get(item.entry.request_id);
        if (first === undefined) {
          firstById.set(item.entry.request_id, digest);
          points.push(entryToPoint(item.entry, digest));
          sources.push(item);
        } else if (first !== digest) {
          letters.push(conflict(item, 'earlier in the same batch'));
        }
        // else: the same entry twice in one batch; the first is written, this one is a no-op.
      } else if (item.failure) {
        letters.push(letter(item, item.failure.reason, item.failure.error));
      }
      // else: a message that is not an entry and not a failure (a record a stage stores); stages see it in `items`.
    }
    const { rejected, conflicts } = await sink.write(points, signal);
    const rejectedIndexes = new Set<number>();
    for (const { index, error } of rejected) {
      rejectedIndexes.add(index);
      letters.push(letter(sources[index]!, error.code, error.message));
    }
    for (const index of conflicts) {
      rejectedIndexes.add(index);
      letters.push(conflict(sources[index]!, 'already stored'));
    }
    for (const l of letters) if (l.reason === DUPLICATE_REQUEST_ID) metrics.entriesConflicting.inc({ reason: DUPLICATE_REQUEST_ID });
    await deadLetters.send(letters, signal);
    const written = countWritten(sources, rejectedIndexes);
    if (stages.length > 0) {
      const stored = [];
      for (let i = 0; i < sources.length; i++) if (!rejectedIndexes.has(i)) stored.push({ item: sources[i]!, point: points[i]! });
      const deadLettered = letters.map((l) => ({ item: l.item, reason: l.reason, error: l.error }));
      for (const stage of stages) await stage.afterWrite({ items, stored, deadLettered }, signal);
    }

    const committed = await ledger.commit(items);
    const durationMs = performance.now() - startedAt;
    metrics.batchSize.observe(items.length);
    metrics.flushDuration.observe(durationMs / 1000);
    metrics.lastFlush.set(now() / 1000);
    return { size: items.length, written, deadLettered: letters.length, durationMs, waitedMs, committed };
  };
}

/** The reason code of an entry whose request_id holds another entry. */
export const DUPLICATE_REQUEST_ID = 'WITNESS_DUPLICATE_REQUEST_ID';

function conflict(item: Received, where: string): DeadLetter & { item: Received } {
  const id = item.entry!.request_id;
  return letter(item, DUPLICATE_REQUEST_ID, `request_id ${id} is ${where} with different content; the log is append-only per request_id, so this entry was not applied`);
}

function letter(item: Received, reason: string, error: string): DeadLetter & { item: Received } {
  return {
    item,
    topic: item.topic,
    partition: item.partition,
    offset: item.offset,
    key: item.key,
    value: item.value,
    headers: item.headers,
    reason,
    error,
  };
}
