// The Qdrant console recipes of consumer/README.md, run as written (placeholders
// filled in) against the local Qdrant server over plain HTTP, each answer
// checked against what the test produced. A recipe without a check here fails
// the test, so the documentation cannot drift from what Qdrant answers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { WitnessEntry } from '@witnesslog/schemas';
import { disconnectShared, qdrantUrl } from '../../../test/support/pipeline.js';
import { OLD, cosine, fixtureTraceId, witnessLogFixture, type WitnessLogFixture } from '../../../test/support/query-fixture.js';

const README = new URL('../../README.md', import.meta.url);

interface Recipe {
  /** The prose just above the block: what the recipe is for. */
  title: string;
  method: string;
  path: string;
  body: string;
}

/** Every ```http block of the README: `METHOD path` then a JSON body. */
function recipes(): Recipe[] {
  const text = readFileSync(README, 'utf8');
  const out: Recipe[] = [];
  const block = /```http\n(\w+) (\S+)\n([\s\S]*?)```/g;
  let previousEnd = 0;
  for (let m = block.exec(text); m !== null; m = block.exec(text)) {
    const before = text.slice(previousEnd, m.index).trim().split('\n\n').pop() ?? '';
    out.push({ title: before.replace(/\s+/g, ' '), method: m[1]!, path: m[2]!, body: m[3]! });
    previousEnd = m.index + m[0].length;
  }
  return out;
}

interface Point {
  id: string;
  score?: number;
  payload: Record<string, unknown>;
}

let log: WitnessLogFixture;
let entries: WitnessEntry[];

before(async () => {
  log = await witnessLogFixture('recipes');
  entries = log.entries;
});

after(async () => {
  await log?.cleanup();
  await disconnectShared();
});

const counts = (list: WitnessEntry[], key: (e: WitnessEntry) => string) => {
  const out: Record<string, number> = {};
  for (const e of list) out[key(e)] = (out[key(e)] ?? 0) + 1;
  return out;
};
const facetCounts = (result: { hits: Array<{ value: string; count: number }> }) => Object.fromEntries(result.hits.map((h) => [h.value, h.count]));

test('every console recipe in the README runs against Qdrant and answers what the log holds', async () => {
  const since = new Date(Date.now() - 3_600_000);
  const cutoff = new Date(Date.now() - 86_400_000);
  const recent = entries.filter((e) => Date.parse(e.timestamp) >= since.getTime());
  const origin = entries.find((e, i) => i >= OLD && e.error !== null)!;
  const placeholders: Record<string, string> = {
    '<request-id>': origin.request_id,
    '<session-id>': 'session-2',
    '<since>': since.toISOString(),
    '<cutoff>': cutoff.toISOString(),
    '<model>': 'small',
    '<trace-id>': fixtureTraceId(5),
  };

  // Title pattern -> check of the parsed `result`.
  const checks: Array<{ about: RegExp; check: (result: unknown) => void }> = [
    {
      about: /similar to a given one/,
      check: (result) => {
        const points = (result as { points: Point[] }).points;
        const expected = entries
          .filter((e) => e.error !== null && e !== origin)
          .map((e) => ({ id: e.request_id, score: cosine(origin.query_embedding, e.query_embedding) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, 10);
        assert.deepEqual(points.map((p) => p.id), expected.map((e) => e.id));
        assert.ok(points.every((p) => p.payload.error !== null));
      },
    },
    {
      about: /session's timeline/,
      check: (result) => {
        const points = (result as { points: Point[] }).points;
        const session = entries.filter((e) => e.session_id === 'session-2');
        assert.deepEqual(points.map((p) => p.id).sort(), session.map((e) => e.request_id).sort());
        const stamps = points.map((p) => Date.parse(p.payload.timestamp as string));
        for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! >= stamps[i - 1]!, 'oldest first');
        assert.ok(points.every((p) => typeof p.payload.routing_decision === 'object'));
      },
    },
    {
      about: /Error counts per model/,
      check: (result) => assert.deepEqual(facetCounts(result as never), counts(recent.filter((e) => e.error !== null), (e) => e.model_used)),
    },
    {
      about: /Requests per model/,
      check: (result) => assert.deepEqual(facetCounts(result as never), counts(recent, (e) => e.model_used)),
    },
    {
      about: /per error code/,
      check: (result) => assert.deepEqual(facetCounts(result as never), counts(recent.filter((e) => e.error !== null), (e) => e.error!.code)),
    },
    {
      about: /slowest requests/,
      check: (result) => {
        const points = (result as { points: Point[] }).points;
        const expected = [...recent].sort((a, b) => b.latency.total_ms - a.latency.total_ms).slice(0, 10);
        assert.deepEqual(points.map((p) => p.id), expected.map((e) => e.request_id));
      },
    },
    {
      about: /latency component was the slowest/,
      check: (result) => {
        const parts = ['embedding', 'retrieval', 'routing', 'attention', 'generation'] as const;
        const slowest = (e: WitnessEntry) => parts.reduce((best, p) => (e.latency[`${p}_ms`] > e.latency[`${best}_ms`] ? p : best), parts[0] as (typeof parts)[number]);
        assert.deepEqual(facetCounts(result as never), counts(recent, slowest));
      },
    },
    {
      about: /router sent to one model/,
      check: (result) =>
        assert.deepEqual(facetCounts(result as never), counts(entries.filter((e) => e.routing_decision.model === 'small'), (e) => e.model_used)),
    },
    {
      about: /top routing probability was below 0.5/,
      check: (result) =>
        assert.equal((result as { count: number }).count, recent.filter((e) => Math.max(...e.routing_decision.model_probs) < 0.5).length),
    },
    {
      about: /entries of one distributed trace/,
      check: (result) => {
        const points = (result as { points: Point[] }).points;
        const trace = entries.filter((e) => e.trace?.trace_id === fixtureTraceId(5));
        assert.ok(trace.length >= 5);
        assert.deepEqual(points.map((p) => p.id).sort(), trace.map((e) => e.request_id).sort());
        const stamps = points.map((p) => Date.parse(p.payload.timestamp as string));
        for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! >= stamps[i - 1]!, 'oldest first');
        // Every entry of the trace was written by the one SDK instance of the fixture, numbered by it.
        assert.equal(new Set(points.map((p) => (p.payload.producer as { id: string }).id)).size, 1);
        assert.ok(points.every((p) => Number.isInteger((p.payload.producer as { seq: number }).seq)));
      },
    },
    {
      about: /older than a cut-off/,
      check: (result) => assert.equal((result as { count: number }).count, OLD),
    },
  ];

  const found = recipes();
  assert.equal(found.length, checks.length, `the README has ${found.length} recipes, this test checks ${checks.length}`);
  for (const recipe of found) {
    const matching = checks.filter((c) => c.about.test(recipe.title));
    assert.equal(matching.length, 1, `recipe "${recipe.title}" must match exactly one check`);
    let body = recipe.body;
    for (const [placeholder, value] of Object.entries(placeholders)) body = body.split(placeholder).join(value);
    assert.doesNotMatch(body, /<[a-z-]+>/, `unfilled placeholder in "${recipe.title}"`);
    assert.match(recipe.path, /^collections\/witness_log\//);
    const path = recipe.path.replace(/^collections\/witness_log\//, `collections/${log.names.collection}/`);
    const res = await fetch(`${qdrantUrl}/${path}`, { method: recipe.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(JSON.parse(body)) });
    const answer = (await res.json()) as { result: unknown; status: unknown };
    assert.equal(res.status, 200, `${recipe.title}: ${JSON.stringify(answer.status)}`);
    matching[0]!.check(answer.result);
  }
});
