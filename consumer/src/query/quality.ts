// "When and where did answers get worse?": per time bucket and per model, the
// count, the success rate and the mean, p10 and p50 of quality_score, from a
// bounded read of four payload fields. A quality_score of 0 means "not scored"
// (createWitnessEntry's default), so the quality figures are over the scored
// entries only (`scored` says how many); counting zeros would read as bad answers.
import { QueryInputError } from '../errors.js';
import type { WitnessFilter } from './filter.js';
import { DEFAULT_MAX_ENTRIES, ascending, quantile, readPayloads, type QueryContext } from './read.js';

export interface QualityBucket {
  /** Start of the bucket (RFC 3339), a multiple of `every` since the Unix epoch. */
  start: string;
  model: string;
  count: number;
  /** Entries with a quality_score above 0. */
  scored: number;
  /** Over the scored entries; null when none was scored. */
  mean: number | null;
  p10: number | null;
  p50: number | null;
  /** Successful entries / count. */
  successRate: number;
}

export interface QualityReport {
  /** Bucket width, milliseconds. */
  every: number;
  /** Oldest bucket first, models by name within one. */
  buckets: QualityBucket[];
  /** Matching entries. */
  count: number;
  /** True when the buckets come from a sample (more than maxEntries matched): their counts are the sample's. */
  sampled: boolean;
}

export interface QualityOptions {
  filter?: WitnessFilter;
  /** Bucket width in milliseconds. Default one hour. */
  every?: number;
  /** Cap of the read. Default 100,000. */
  maxEntries?: number;
}

const HOUR = 3_600_000;
// A bucket under a second is a typo for something else, and would make a bucket per entry.
const MIN_EVERY = 1_000;

export async function qualityReport(ctx: QueryContext, { filter, every = HOUR, maxEntries = DEFAULT_MAX_ENTRIES }: QualityOptions = {}): Promise<QualityReport> {
  if (!Number.isInteger(every) || every < MIN_EVERY) throw new QueryInputError('every', every, `a bucket width in whole milliseconds, at least ${MIN_EVERY}`);
  const read = await readPayloads(ctx, { filter, include: ['timestamp', 'model_used', 'quality_score', 'is_success'], cap: maxEntries });
  const groups = new Map<string, { start: number; model: string; scores: number[]; count: number; ok: number }>();
  for (const row of read.rows) {
    const t = Date.parse(String(row.timestamp));
    if (Number.isNaN(t)) continue;
    const start = Math.floor(t / every) * every;
    const model = String(row.model_used);
    const key = `${start} ${model}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { start, model, scores: [], count: 0, ok: 0 }));
    g.count++;
    if (row.is_success === true) g.ok++;
    if (typeof row.quality_score === 'number' && row.quality_score > 0) g.scores.push(row.quality_score);
  }
  const buckets = [...groups.values()]
    .sort((a, b) => a.start - b.start || a.model.localeCompare(b.model))
    .map((g): QualityBucket => {
      const sorted = ascending(g.scores);
      return {
        start: new Date(g.start).toISOString(),
        model: g.model,
        count: g.count,
        scored: sorted.length,
        mean: sorted.length === 0 ? null : sorted.reduce((s, x) => s + x, 0) / sorted.length,
        p10: quantile(sorted, 0.1),
        p50: quantile(sorted, 0.5),
        successRate: g.ok / g.count,
      };
    });
  return { every, buckets, count: read.total, sampled: read.sampled };
}
