// The Query API requests of test/integration/qdrant-conformance.test.ts: what the
// console recipes and the CLI send to points/query (every query kind, prefetch
// chains, fusion), query/batch, query/groups, the distance matrix, counts, facets
// and scroll edge cases, and the bodies both engines must refuse alike. Answers
// random by design (matrix samples, `sample: random`) are checked for what must
// hold on each engine (counts, ids within the filter, scores equal to the cosine
// recomputed here between the named points), not compared id by id.

export interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  key?: string | null;
  /** What of a 200 answer to compare: the whole result (default) or a projection. */
  pick?: (result: unknown) => unknown;
  /** For answers random by design: the first thing that does not hold, on either engine. */
  check?: (embedded: unknown, server: unknown) => string | undefined;
}

export interface Data {
  collection: string;
  uuid: (i: number) => string;
  vector: (i: number, salt: number) => number[];
  count: number;
}

type Filter = Record<string, unknown>;
const cosine = (a: number[], b: number[]) => {
  const dot = a.reduce((s, x, i) => s + x * b[i]!, 0);
  return dot / Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
};
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(a));

/** A matrix answer (pairs or offsets) as pairs of ids, with the sampled ids. */
function asPairs(result: unknown): { ids: string[]; pairs: Array<{ a: string; b: string; score: number }> } {
  const r = result as { pairs?: Array<{ a: string; b: string; score: number }>; ids?: string[]; offsets_row?: number[]; offsets_col?: number[]; scores?: number[] };
  if (r.pairs) return { ids: [...new Set(r.pairs.map((p) => p.a))], pairs: r.pairs };
  const ids = r.ids ?? [];
  return { ids, pairs: (r.offsets_row ?? []).map((row, k) => ({ a: ids[row]!, b: ids[r.offsets_col![k]!]!, score: r.scores![k]! })) };
}

/**
 * What a random sample's matrix must be: `sample` distinct points (or all there
 * are) within the filter, each with its `limit` nearest others of the sample, best
 * first, scored with the cosine of their vectors.
 */
function matrixHolds(d: Data, allowed: number[], salt: number, sample: number, limit: number) {
  const index = new Map(allowed.map((i) => [d.uuid(i), i]));
  const one = (engine: string, result: unknown): string | undefined => {
    const { ids, pairs } = asPairs(result);
    const expected = Math.min(sample, allowed.length);
    if (ids.length !== expected) return `${engine}: ${ids.length} sampled points, expected ${expected}`;
    if (pairs.length !== expected * Math.min(limit, expected - 1)) return `${engine}: ${pairs.length} pairs for ${expected} points, limit ${limit}`;
    for (const [k, p] of pairs.entries()) {
      const [a, b] = [index.get(p.a), index.get(p.b)];
      if (a === undefined || b === undefined || a === b || !ids.includes(p.b)) return `${engine}: pair ${p.a}-${p.b} outside the filtered sample`;
      const want = cosine(d.vector(a, salt), d.vector(b, salt));
      if (!close(p.score, want)) return `${engine}: pair ${a}-${b} scored ${p.score}, cosine is ${want}`;
      const prev = pairs[k - 1];
      if (prev && prev.a === p.a && prev.score < p.score - 1e-6) return `${engine}: neighbours of ${a} not best first`;
    }
    return undefined;
  };
  return (embedded: unknown, server: unknown) => one('embedded', embedded) ?? one('server', server);
}

/** What `sample: random` must answer: `limit` distinct points within the filter, each scored 1. */
function sampleHolds(d: Data, allowed: number[], limit: number) {
  const ids = new Set(allowed.map((i) => d.uuid(i)));
  const one = (engine: string, result: unknown): string | undefined => {
    const points = (result as { points: Array<{ id: string; score: number }> }).points;
    if (points.length !== Math.min(limit, allowed.length)) return `${engine}: ${points.length} points, expected ${Math.min(limit, allowed.length)}`;
    if (new Set(points.map((p) => p.id)).size !== points.length) return `${engine}: a point sampled twice`;
    const outside = points.find((p) => !ids.has(p.id) || p.score !== 1);
    return outside ? `${engine}: ${outside.id} (score ${outside.score}) outside the filter or not scored 1` : undefined;
  };
  return (embedded: unknown, server: unknown) => one('embedded', embedded) ?? one('server', server);
}

