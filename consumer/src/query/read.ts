// What the postmortem questions (routing.ts, quality.ts, latency.ts,
// clusters.ts) share: the Qdrant calls query.ts wraps, a bounded read of
// payload fields, and quantiles.
//
// The bounded read never asks for vectors and names the payload fields it
// needs (an include-list), so a read of 100,000 entries moves a few hundred
// bytes per entry, not the 6 KB of its embeddings. Past the cap it reads a
// sample: the first `cap` matching entries in point-id order. Point ids are the
// request ids, random UUIDs (createWitnessEntry uses randomUUID), so that prefix
// is a uniform sample, unrelated to time, model or outcome, and it pages with
// an ordinary scroll on both Qdrant engines (the embedded one has no random sample).
import type { QdrantClient } from '@qdrant/js-client-rest';
import { QueryInputError } from '../errors.js';
import { toQdrantFilter, type QdrantCondition, type WitnessFilter } from './filter.js';

/** The Qdrant access a question gets from createWitnessQuery. */
export interface QueryContext {
  client: QdrantClient;
  collection: string;
  /** Runs a request, turning its failure into the library's errors. */
  call<T>(request: () => Promise<T>): Promise<T>;
  count(filter: WitnessFilter | undefined, extra?: QdrantCondition[]): Promise<number>;
  facet(key: string, filter: WitnessFilter | undefined, extra?: QdrantCondition[]): Promise<Record<string, number>>;
}

/** Default cap of a bounded read: beyond it, a sample of this many entries (flagged `sampled: true`). */
export const DEFAULT_MAX_ENTRIES = 100_000;
const MAX_MAX_ENTRIES = 1_000_000;
// Entries per scroll request: large enough that 100,000 entries take 100 round trips, small enough for a 10 s timeout.
const PAGE = 1_000;

export interface PayloadRead {
  /** The payloads read (only the included fields). */
  rows: Array<Record<string, unknown>>;
  /** How many entries match the filter (exact count). */
  total: number;
  /** True when total was above the cap and rows is a sample of it. */
  sampled: boolean;
}

export function checkMaxEntries(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_MAX_ENTRIES) {
    throw new QueryInputError('maxEntries', value, `an integer from 1 to ${MAX_MAX_ENTRIES}`);
  }
  return value;
}

/** Reads the `include` payload fields of the entries matching `filter`, at most `cap` of them. */
export async function readPayloads(
  ctx: QueryContext,
  { filter, include, cap = DEFAULT_MAX_ENTRIES }: { filter?: WitnessFilter | undefined; include: string[]; cap?: number },
): Promise<PayloadRead> {
  checkMaxEntries(cap);
  const f = toQdrantFilter(filter);
  const total = await ctx.count(filter);
  const want = Math.min(total, cap);
  const rows: Array<Record<string, unknown>> = [];
  let offset: string | number | undefined;
  while (rows.length < want) {
    const page = await ctx.call(() =>
      ctx.client.scroll(ctx.collection, {
        limit: Math.min(PAGE, want - rows.length),
        with_payload: include,
        with_vector: false,
        ...(f ? { filter: f } : {}),
        ...(offset === undefined ? {} : { offset }),
      }),
    );
    for (const p of page.points) rows.push(p.payload ?? {});
    const next = page.next_page_offset;
    if (next === null || next === undefined || typeof next === 'object') break;
    offset = next;
  }
  return { rows, total, sampled: total > cap };
}

/**
 * The p-quantile (0..1) of ascending `sorted` values, interpolated linearly
 * between the two closest ranks (numpy's default): p50 of [1, 2, 3, 4] is 2.5.
 * null for no values.
 */
export function quantile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export const ascending = (values: number[]): number[] => values.sort((a, b) => a - b);

/** A payload field by dotted path (`latency.total_ms`); undefined when absent. */
export function field(payload: Record<string, unknown>, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
