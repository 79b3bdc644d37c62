// What the audit reads: the checkpoints and dead-letter records the consumer keeps
// in `<collection>_checkpoints` (issue 26's contract: one point per checkpoint,
// `kind: "checkpoint"`, and one per dead-lettered message, `kind: "dead_letter"`),
// and, from the main collection, the few facts per producer that counts cannot
// give (its highest stored seq, the services its entries name). Only payload
// fields are read, never vectors.
import type { QdrantCondition, QdrantFilter } from './filter.js';
import type { QueryContext } from './read.js';
import type { SeqRange } from './audit-gaps.js';
import { checkpointCollection } from '../store/checkpoints.js';

export interface CheckpointPoint {
  producer_id: string;
  service: string;
  host: string;
  checkpoint_seq: number;
  sent_at: string;
  high_seq: number;
  undelivered: Array<{ from: number; to: number; reason: string }>;
  truncated: boolean;
  final: boolean;
}

export interface DeadLetterPoint {
  topic: string;
  partition: number;
  offset: string;
  reason: string;
  at: string;
  producer_id: string | null;
  seq: number | null;
  service: string | null;
}

// Points per scroll page: checkpoints and letters are small payloads.
const PAGE = 1_000;

/** The audit's reads, each one request or one paged scroll. */
export interface AuditSources {
  checkpoints(filter: QdrantCondition[]): Promise<CheckpointPoint[]>;
  deadLetters(filter: QdrantCondition[]): Promise<DeadLetterPoint[]>;
  /** The latest checkpoint of `producerId` sent before `before`, or undefined. */
  checkpointBefore(producerId: string, before: Date): Promise<CheckpointPoint | undefined>;
  /** The producers with entries since `since` (facet of producer.id, filtered). */
  activeProducers(must: QdrantCondition[]): Promise<string[]>;
  /** The stored entry of `producerId` with the highest seq: its seq, timestamp and host. */
  highestStored(producerId: string): Promise<{ seq: number; timestamp: string; host: string; service: string } | undefined>;
  /** The services the producer's stored entries name. */
  entryServices(producerId: string): Promise<string[]>;
  /** How many of the producer's points have a seq in any of `ranges`. */
  countSeqs(producerId: string, ranges: readonly SeqRange[]): Promise<number>;
  /** The timestamps of the producer's stored entries at `seqs`. */
  timestampsAt(producerId: string, seqs: number[]): Promise<Map<number, string>>;
  /** Requests made so far (the benchmark prints it). */
  readonly requests: number;
  /** False when `<collection>_checkpoints` does not exist (a consumer older than issue 26). */
  readonly hasCheckpointCollection: boolean;
}

export function createAuditSources(ctx: QueryContext): AuditSources {
  const side = checkpointCollection(ctx.collection);
  let requests = 0;
  let hasSide = true;
  const byProducer = (id: string): QdrantCondition => ({ key: 'producer.id', match: { value: id } });

  async function call<T>(request: () => Promise<T>): Promise<T> {
    requests++;
    return ctx.call(request);
  }

  // The side collection may be missing: the audit then says so instead of failing.
  async function sideScroll(filter: QdrantFilter, limit = Infinity, orderBy?: { key: string; direction: 'asc' | 'desc' }): Promise<Array<Record<string, unknown>>> {
    if (!hasSide) return [];
    const rows: Array<Record<string, unknown>> = [];
    let offset: string | number | undefined;
    for (;;) {
      let page;
      try {
        requests++;
        page = await ctx.client.scroll(side, {
          filter,
          limit: Math.min(PAGE, limit - rows.length),
          with_payload: true,
          with_vector: false,
          ...(orderBy ? { order_by: orderBy } : {}),
          ...(offset === undefined ? {} : { offset }),
        });
      } catch (err) {
        if ((err as { status?: unknown }).status === 404) {
          hasSide = false;
          return [];
        }
        return ctx.call(() => Promise.reject(err));
      }
      for (const p of page.points) rows.push(p.payload ?? {});
      const next = page.next_page_offset;
      if (orderBy || rows.length >= limit || next === null || next === undefined || typeof next === 'object') return rows;
      offset = next;
    }
  }

  const kind = (k: string): QdrantCondition => ({ key: 'kind', match: { value: k } });

  return {
    get requests() {
      return requests;
    },
    get hasCheckpointCollection() {
      return hasSide;
    },
    checkpoints: async (must) => (await sideScroll({ must: [kind('checkpoint'), ...must] })) as unknown as CheckpointPoint[],
    deadLetters: async (must) => (await sideScroll({ must: [kind('dead_letter'), ...must] })) as unknown as DeadLetterPoint[],
    async checkpointBefore(producerId, before) {
      const rows = await sideScroll(
        { must: [kind('checkpoint'), { key: 'producer_id', match: { value: producerId } }, { key: 'sent_at', range: { lt: before.toISOString() } }] },
        1,
        { key: 'sent_at', direction: 'desc' },
      );
      return rows[0] as unknown as CheckpointPoint | undefined;
    },
    async activeProducers(must) {
      const res = await call(() => ctx.client.facet(ctx.collection, { key: 'producer.id', limit: 100_000, exact: true, filter: { must } }));
      return res.hits.map((h) => String(h.value));
    },
    async highestStored(producerId) {
      const res = await call(() =>
        ctx.client.scroll(ctx.collection, {
          filter: { must: [byProducer(producerId)] },
          limit: 1,
          order_by: { key: 'producer.seq', direction: 'desc' },
          with_payload: ['producer', 'timestamp'],
          with_vector: false,
        }),
      );
      const p = res.points[0]?.payload as { producer?: { seq: number; host: string; service: string }; timestamp?: string } | undefined;
      return p?.producer ? { seq: p.producer.seq, host: p.producer.host, service: p.producer.service, timestamp: String(p.timestamp) } : undefined;
    },
    async entryServices(producerId) {
      const res = await call(() => ctx.client.facet(ctx.collection, { key: 'producer.service', limit: 100, exact: true, filter: { must: [byProducer(producerId)] } }));
      return res.hits.map((h) => String(h.value));
    },
    async countSeqs(producerId, ranges) {
      const clauses = ranges.map(([gte, lte]) => ({ key: 'producer.seq', range: { gte, lte } }));
      const filter = clauses.length === 1 ? { must: [byProducer(producerId), clauses[0]!] } : { must: [byProducer(producerId)], should: clauses };
      return (await call(() => ctx.client.count(ctx.collection, { filter, exact: true }))).count;
    },
    async timestampsAt(producerId, seqs) {
      const out = new Map<number, string>();
      if (seqs.length === 0) return out;
      const res = await call(() =>
        ctx.client.scroll(ctx.collection, {
          filter: { must: [byProducer(producerId)], should: seqs.map((s) => ({ key: 'producer.seq', match: { value: s } })) },
          limit: seqs.length * 2,
          with_payload: ['producer.seq', 'timestamp'],
          with_vector: false,
        }),
      );
      for (const p of res.points) {
        const payload = p.payload as { producer?: { seq?: number }; timestamp?: string };
        if (typeof payload.producer?.seq === 'number') out.set(payload.producer.seq, String(payload.timestamp));
      }
      return out;
    },
  };
}
