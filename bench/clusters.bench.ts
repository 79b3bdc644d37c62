// `witness clusters` / log.clusters() against what a user would otherwise
// write: scroll the vectors out of Qdrant and cluster them in Node with a
// brute-force cosine k-nearest-neighbour pass. Both run the same DBSCAN on the
// same neighbour count over the same 2,000 entries (768-d: a few tight groups
// among scattered ones) in the same run; only where the neighbours come from
// differs (Qdrant's distance-matrix API, next to the vectors, vs the client).
// The entries are upserted directly (entryToPoint, as the consumer writes
// them): the figure is the clustering, not the ingest.
//
//   npm run bench -- clusters
//
// QDRANT_URL (default http://127.0.0.1:6333); WITNESS_BENCH_SCALE multiplies the
// entry count (the library samples at most 5,000). Target: ≤ 2 s for 2,000.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { QdrantClient } from '@qdrant/js-client-rest';
import { pino } from 'pino';
import { ensureCollection, entryToPoint } from '@witnesslog/consumer';
import { QdrantRejectedError, createWitnessQuery } from '@witnesslog/consumer/query';
import { chooseThreshold, dbscan, neighbourGraph } from '../consumer/src/query/dbscan.js';
import { adjustedRandIndex } from '../test/support/cluster-fixture.js';
import { DIM, makeEntries } from './support/entries.js';
import { fmt, int, machine, measured, report, scaled } from './support/report.js';

const url = process.env.QDRANT_URL ?? 'http://127.0.0.1:6333';
const N = Math.min(5_000, scaled(2_000));
const REPEATS = 3;
const MIN_SIZE = 5;
const K = Math.max(2 * MIN_SIZE, 10); // the neighbours per entry clusters.ts asks the matrix for
const client = new QdrantClient({ url, checkCompatibility: false });
const collection = `bench_clusters_${randomUUID().slice(0, 8)}`;

function gaussianUnit(): number[] {
  const v = Array.from({ length: DIM }, () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random()));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** N entries: 60 % in 8 groups of uneven sizes around random centres, the rest scattered; the truth per id. */
function seed(): { points: ReturnType<typeof entryToPoint>[]; truth: Map<string, number> } {
  const entries = makeEntries(N);
  const truth = new Map<string, number>();
  const weights = [1, 2, 3, 4, 5, 6, 7, 8];
  const grouped = Math.round(N * 0.6);
  const sizes = weights.map((w) => Math.round((grouped * w) / 36));
  const centres = sizes.map(() => gaussianUnit());
  let i = 0;
  sizes.forEach((size, g) => {
    for (let k = 0; k < size && i < N; k++, i++) {
      const noise = gaussianUnit();
      const spread = 0.3 * Math.random();
      entries[i]!.query_embedding = centres[g]!.map((x, d) => x + spread * noise[d]!);
      truth.set(entries[i]!.request_id, g);
    }
  });
  for (; i < N; i++) truth.set(entries[i]!.request_id, -1); // makeEntries' random unit vectors
  return { points: entries.map((e) => entryToPoint({ ...e, error: { code: 'CUDA_OOM', message: 'x', stack_trace: null, recovery_attempted: false } })), truth };
}

