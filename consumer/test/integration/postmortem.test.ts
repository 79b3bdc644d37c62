// The postmortem questions (clusters, routing, quality, latency) against logs
// written by the real pipeline (producer SDK -> Kafka -> consumer -> Qdrant),
// through the library and the `witness` command: every figure is checked
// against what the test computes itself from the entries it produced.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { QdrantRejectedError, QueryInputError, createWitnessQuery, type ClusterReport, type WitnessQuery } from '@witnesslog/consumer/query';
import type { WitnessEntry } from '@witnesslog/schemas';
import { runCli } from '../../src/cli/cli.js';
import { disconnectShared, qdrantUrl } from '../../../test/support/pipeline.js';
import { pipelineFixture, witnessLogFixture, type WitnessLogFixture } from '../../../test/support/query-fixture.js';
import { CLUSTER_DIM, GROUPS, adjustedRandIndex, clusterEntries, type SeededEntry } from '../../../test/support/cluster-fixture.js';

let log: WitnessLogFixture;
let grouped: WitnessLogFixture;
let seeded: SeededEntry[];
let q: WitnessQuery;
let entries: WitnessEntry[];

before(async () => {
  log = await witnessLogFixture('postmortem');
  entries = log.entries;
  q = createWitnessQuery({ url: qdrantUrl, collection: log.names.collection });
  seeded = clusterEntries();
  grouped = await pipelineFixture('clusters', seeded.map((s) => s.entry), CLUSTER_DIM);
});

after(async () => {
  await log?.cleanup();
  await grouped?.cleanup();
  await disconnectShared();
});

/** The p-quantile by linear interpolation between the closest ranks. */
function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const h = (s.length - 1) * p;
  return s[Math.floor(h)]! + (h - Math.floor(h)) * (s[Math.ceil(h)]! - s[Math.floor(h)]!);
}

