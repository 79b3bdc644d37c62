// `log.audit()`: does the log hold every entry its producers numbered, and where
// not, why (issue 26). Each SDK instance numbers the entries it accepts 0, 1, 2…
// (`producer.seq`) and sends checkpoints: its highest seq so far and the seqs it
// will never deliver, with their reason. Against those, for each producer
// instance active in the window (an entry, a checkpoint or a dead letter since
// `since`), every seq of its range is exactly one of:
//
// - stored: a point in the collection has it (counted over the producer.seq index);
// - dead_lettered: not stored, and a dead-letter record names it (each seq once, by
//   the reason of its first letter; a letter re-driven and stored counts as stored);
// - dropped: not stored, and the latest checkpoint's `undelivered` ranges hold it
//   (by reason: queue_full, send_failed, closed);
// - in_flight: none of the above, above the high mark of the producer's last
//   checkpoint older than `graceMs`, while the producer was heard from (a
//   checkpoint or a stored entry) within `graceMs`. A producer that went quiet
//   (SIGKILLed, or one that never sent a checkpoint) is not in flight forever:
//   once the grace window has passed, its missing seqs are unaccounted;
// - unaccounted: the rest, listed in `missing` as ranges, with the timestamps of
//   the stored entries just before and after each range.
//
// The range: from the seq after the high mark of the last checkpoint sent before
// the window (0 for an instance started in it) to the highest seq any checkpoint,
// stored entry or dead letter shows. A restarted SDK is a new instance (a new
// producer.id) numbering from 0, so a restart is no gap. Gaps are found by
// bisection with exact counts (audit-gaps.ts), never by reading the points.
//
// What cannot be reconciled is reported as `problems`, and the producer marked
// `reconcilable: false`, rather than trusted: one producer id under two services,
// high_seq going backwards from one checkpoint to the next, a truncated list of
// undelivered ranges, a range beyond its own high mark, a stored seq above the
// high mark of a checkpoint sent after it (plus, reported only: duplicate seqs,
// no checkpoint at all). Dead letters that could not be decoded name no
// producer: they are listed at the top by partition and offset.
import { UUID_PATTERN } from '@witnesslog/core';
import { QueryInputError } from '../errors.js';
import { auditProducer, type AuditProblem, type ProducerAudit } from './audit-producer.js';
import { createAuditSources, type CheckpointPoint, type DeadLetterPoint } from './audit-sources.js';
import type { QdrantCondition } from './filter.js';
import type { QueryContext } from './read.js';

export interface AuditOptions {
  /** Start of the window. Default: an hour ago. */
  since?: Date;
  /** Only producers of this producer.service. */
  service?: string;
  /** Only this producer instance (producer.id). */
  producerId?: string;
  /** How long after the checkpoint that covers it a missing seq counts as in flight. Default 2 minutes. */
  graceMs?: number;
  /** Wall clock, ms. Default Date.now. */
  now?: () => number;
}

export interface AuditReport {
  producers: ProducerAudit[];
  /** Sum over the producers. */
  unaccounted: number;
  /** Dead letters whose bytes named no producer (undecodable), in the window. */
  undecodable: Array<{ topic: string; partition: number; offset: string; reason: string; at: string }>;
  /** Problems of the audit as a whole (e.g. no checkpoint collection). */
  problems: AuditProblem[];
  window: { since: string; until: string; grace_ms: number };
  /** Qdrant requests the audit made. */
  requests: number;
}

export const DEFAULT_AUDIT_GRACE_MS = 120_000;
// Producers audited at once: each runs a few requests in parallel already.
const CONCURRENCY = 4;

function checkOptions({ since, graceMs, producerId, service }: AuditOptions): void {
  if (since !== undefined && (!(since instanceof Date) || Number.isNaN(since.getTime()))) throw new QueryInputError('since', String(since), 'a valid Date');
  if (graceMs !== undefined && (!Number.isFinite(graceMs) || graceMs < 0)) throw new QueryInputError('graceMs', graceMs, 'milliseconds (a number >= 0)');
  if (producerId !== undefined && !UUID_PATTERN.test(producerId)) {
    throw new QueryInputError('producerId', producerId, 'a UUID (8-4-4-4-12 hex digits)');
  }
  if (service !== undefined && (typeof service !== 'string' || service === '')) throw new QueryInputError('service', service, 'a non-empty string');
}

export async function auditLog(ctx: QueryContext, options: AuditOptions = {}): Promise<AuditReport> {
  checkOptions(options);
  const now = (options.now ?? Date.now)();
  const since = options.since ?? new Date(now - 3_600_000);
  const graceMs = options.graceMs ?? DEFAULT_AUDIT_GRACE_MS;
  const producerId = options.producerId?.toLowerCase();
  const src = createAuditSources(ctx);
  const after = { gte: since.toISOString() };
  const side = (key: string, value: string | undefined): QdrantCondition[] => (value === undefined ? [] : [{ key, match: { value } }]);
  const [checkpoints, letters, fromEntries] = await Promise.all([
    src.checkpoints([{ key: 'sent_at', range: after }, ...side('service', options.service), ...side('producer_id', producerId)]),
    src.deadLetters([{ key: 'at', range: after }, ...side('service', options.service), ...side('producer_id', producerId)]),
    src.activeProducers([{ key: 'timestamp', range: after }, ...side('producer.service', options.service), ...side('producer.id', producerId)]),
  ]);
  const ids = [...new Set([...checkpoints.map((c) => c.producer_id), ...letters.flatMap((l) => (l.producer_id ? [l.producer_id] : [])), ...fromEntries])].sort();
  const producers = await mapLimit(ids, CONCURRENCY, (id) =>
    auditProducer(src, { id, checkpoints: checkpoints.filter((c: CheckpointPoint) => c.producer_id === id), windowStart: since, now, graceMs }),
  );
  const problems: AuditProblem[] = src.hasCheckpointCollection
    ? []
    : [{ kind: 'no_checkpoint_collection', message: `${ctx.collection}_checkpoints does not exist: no checkpoint or dead-letter record was ever stored (a consumer older than issue 26?)` }];
  return {
    producers,
    unaccounted: producers.reduce((n, p) => n + p.unaccounted, 0),
    undecodable: options.service || producerId ? [] : letters.filter((l: DeadLetterPoint) => !l.producer_id).map(({ topic, partition, offset, reason, at }) => ({ topic, partition, offset, reason, at })),
    problems,
    window: { since: since.toISOString(), until: new Date(now).toISOString(), grace_ms: graceMs },
    requests: src.requests,
  };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
