// The clustering behind `witness clusters` (dbscan.ts) and the quantile of the
// other postmortem questions, on neighbour graphs computed here by brute force
// from vectors with known groups: no Qdrant involved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FALLBACK_THRESHOLD, chooseThreshold, dbscan, medoid, neighbourGraph } from '../../src/query/dbscan.js';
import { quantile } from '../../src/query/read.js';
import { adjustedRandIndex } from '../../../test/support/cluster-fixture.js';

const DIM = 32;
const K = 10;

function unit(): number[] {
  const v = Array.from({ length: DIM }, () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random()));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** `sizes` groups (around random centres, noise up to `spread`) then `scattered` random vectors; the truth labels. */
function points(sizes: number[], spread: number, scattered: number): { vectors: number[][]; truth: number[] } {
  const vectors: number[][] = [];
  const truth: number[] = [];
  sizes.forEach((size, g) => {
    const centre = unit();
    for (let k = 0; k < size; k++) {
      const noise = unit();
      const r = spread * Math.random();
      vectors.push(centre.map((x, d) => x + r * noise[d]!));
      truth.push(g);
    }
  });
  for (let k = 0; k < scattered; k++) vectors.push(unit()), truth.push(-1);
  return { vectors, truth };
}

/** What the matrix API answers: each point's K most similar others (cosine). */
function knnGraph(vectors: number[][]) {
  const norm = vectors.map((v) => Math.hypot(...v));
  const [rows, cols, scores]: number[][] = [[], [], []];
  vectors.forEach((a, i) => {
    const sims = vectors.map((b, j) => ({ j, s: j === i ? -Infinity : a.reduce((sum, x, d) => sum + x * b[d]!, 0) / (norm[i]! * norm[j]!) }));
    for (const { j, s } of sims.sort((x, y) => y.s - x.s).slice(0, K)) rows!.push(i), cols!.push(j), scores!.push(s);
  });
  return neighbourGraph(vectors.length, rows!, cols!, scores!);
}

test('tight groups among scattered points: found, the scattered ones left out (ARI >= 0.9)', () => {
  const { vectors, truth } = points([8, 15, 25], 0.3, 80);
  const graph = knnGraph(vectors);
  const threshold = chooseThreshold(graph, 5);
  assert.ok(threshold < FALLBACK_THRESHOLD && threshold > 0.4, `a threshold between the two densities: ${threshold}`);
  const labels = dbscan(graph, 5, threshold);
  const ari = adjustedRandIndex(truth, [...labels]);
  assert.ok(ari >= 0.9, `ARI ${ari}`);
  assert.equal(new Set([...labels].filter((l) => l >= 0)).size, 3);
});

test('one tight group and nothing else: no contrast, the near-duplicate threshold makes it one cluster', () => {
  const { vectors } = points([40], 0.2, 0);
  const graph = knnGraph(vectors);
  assert.equal(chooseThreshold(graph, 5), FALLBACK_THRESHOLD);
  assert.deepEqual(new Set(dbscan(graph, 5, FALLBACK_THRESHOLD)), new Set([0]));
});

test('only scattered points: no cluster is made up', () => {
  const { vectors } = points([], 0, 120);
  const graph = knnGraph(vectors);
  const labels = dbscan(graph, 5, chooseThreshold(graph, 5));
  assert.ok(labels.every((l) => l === -1), `labels ${[...labels].filter((l) => l >= 0).length} clustered`);
});

test('a group smaller than minSize is not a cluster; the medoid is the best-connected member', () => {
  const { vectors } = points([4], 0.1, 30);
  const graph = knnGraph(vectors);
  assert.ok(dbscan(graph, 5, 0.9).every((l) => l === -1));
  // A star: 0 is close to every other point, they are farther from each other.
  const star = neighbourGraph(4, [0, 0, 0, 1, 2], [1, 2, 3, 2, 3], [0.95, 0.95, 0.95, 0.5, 0.5]);
  assert.equal(medoid(star, [0, 1, 2, 3], new Int32Array(4)), 0);
});

test('quantile interpolates between the closest ranks', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([1, 2, 3, 4], 0), 1);
  assert.equal(quantile([1, 2, 3, 4], 1), 4);
  assert.ok(Math.abs(quantile([10, 20, 30, 40, 50], 0.1)! - 14) < 1e-12);
  assert.equal(quantile([7], 0.99), 7);
  assert.equal(quantile([], 0.5), null);
});