/** The baseline: every vector out by scroll, then brute-force cosine top-K per entry, then the same DBSCAN. */
async function clientSide(): Promise<Map<string, number>> {
  const ids: string[] = [];
  const vectors: Float64Array[] = [];
  let offset: string | number | undefined;
  for (;;) {
    const page = await client.scroll(collection, { limit: 500, with_payload: false, with_vector: ['query'], ...(offset === undefined ? {} : { offset }) });
    for (const p of page.points) {
      const v = Float64Array.from((p.vector as Record<string, number[]>).query!);
      let n = 0;
      for (const x of v) n += x * x;
      n = Math.sqrt(n);
      for (let d = 0; d < v.length; d++) v[d]! /= n;
      ids.push(String(p.id));
      vectors.push(v);
    }
    const next = page.next_page_offset;
    if (next === null || next === undefined || typeof next === 'object') break;
    offset = next;
  }
  // The whole similarity matrix, each pair computed once (a fair baseline, not a naive one).
  const n = ids.length;
  const sim = new Float32Array(n * n);
  for (let a = 0; a < n; a++) {
    const va = vectors[a]!;
    for (let b = a + 1; b < n; b++) {
      const vb = vectors[b]!;
      let dot = 0;
      for (let d = 0; d < va.length; d++) dot += va[d]! * vb[d]!;
      sim[a * n + b] = sim[b * n + a] = dot;
    }
  }
  const rows: number[] = [];
  const cols: number[] = [];
  const scores: number[] = [];
  const order = Array.from({ length: n }, (_, i) => i);
  for (let a = 0; a < n; a++) {
    const row = sim.subarray(a * n, a * n + n);
    const best = order.filter((b) => b !== a).sort((x, y) => row[y]! - row[x]!).slice(0, K);
    for (const b of best) rows.push(a), cols.push(b), scores.push(row[b]!);
  }
  const graph = neighbourGraph(ids.length, rows, cols, scores);
  const labels = dbscan(graph, MIN_SIZE, chooseThreshold(graph, MIN_SIZE));
  return new Map(ids.map((id, i) => [id, labels[i]!]));
}

async function main(): Promise<void> {
  console.log(`bench/clusters: ${int(N)} entries of ${DIM} dims, Qdrant at ${url}; ${machine()}`);
  await ensureCollection(client, { collection, dim: DIM, logger: pino({ level: 'silent' }) });
  const { points, truth } = seed();
  for (let i = 0; i < points.length; i += 250) await client.upsert(collection, { points: points.slice(i, i + 250), wait: true });
  const log = createWitnessQuery({ url, collection, timeoutMs: 60_000 });
  const ari = (found: Map<string, number>) => {
    const ids = [...truth.keys()];
    return adjustedRandIndex(ids.map((id) => truth.get(id)!), ids.map((id) => found.get(id) ?? -1));
  };
  const ours: number[] = [];
  const theirs: number[] = [];
  let oursAri = 0;
  let theirsAri = 0;
  for (let r = 0; r < REPEATS; r++) {
    // The baseline blocks the event loop for seconds, long past Qdrant's keep-alive: the pooled
    // socket is closed by then, and the first POST on it fails (undici does not retry a POST).
    // One untimed request takes that stale socket, so the timed run starts on a fresh one.
    await client.collectionExists(collection).catch(() => {});
    let t = performance.now();
    const res = await log.clusters({ sample: N, minSize: MIN_SIZE, filter: { success: false } });
    ours.push((performance.now() - t) / 1000);
    const found = new Map<string, number>();
    res.clusters.forEach((c, i) => c.request_ids.forEach((id) => found.set(id, i)));
    oursAri = ari(found);
    t = performance.now();
    theirsAri = ari(await clientSide());
    theirs.push((performance.now() - t) / 1000);
    console.log(`  run ${r + 1}: library ${fmt(ours[r]!)} s (${res.clusters.length} clusters, ${res.unclustered} unclustered, ARI ${fmt(oursAri, 3)}), client-side ${fmt(theirs[r]!)} s (ARI ${fmt(theirsAri, 3)})`);
  }
  report({
    figure: `clusters of ${int(N)} sampled entries (${DIM}-d), end to end`,
    unit: 's',
    better: 'lower',
    ours: measured(ours),
    baseline: { label: 'scroll vectors out + brute-force cosine kNN in Node', ...measured(theirs) },
    target: { op: '<=', value: 2 },
    note: `same DBSCAN (k=${K}, min size ${MIN_SIZE}); ARI vs the seeded groups: ours ${fmt(oursAri, 3)}, baseline ${fmt(theirsAri, 3)}`,
  });
}

try {
  await main();
} catch (err) {
  if (!(err instanceof QdrantRejectedError && err.status === 404)) throw err;
  console.log(`bench/clusters: skipped, ${err.message}`);
} finally {
  await client.deleteCollection(collection).catch(() => {});
}
