// "Did the router send requests where they ended up?": the router's choice
// (routing_decision.model) against the model that served (model_used) as a
// matrix of exact counts (one facet on model_used per chosen model), the
// confidence quartiles per chosen model (a bounded read of routing_decision),
// and how many requests had no model above 0.5 probability (one exact count:
// no element of routing_decision.model_probs is >= 0.5).
import type { WitnessFilter } from './filter.js';
import { DEFAULT_MAX_ENTRIES, ascending, quantile, readPayloads, type QueryContext } from './read.js';

/** A request's top routing probability below this is an unsure decision. */
export const UNSURE_BELOW = 0.5;

export interface Quartiles {
  count: number;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
}

export interface RoutingReport {
  /** Matching entries. */
  count: number;
  /** matrix[chosen][served]: requests the router sent to `chosen` that `served` answered (exact). */
  matrix: Record<string, Record<string, number>>;
  /** routing_decision.confidence per chosen model. */
  confidence: Record<string, Quartiles>;
  /** Requests whose highest model probability was below 0.5 (exact), and their share of count (null when 0). */
  unsure: { count: number; share: number | null };
  /** True when the quartiles come from a sample (more than maxEntries matched). */
  sampled: boolean;
}

export interface RoutingOptions {
  filter?: WitnessFilter;
  /** Cap of the read behind the quartiles. Default 100,000. */
  maxEntries?: number;
}

export async function routingReport(ctx: QueryContext, { filter, maxEntries = DEFAULT_MAX_ENTRIES }: RoutingOptions = {}): Promise<RoutingReport> {
  const noSureModel = { must_not: [{ key: 'routing_decision.model_probs', range: { gte: UNSURE_BELOW } }] };
  const [chosen, unsure, read] = await Promise.all([
    ctx.facet('routing_decision.model', filter),
    ctx.count(filter, [noSureModel]),
    readPayloads(ctx, { filter, include: ['routing_decision'], cap: maxEntries }),
  ]);
  const rows = await Promise.all(
    Object.keys(chosen).map(async (model) => [model, await ctx.facet('model_used', filter, [{ key: 'routing_decision.model', match: { value: model } }])] as const),
  );
  const byModel = new Map<string, number[]>();
  for (const row of read.rows) {
    const decision = row.routing_decision as { model?: unknown; confidence?: unknown } | undefined;
    if (typeof decision?.model !== 'string' || typeof decision.confidence !== 'number') continue;
    if (!byModel.has(decision.model)) byModel.set(decision.model, []);
    byModel.get(decision.model)!.push(decision.confidence);
  }
  const confidence: Record<string, Quartiles> = {};
  for (const [model, values] of [...byModel].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = ascending(values);
    const q = (p: number) => quantile(sorted, p)!;
    confidence[model] = { count: sorted.length, min: sorted[0]!, q1: q(0.25), median: q(0.5), q3: q(0.75), max: sorted[sorted.length - 1]! };
  }
  return {
    count: read.total,
    matrix: Object.fromEntries(rows),
    confidence,
    unsure: { count: unsure, share: read.total === 0 ? null : unsure / read.total },
    sampled: read.sampled,
  };
}
