// "Where did the time go?": p50/p95/p99 of each latency component and of the
// total, from a bounded read of the `latency` payload, and how often each
// component was the slowest, which is one exact facet on `latency_slowest`
// (computed at write time by entryToPoint, indexed), whatever the cap.
import type { WitnessFilter } from './filter.js';
import { DEFAULT_MAX_ENTRIES, ascending, quantile, readPayloads, type QueryContext } from './read.js';

/** The five parts of a request, in pipeline order, then the end-to-end total. */
export const LATENCY_COMPONENTS = ['embedding', 'retrieval', 'routing', 'attention', 'generation'] as const;
const MEASURES = [...LATENCY_COMPONENTS, 'total'] as const;

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface LatencyReport {
  /** Milliseconds, per component and `total` (latency.total_ms); null when nothing matched. */
  components: Record<(typeof MEASURES)[number], Percentiles>;
  /** Entries whose slowest component was this one (exact, over every matching entry). */
  slowest: Record<string, number>;
  /** Matching entries. */
  count: number;
  /** True when the percentiles come from a sample (more than maxEntries matched). */
  sampled: boolean;
}

export interface LatencyOptions {
  filter?: WitnessFilter;
  /** Cap of the read behind the percentiles. Default 100,000. */
  maxEntries?: number;
}

export async function latencyReport(ctx: QueryContext, { filter, maxEntries = DEFAULT_MAX_ENTRIES }: LatencyOptions = {}): Promise<LatencyReport> {
  const [read, slowest] = await Promise.all([
    readPayloads(ctx, { filter, include: ['latency'], cap: maxEntries }),
    ctx.facet('latency_slowest', filter),
  ]);
  const values: Record<string, number[]> = Object.fromEntries(MEASURES.map((m) => [m, []]));
  for (const row of read.rows) {
    const latency = row.latency as Record<string, unknown> | undefined;
    for (const m of MEASURES) {
      const ms = latency?.[`${m}_ms`];
      if (typeof ms === 'number') values[m]!.push(ms);
    }
  }
  const components = Object.fromEntries(
    MEASURES.map((m) => {
      const sorted = ascending(values[m]!);
      return [m, { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), p99: quantile(sorted, 0.99) }];
    }),
  ) as LatencyReport['components'];
  return { components, slowest, count: read.total, sampled: read.sampled };
}
