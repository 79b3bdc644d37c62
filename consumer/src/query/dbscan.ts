// DBSCAN over a neighbour graph: the k nearest neighbours of each sampled
// entry, with their cosine similarities, as Qdrant's distance-matrix API gives
// them. Our own ~100 lines rather than a library: the npm ones (density-clustering,
// hdbscan-ts, @cdxoo/dbscan) take the raw vectors and a distance function and
// compute all n² distances themselves, which is exactly the work (and the
// vectors on the wire) the matrix API spares us; none takes a sparse graph.
//
// The similarity threshold (DBSCAN's eps, as 1 - eps) is chosen from the data
// unless given: each point's core distance is 1 - its similarity to its
// (minSize-1)-th nearest neighbour; points inside a tight group have small ones,
// scattered points large ones. Otsu's split of those values (the cut that
// maximises the between-class variance) separates the two. When the split shows
// no real contrast (the mean of the far side under twice the near side's, or the
// far side itself within 0.1 of its neighbours), the sample is all alike:
// near-duplicates (similarity >= 0.9) still group, so a sample that is one
// failure repeated forms its cluster and unrelated entries stay unclustered.
/** A symmetric neighbour graph over points 0..n-1; each list best first. */
export type NeighbourGraph = Array<Array<{ j: number; sim: number }>>;

/** Used when the core distances show no dense group apart from a sparse one. */
export const FALLBACK_THRESHOLD = 0.9;

/** The graph of matrix entries (row, col, score), made symmetric, each list sorted by similarity. */
export function neighbourGraph(n: number, rows: readonly number[], cols: readonly number[], scores: readonly number[]): NeighbourGraph {
  const seen: Array<Map<number, number>> = Array.from({ length: n }, () => new Map());
  for (let k = 0; k < rows.length; k++) {
    const [a, b, s] = [rows[k]!, cols[k]!, scores[k]!];
    if (a === b) continue;
    seen[a]!.set(b, s);
    seen[b]!.set(a, s);
  }
  return seen.map((m) => [...m].map(([j, sim]) => ({ j, sim })).sort((x, y) => y.sim - x.sim || x.j - y.j));
}

/** The default similarity threshold for `minSize` (see the top of this file). */
export function chooseThreshold(graph: NeighbourGraph, minSize: number): number {
  // A point with fewer known neighbours than minSize - 1 can never be a core point.
  const core = graph.filter((list) => list.length >= minSize - 1).map((list) => 1 - list[minSize - 2]!.sim);
  if (core.length < 2) return FALLBACK_THRESHOLD;
  core.sort((a, b) => a - b);
  const total = core.reduce((s, x) => s + x, 0);
  let best = -1;
  let split = 0;
  let below = 0;
  for (let i = 1; i < core.length; i++) {
    below += core[i - 1]!;
    const w0 = i / core.length;
    const m0 = below / i;
    const m1 = (total - below) / (core.length - i);
    const between = w0 * (1 - w0) * (m1 - m0) ** 2;
    if (between > best) [best, split] = [between, i];
  }
  const near = core.slice(0, split).reduce((s, x) => s + x, 0) / split;
  const far = (total - near * split) / (core.length - split);
  // No contrast, or a contrast inside one tight blob (even its far side is near-duplicates).
  if (far < 2 * near || far <= 1 - FALLBACK_THRESHOLD) return FALLBACK_THRESHOLD;
  // Halfway between the last dense point and the first sparse one, as a similarity.
  return 1 - (core[split - 1]! + core[split]!) / 2;
}

/**
 * Labels 0, 1, … per cluster, -1 for points in none. A core point has at least
 * minSize - 1 neighbours at `threshold` similarity or more; a cluster is the
 * core points reachable from one another plus the points they reach.
 */
export function dbscan(graph: NeighbourGraph, minSize: number, threshold: number): Int32Array {
  const close = graph.map((list) => list.filter((x) => x.sim >= threshold).map((x) => x.j));
  const isCore = close.map((list) => list.length + 1 >= minSize);
  const labels = new Int32Array(graph.length).fill(-1);
  let next = 0;
  for (let start = 0; start < graph.length; start++) {
    if (!isCore[start] || labels[start] !== -1) continue;
    const label = next++;
    labels[start] = label;
    const queue = [start];
    while (queue.length > 0) {
      const p = queue.pop()!;
      for (const q of close[p]!) {
        if (labels[q] !== -1) continue;
        labels[q] = label;
        if (isCore[q]) queue.push(q);
      }
    }
  }
  return labels;
}

/** The member with the highest summed similarity to the other members it neighbours (a medoid on the graph). */
export function medoid(graph: NeighbourGraph, members: readonly number[], labels: Int32Array): number {
  let best = members[0]!;
  let bestScore = -Infinity;
  for (const m of members) {
    const score = graph[m]!.reduce((s, x) => (labels[x.j] === labels[m] ? s + x.sim : s), 0);
    if (score > bestScore) [best, bestScore] = [m, score];
  }
  return best;
}