/** For queries whose scores tie (context queries score many points 0): the same scores, whichever tied point comes. */
function sameScores(embedded: unknown, server: unknown): string | undefined {
  const scores = (r: unknown) => (r as { points: Array<{ score: number }> }).points.map((p) => p.score);
  const [a, b] = [scores(embedded), scores(server)];
  return a.length === b.length && a.every((s, i) => close(s, b[i]!)) ? undefined : `scores ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/**
 * For rrf fusion: ranks fused by rank alone tie often, and the server orders tied
 * points differently from one request to the next (the same request sent four
 * times came back in three orders). The same scores in order, and each tie the
 * same points; the last tie only as many (the limit cuts it where it may).
 */
function sameRanking(embedded: unknown, server: unknown): string | undefined {
  const ties = (r: unknown) => {
    const out: Array<{ score: number; ids: string[] }> = [];
    for (const p of (r as { points: Array<{ id: string; score: number }> }).points) {
      const last = out[out.length - 1];
      if (last && close(last.score, p.score)) last.ids.push(p.id);
      else out.push({ score: p.score, ids: [p.id] });
    }
    return out;
  };
  const [a, b] = [ties(embedded), ties(server)];
  if (a.length !== b.length) return `${a.length} distinct scores vs ${b.length}`;
  for (const [i, t] of a.entries()) {
    const u = b[i]!;
    if (!close(t.score, u.score) || t.ids.length !== u.ids.length) return `tie ${i}: ${t.ids.length} at ${t.score} vs ${u.ids.length} at ${u.score}`;
    if (i < a.length - 1 && [...t.ids].sort().join() !== [...u.ids].sort().join()) return `tie ${i} at ${t.score}: ${t.ids.join()} vs ${u.ids.join()}`;
  }
  return undefined;
}

/**
 * Groups over rrf fusion: the server's group_by runs the query in rounds, and rrf's
 * ties (ordered anew on each request) decide which points each round takes, so
 * the server's own answer changes from run to run (two runs: the 2nd and 3rd
 * groups swapped, a hit scored 0.5 or 0.5625). What holds: the same groups, as
 * many hits in each, and the best hit's score.
 */
function sameGroups(embedded: unknown, server: unknown): string | undefined {
  const groups = (r: unknown) => (r as { groups: Array<{ id: unknown; hits: Array<{ score: number }> }> }).groups;
  const summary = (r: unknown) => groups(r).map((g) => `${String(g.id)}:${g.hits.length}`).sort().join();
  const [a, b] = [summary(embedded), summary(server)];
  if (a !== b) return `groups ${a} vs ${b}`;
  const [ta, tb] = [groups(embedded)[0]?.hits[0]?.score ?? 0, groups(server)[0]?.hits[0]?.score ?? 0];
  return close(ta, tb) ? undefined : `best hit scored ${ta} vs ${tb}`;
}

export function queryCases(d: Data): Case[] {
  const C = d.collection;
  const q = `collections/${C}/points/query`;
  const range = Array.from({ length: d.count }, (_, i) => i);
  const session = (s: number): Filter => ({ must: [{ key: 'session_id', match: { value: `session-${s}` } }] });
  const failed: Filter = { must: [{ key: 'is_success', match: { value: false } }] };
  const inSession1 = range.filter((i) => i % 4 === 1);
  const withResponse = range.filter((i) => i % 5 !== 4);
  const v = d.vector;
  const id = d.uuid;
  const twoWays = [
    { query: v(3, 0), using: 'query', limit: 8 },
    { query: id(5), using: 'response', limit: 8 },
  ];
  return [
    // points/query: nearest by vector and by id, and what a query may ask for.
    { name: 'nearest, score_threshold, payload exclude list', method: 'POST', path: q, body: { query: v(11, 0), using: 'query', score_threshold: 0.3, limit: 6, with_payload: { exclude: ['tags', 'error', 'latency'] } } },
    { name: 'nearest, payload include object, named vector', method: 'POST', path: q, body: { query: v(12, 1), using: 'response', limit: 3, with_payload: { include: ['model_used', 'latency.total_ms'] }, with_vector: ['response'] } },
    { name: 'nearest by id with all vectors', method: 'POST', path: q, body: { query: { nearest: id(8) }, using: 'query', limit: 3, with_vector: true } },
    { name: 'nearest with limit and offset', method: 'POST', path: q, body: { query: v(2, 0), using: 'query', limit: 4, offset: 3, filter: { must_not: failed.must } } },
    { name: 'query order_by timestamp desc, filtered', method: 'POST', path: q, body: { query: { order_by: { key: 'timestamp', direction: 'desc' } }, filter: session(2), limit: 5, with_payload: ['timestamp'] } },
    { name: 'query without a query (by id)', method: 'POST', path: q, body: { filter: failed, limit: 4 } },
    // Prefetch chains and fusion.
    { name: 'prefetch then re-rank on the other vector', method: 'POST', path: q, body: { prefetch: { query: v(9, 0), using: 'query', limit: 20, filter: { must_not: failed.must } }, query: v(9, 1), using: 'response', limit: 5 } },
    {
      name: 'nested prefetch re-ranked by id',
      method: 'POST',
      path: q,
      body: { prefetch: { prefetch: { query: v(1, 0), using: 'query', limit: 30 }, query: v(6, 1), using: 'response', limit: 12 }, query: id(10), using: 'query', limit: 5, with_payload: ['request_id'] },
    },
    { name: 'fusion rrf (vector and id prefetches)', method: 'POST', path: q, body: { prefetch: twoWays, query: { fusion: 'rrf' }, limit: 5 }, check: sameRanking },
    { name: 'fusion dbsf, filtered', method: 'POST', path: q, body: { prefetch: twoWays, query: { fusion: 'dbsf' }, filter: { must: [{ key: 'tags', match: { value: 'eu' } }] }, limit: 6 } },
    { name: 'rrf with k', method: 'POST', path: q, body: { prefetch: twoWays, query: { rrf: { k: 10 } }, limit: 7 }, check: sameRanking },
    // Recommend, discover, context.
    { name: 'recommend average_vector (ids and a vector)', method: 'POST', path: q, body: { query: { recommend: { positive: [id(3), v(20, 0)], negative: [id(7)] } }, using: 'query', limit: 5 } },
    { name: 'recommend positive only', method: 'POST', path: q, body: { query: { recommend: { positive: [id(3)] } }, using: 'query', limit: 4 } },
    { name: 'recommend best_score, filtered', method: 'POST', path: q, body: { query: { recommend: { positive: [id(3), id(5)], negative: [id(7)], strategy: 'best_score' } }, using: 'query', filter: session(1), limit: 4 } },
    { name: 'recommend sum_scores on response', method: 'POST', path: q, body: { query: { recommend: { positive: [id(1)], negative: [id(2), id(6)], strategy: 'sum_scores' } }, using: 'response', limit: 4 } },
    { name: 'discover target and context', method: 'POST', path: q, body: { query: { discover: { target: id(3), context: [{ positive: id(5), negative: id(7) }, { positive: v(15, 0), negative: id(16) }] } }, using: 'query', limit: 5 } },
    { name: 'context query', method: 'POST', path: q, body: { query: { context: [{ positive: id(5), negative: id(7) }] }, using: 'query', limit: 5 }, check: sameScores },
    { name: 'sample random, filtered', method: 'POST', path: q, body: { query: { sample: 'random' }, filter: session(1), limit: 4 }, check: sampleHolds(d, inSession1, 4) },
    { name: 'sample random beyond the filter', method: 'POST', path: q, body: { query: { sample: 'random' }, filter: session(1), limit: 50 }, check: sampleHolds(d, inSession1, 50) },
    // query/batch with mixed kinds.
    {
      name: 'query batch: nearest, recommend, dbsf fusion',
      method: 'POST',
      path: `${q}/batch`,
      body: { searches: [{ query: id(4), using: 'query', limit: 3 }, { query: { recommend: { positive: [id(2)], strategy: 'best_score' } }, using: 'query', limit: 3 }, { prefetch: twoWays, query: { fusion: 'dbsf' }, limit: 3 }] },
    },
    // query/groups by a payload key.
    { name: 'groups by session_id', method: 'POST', path: `${q}/groups`, body: { query: v(5, 0), using: 'query', group_by: 'session_id', group_size: 2, limit: 3, with_payload: ['request_id'] } },
    { name: 'groups by tags (array values), defaults', method: 'POST', path: `${q}/groups`, body: { query: v(5, 1), using: 'response', group_by: 'tags' } },
    { name: 'groups by error.code, filtered', method: 'POST', path: `${q}/groups`, body: { query: id(12), using: 'query', group_by: 'error.code', group_size: 5, limit: 4, filter: failed } },
    { name: 'groups by model_used over a prefetch', method: 'POST', path: `${q}/groups`, body: { prefetch: { query: v(9, 0), using: 'query', limit: 20 }, query: v(9, 1), using: 'response', group_by: 'model_used', group_size: 3, limit: 2 } },
    { name: 'groups over an rrf fusion', method: 'POST', path: `${q}/groups`, body: { prefetch: twoWays, query: { fusion: 'rrf' }, group_by: 'model_used', group_size: 2, limit: 5 }, check: sameGroups },
    // The distance matrix: whole filtered sets (deterministic: ids sorted), then random samples.
    { name: 'matrix pairs over a whole session', method: 'POST', path: `collections/${C}/points/search/matrix/pairs`, body: { sample: 100, limit: 2, using: 'query', filter: session(1) } },
    { name: 'matrix offsets over a session, response vector', method: 'POST', path: `collections/${C}/points/search/matrix/offsets`, body: { sample: 50, limit: 3, using: 'response', filter: session(3) } },
    { name: 'matrix pairs, random sample', method: 'POST', path: `collections/${C}/points/search/matrix/pairs`, body: { sample: 6, limit: 2, using: 'response' }, check: matrixHolds(d, withResponse, 1, 6, 2) },
    { name: 'matrix offsets, random sample, filtered', method: 'POST', path: `collections/${C}/points/search/matrix/offsets`, body: { sample: 4, limit: 5, using: 'query', filter: session(1) }, check: matrixHolds(d, inSession1, 0, 4, 5) },
    // Counts, facets and scroll edge cases.
    { name: 'count with min_should', method: 'POST', path: `collections/${C}/points/count`, body: { filter: { min_should: { conditions: [{ key: 'session_id', match: { value: 'session-1' } }, { key: 'tags', match: { value: 'eu' } }, { key: 'is_success', match: { value: false } }], min_count: 2 } }, exact: true } },
    { name: 'facet tags in a session, limit 1', method: 'POST', path: `collections/${C}/facet`, body: { key: 'tags', filter: session(2), limit: 1, exact: true } },
    { name: 'scroll from an offset id with vectors', method: 'POST', path: `collections/${C}/points/scroll`, body: { offset: id(7), limit: 3, with_payload: ['request_id'], with_vector: ['query'] } },
    { name: 'scroll order_by desc from a value', method: 'POST', path: `collections/${C}/points/scroll`, body: { order_by: { key: 'latency.total_ms', direction: 'desc', start_from: 400 }, limit: 4, with_payload: ['latency'] } },
    { name: 'scroll a filter matching nothing', method: 'POST', path: `collections/${C}/points/scroll`, body: { filter: session(9), limit: 5 } },
    // Refused alike.
    { name: 'scroll limit 0', method: 'POST', path: `collections/${C}/points/scroll`, body: { limit: 0 } },
    { name: 'query limit 0', method: 'POST', path: q, body: { query: v(1, 0), using: 'query', limit: 0 } },
    { name: 'prefetch limit 0', method: 'POST', path: q, body: { prefetch: { query: v(1, 0), using: 'query', limit: 0 }, query: { fusion: 'rrf' } } },
    { name: 'prefetch without a query to merge them', method: 'POST', path: q, body: { prefetch: twoWays, limit: 3 } },
    { name: 'query by a point without that vector', method: 'POST', path: q, body: { query: id(4), using: 'response', limit: 3 } },
    { name: 'recommend on an unknown vector', method: 'POST', path: q, body: { query: { recommend: { positive: [v(1, 0)] } }, using: 'prompt', limit: 3 } },
    { name: 'query batch with a limit 0 search', method: 'POST', path: `${q}/batch`, body: { searches: [{ query: v(1, 0), using: 'query', limit: 2 }, { query: v(1, 0), using: 'query', limit: 0 }] } },
    { name: 'facet limit 0', method: 'POST', path: `collections/${C}/facet`, body: { key: 'model_used', limit: 0 } },
    { name: 'groups on an unknown vector', method: 'POST', path: `${q}/groups`, body: { query: v(1, 0), using: 'prompt', group_by: 'session_id' } },
    { name: 'discover by a point without that vector', method: 'POST', path: q, body: { query: { discover: { target: id(4), context: [{ positive: id(5), negative: id(7) }] } }, using: 'response', limit: 3 } },
    { name: 'groups without group_by', method: 'POST', path: `${q}/groups`, body: { query: v(1, 0), using: 'query' } },
    { name: 'groups group_size 0', method: 'POST', path: `${q}/groups`, body: { query: v(1, 0), using: 'query', group_by: 'session_id', group_size: 0 } },
    { name: 'groups limit 0', method: 'POST', path: `${q}/groups`, body: { query: v(1, 0), using: 'query', group_by: 'session_id', limit: 0 } },
    { name: 'matrix sample 1', method: 'POST', path: `collections/${C}/points/search/matrix/pairs`, body: { sample: 1, limit: 2, using: 'query' } },
    { name: 'matrix limit 0', method: 'POST', path: `collections/${C}/points/search/matrix/offsets`, body: { sample: 5, limit: 0, using: 'query' } },
    { name: 'matrix on an unknown vector', method: 'POST', path: `collections/${C}/points/search/matrix/pairs`, body: { sample: 5, using: 'prompt' } },
    { name: 'matrix without a vector name', method: 'POST', path: `collections/${C}/points/search/matrix/offsets`, body: { sample: 5 } },
    { name: 'matrix of an unknown collection', method: 'POST', path: 'collections/no_such_collection/points/search/matrix/pairs', body: { using: 'query' } },
  ];
}