const close = (actual: number | null, expected: number, what: string) => assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual}, expected ${expected}`);
const tally = (keys: string[]) => keys.reduce<Record<string, number>>((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let [stdout, stderr] = ['', ''];
  const code = await runCli(args, { QDRANT_URL: qdrantUrl, WITNESS_COLLECTION: log.names.collection }, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe('routing', () => {
  test('router against served, confidence quartiles and unsure decisions, as produced', async () => {
    const r = await q.routing();
    assert.equal(r.count, entries.length);
    assert.equal(r.sampled, false);
    const matrix: Record<string, Record<string, number>> = {};
    for (const e of entries) {
      const row = (matrix[e.routing_decision.model] ??= {});
      row[e.model_used] = (row[e.model_used] ?? 0) + 1;
    }
    assert.deepEqual(r.matrix, matrix);
    assert.ok(Object.entries(matrix).some(([chosen, row]) => Object.keys(row).some((served) => served !== chosen)), 'the fixture has fallbacks');
    for (const model of Object.keys(matrix)) {
      const values = entries.filter((e) => e.routing_decision.model === model).map((e) => e.routing_decision.confidence);
      const c = r.confidence[model]!;
      assert.equal(c.count, values.length);
      close(c.min, Math.min(...values), `${model} min`);
      close(c.q1, pct(values, 0.25), `${model} q1`);
      close(c.median, pct(values, 0.5), `${model} median`);
      close(c.q3, pct(values, 0.75), `${model} q3`);
      close(c.max, Math.max(...values), `${model} max`);
    }
    const unsure = entries.filter((e) => Math.max(...e.routing_decision.model_probs) < 0.5).length;
    assert.ok(unsure > 0 && unsure < entries.length);
    assert.deepEqual(r.unsure, { count: unsure, share: unsure / entries.length });
  });

  test('a filter narrows every part', async () => {
    const r = await q.routing({ filter: { success: false } });
    const failed = entries.filter((e) => e.error !== null);
    assert.equal(r.count, failed.length);
    assert.equal(Object.values(r.matrix).flatMap((row) => Object.values(row)).reduce((a, b) => a + b, 0), failed.length);
    assert.equal(r.unsure.count, failed.filter((e) => Math.max(...e.routing_decision.model_probs) < 0.5).length);
  });
});

describe('quality', () => {
  test('per hour and model: count, success rate, mean, p10 and p50 of the scored entries', async () => {
    const r = await q.quality({ every: 3_600_000 });
    assert.equal(r.count, entries.length);
    assert.equal(r.sampled, false);
    const groups = new Map<string, WitnessEntry[]>();
    for (const e of entries) {
      const key = `${new Date(Math.floor(Date.parse(e.timestamp) / 3_600_000) * 3_600_000).toISOString()} ${e.model_used}`;
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    assert.equal(r.buckets.length, groups.size);
    for (const b of r.buckets) {
      const members = groups.get(`${b.start} ${b.model}`);
      assert.ok(members, `bucket ${b.start} ${b.model} was produced`);
      assert.equal(b.count, members.length);
      close(b.successRate, members.filter((e) => e.error === null).length / members.length, 'success rate');
      const scores = members.map((e) => e.quality_score).filter((s) => s > 0);
      assert.equal(b.scored, scores.length);
      if (scores.length === 0) {
        assert.equal(b.mean, null);
        continue;
      }
      close(b.mean, scores.reduce((a, x) => a + x, 0) / scores.length, 'mean');
      close(b.p10, pct(scores, 0.1), 'p10');
      close(b.p50, pct(scores, 0.5), 'p50');
    }
    const starts = r.buckets.map((b) => b.start);
    assert.deepEqual(starts, [...starts].sort(), 'oldest bucket first');
  });

  test('past the cap it reads a sample and says so', async () => {
    const r = await q.quality({ maxEntries: 30 });
    assert.equal(r.sampled, true);
    assert.equal(r.count, entries.length);
    assert.equal(r.buckets.reduce((s, b) => s + b.count, 0), 30);
  });
});

describe('latency', () => {
  test('p50/p95/p99 per component and total, and the slowest-component facet', async () => {
    const r = await q.latency();
    assert.equal(r.count, entries.length);
    assert.equal(r.sampled, false);
    for (const name of ['embedding', 'retrieval', 'routing', 'attention', 'generation', 'total'] as const) {
      const values = entries.map((e) => e.latency[`${name}_ms`]);
      for (const [p, key] of [[0.5, 'p50'], [0.95, 'p95'], [0.99, 'p99']] as const) close(r.components[name][key], pct(values, p), `${name} ${key}`);
    }
    // Argmax over the five parts in pipeline order, ties to the earlier.
    const parts = ['embedding', 'retrieval', 'routing', 'attention', 'generation'] as const;
    const slowest = tally(entries.map((e) => parts.reduce((best, p) => (e.latency[`${p}_ms`] > e.latency[`${best}_ms`] ? p : best), parts[0] as (typeof parts)[number])));
    assert.deepEqual(r.slowest, slowest);
    assert.ok(Object.keys(slowest).length >= 3, 'the fixture makes several components the slowest');
  });

  test('sampled percentiles still come with the exact slowest counts', async () => {
    const full = await q.latency();
    const r = await q.latency({ maxEntries: 40, filter: {} });
    assert.equal(r.sampled, true);
    assert.equal(r.count, entries.length);
    assert.deepEqual(r.slowest, full.slowest);
  });
});

describe('input errors name the field and the value', () => {
  test('library', async () => {
    await assert.rejects(q.quality({ every: 10 }), (err: unknown) => err instanceof QueryInputError && /every 10/.test(err.message));
    await assert.rejects(q.latency({ maxEntries: 0 }), (err: unknown) => err instanceof QueryInputError && /maxEntries 0/.test(err.message));
    await assert.rejects(q.clusters({ sample: 9_000 }), (err: unknown) => err instanceof QueryInputError && /sample 9000/.test(err.message));
    await assert.rejects(q.clusters({ threshold: 2 }), (err: unknown) => err instanceof QueryInputError && /threshold 2/.test(err.message));
  });

  test('command line', async () => {
    for (const [args, flag] of [[['clusters', '--sample', '9000'], '--sample 9000'], [['quality', '--every', 'often'], '--every often'], [['latency', '--max-entries', '-1'], '--max-entries']] as const) {
      const run = await cli([...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.ok(run.stderr.includes(flag), run.stderr);
    }
    const run = await cli(['routing', '--sample', '5']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--sample is not an option of "witness routing"/);
  });
});

describe('the commands print what the library answers', () => {
  test('--json is the library answer, the table rounds it', async () => {
    const routing = await cli(['routing', '--json']);
    assert.equal(routing.code, 0, routing.stderr);
    assert.deepEqual(JSON.parse(routing.stdout), await q.routing());
    const quality = await cli(['quality', '--every', '1h', '--json']);
    assert.deepEqual(JSON.parse(quality.stdout), await q.quality({ every: 3_600_000 }));
    const latency = await cli(['latency', '--errors', '--json']);
    assert.deepEqual(JSON.parse(latency.stdout), await q.latency({ filter: { success: false } }));
    const table = await cli(['latency']);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^generation\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+$/m);
    assert.ok(!/\d\.\d{4,}/.test(table.stdout), `table figures are rounded:\n${table.stdout}`);
  });
});

describe('clusters', () => {
  let report: ClusterReport | undefined;
  let skip: string | false = false;

  before(async () => {
    const g = createWitnessQuery({ url: qdrantUrl, collection: grouped.names.collection });
    try {
      report = await g.clusters({ filter: { success: false } });
    } catch (err) {
      if (!(err instanceof QdrantRejectedError && err.status === 404)) throw err;
      skip = `this Qdrant engine has no distance-matrix API (${err.message})`;
    }
  });

  test('finds the seeded groups among scattered failures (adjusted Rand index >= 0.9)', (t) => {
    if (skip) return t.skip(skip);
    const r = report!;
    const failures = seeded.filter((s) => s.entry.error !== null);
    assert.equal(r.sampled, failures.length, 'every failure is in the sample (fewer than 1,000)');
    const label = new Map<string, number>();
    r.clusters.forEach((c, i) => c.request_ids.forEach((id) => label.set(id, i)));
    const ari = adjustedRandIndex(failures.map((s) => s.group), failures.map((s) => label.get(s.entry.request_id) ?? -1));
    t.diagnostic(`ARI ${ari.toFixed(4)}, ${r.clusters.length} clusters, ${r.unclustered} unclustered, threshold ${r.threshold.toFixed(3)}`);
    assert.ok(ari >= 0.9, `adjusted Rand index ${ari}`);
    assert.equal(r.unclustered, failures.length - label.size);
    assert.ok(r.unclustered >= 100, 'scattered failures stay unclustered, not forced into a group');
  });

  test('each cluster: largest first, its medoid and nearest members, codes, models, tags and time span', (t) => {
    if (skip) return t.skip(skip);
    const byId = new Map(seeded.map((s) => [s.entry.request_id, s.entry]));
    const sizes = report!.clusters.map((c) => c.size);
    assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a));
    assert.equal(report!.clusters.length, GROUPS.length);
    for (const c of report!.clusters) {
      const members = c.request_ids.map((id) => byId.get(id)!);
      assert.equal(c.size, members.length);
      assert.ok(c.request_ids.includes(c.representative));
      assert.equal(c.nearest.length, 3);
      assert.ok(c.nearest.every((id) => c.request_ids.includes(id) && id !== c.representative));
      assert.deepEqual(c.error_codes, tally(members.map((e) => e.error!.code)));
      assert.deepEqual(c.models, tally(members.map((e) => e.model_used)));
      assert.deepEqual(c.tags, tally(members.flatMap((e) => e.tags)));
      const times = members.map((e) => e.timestamp).sort((a, b) => Date.parse(a) - Date.parse(b));
      assert.equal(c.first, times[0]);
      assert.equal(c.last, times[times.length - 1]);
    }
  });

  test('an explicit threshold overrides the chosen one', async (t) => {
    if (skip) return t.skip(skip);
    const g = createWitnessQuery({ url: qdrantUrl, collection: grouped.names.collection });
    const strict = await g.clusters({ filter: { success: false }, threshold: 0.9999 });
    assert.equal(strict.threshold, 0.9999);
    assert.equal(strict.clusters.length, 0, 'no two seeded entries are that alike');
    assert.equal(strict.unclustered, strict.sampled);
  });

  test('witness clusters --json', async (t) => {
    if (skip) return t.skip(skip);
    let out = '';
    const code = await runCli(['clusters', '--errors', '--min-size', '5', '--json'], { QDRANT_URL: qdrantUrl, WITNESS_COLLECTION: grouped.names.collection }, { stdout: (x) => (out += x), stderr: () => {} });
    assert.equal(code, 0);
    const parsed = JSON.parse(out) as ClusterReport;
    assert.equal(parsed.sampled, report!.sampled);
    assert.deepEqual(parsed.clusters.map((c) => [...c.request_ids].sort()).sort(), report!.clusters.map((c) => [...c.request_ids].sort()).sort());
    for (const key of ['size', 'request_ids', 'representative', 'error_codes', 'models', 'first', 'last']) assert.ok(key in parsed.clusters[0]!, key);
  });
});
