// The query library against a log written by the real pipeline (producer SDK ->
// Kafka -> consumer -> local Qdrant): every answer is checked against what the
// test computes itself from the entries it produced.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  QdrantUnavailableError,
  QueryInputError,
  UnknownCollectionError,
  VectorDimensionError,
  createWitnessQuery,
  isUnreachable,
  type WitnessFilter,
  type WitnessQuery,
} from '@witnesslog/consumer/query';
import type { WitnessEntry } from '@witnesslog/schemas';
import { assertVectorClose, countPoints, disconnectShared, freePort, qdrantUrl } from '../../../test/support/pipeline.js';
import { DIM, OLD, cosine, fixtureTraceId, witnessLogFixture, type WitnessLogFixture } from '../../../test/support/query-fixture.js';

let log: WitnessLogFixture;
let q: WitnessQuery;
let entries: WitnessEntry[];

before(async () => {
  log = await witnessLogFixture('query');
  entries = log.entries;
  q = createWitnessQuery({ url: qdrantUrl, collection: log.names.collection });
});

after(async () => {
  await log?.cleanup();
  await disconnectShared();
});

function randomVector(): number[] {
  return Array.from({ length: DIM }, () => Math.random() * 2 - 1);
}

const ms = (e: WitnessEntry) => Date.parse(e.timestamp);
const ids = (list: ReadonlyArray<{ request_id: string }>) => list.map((e) => e.request_id).sort();

/** Every filter field, each with the predicate the test evaluates itself. */
function filterCases(): Array<{ name: string; filter: WitnessFilter; keep: (e: WitnessEntry) => boolean }> {
  const hourAgo = new Date(Date.now() - 3_600_000);
  const tenMinutesAgo = new Date(Date.now() - 600_000);
  return [
    { name: 'session', filter: { sessionId: 'session-2' }, keep: (e) => e.session_id === 'session-2' },
    { name: 'model', filter: { model: 'small' }, keep: (e) => e.model_used === 'small' },
    { name: 'models (any of)', filter: { model: ['tiny', 'large'] }, keep: (e) => e.model_used === 'tiny' || e.model_used === 'large' },
    { name: 'success', filter: { success: true }, keep: (e) => e.error === null },
    { name: 'failure', filter: { success: false }, keep: (e) => e.error !== null },
    { name: 'error code', filter: { errorCode: 'TIMEOUT' }, keep: (e) => e.error?.code === 'TIMEOUT' },
    { name: 'since', filter: { since: hourAgo }, keep: (e) => ms(e) >= hourAgo.getTime() },
    {
      name: 'since and until',
      filter: { since: hourAgo, until: tenMinutesAgo },
      keep: (e) => ms(e) >= hourAgo.getTime() && ms(e) < tenMinutesAgo.getTime(),
    },
    { name: 'tags any of', filter: { tagsAny: ['three', 'five'] }, keep: (e) => e.tags.includes('three') || e.tags.includes('five') },
    { name: 'tags all of', filter: { tagsAll: ['even', 'three'] }, keep: (e) => e.tags.includes('even') && e.tags.includes('three') },
    { name: 'min quality', filter: { minQuality: 0.7 }, keep: (e) => e.quality_score >= 0.7 },
    { name: 'max latency', filter: { maxLatencyMs: 300 }, keep: (e) => e.latency.total_ms <= 300 },
    { name: 'trace', filter: { traceId: fixtureTraceId(3) }, keep: (e) => e.trace?.trace_id === fixtureTraceId(3) },
    {
      name: 'combined',
      filter: { model: 'tiny', success: true, tagsAny: ['even'], since: hourAgo },
      keep: (e) => e.model_used === 'tiny' && e.error === null && e.tags.includes('even') && ms(e) >= hourAgo.getTime(),
    },
  ];
}

describe('searchSimilar', () => {
  test('the order is the brute-force cosine ranking over what was produced', async () => {
    const probe = randomVector();
    const hits = await q.searchSimilar(probe, { limit: entries.length });
    const expected = entries.map((e) => ({ id: e.request_id, score: cosine(probe, e.query_embedding) })).sort((a, b) => b.score - a.score);
    assert.equal(hits.length, entries.length);
    for (let i = 0; i < hits.length; i++) {
      assert.ok(Math.abs(hits[i]!.score - expected[i]!.score) < 1e-4, `rank ${i}: score ${hits[i]!.score}, expected ${expected[i]!.score}`);
      // float32 may swap two entries whose scores agree to 1e-5; anything else is a wrong order.
      if (hits[i]!.entry.request_id !== expected[i]!.id) {
        assert.ok(Math.abs(expected[i]!.score - (expected[i + 1]?.score ?? -2)) < 1e-5 || Math.abs(expected[i]!.score - (expected[i - 1]?.score ?? -2)) < 1e-5, `rank ${i}`);
      }
    }
  });

  test('using the response vector, with a filter, ranks only the matching entries that have one', async () => {
    const probe = randomVector();
    const filter: WitnessFilter = { success: true };
    const hits = await q.searchSimilar(probe, { limit: 10, using: 'response', filter });
    const expected = entries
      .filter((e) => e.error === null && e.response_embedding.length > 0)
      .map((e) => ({ id: e.request_id, score: cosine(probe, e.response_embedding) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 10);
    assert.deepEqual(hits.map((h) => h.entry.request_id), expected.map((e) => e.id));
  });

  test('the stored vectors come back when asked for, never the search vector', async () => {
    const probe = randomVector();
    const [hit] = await q.searchSimilar(probe, { limit: 1, withVectors: true });
    const produced = entries.find((e) => e.request_id === hit!.entry.request_id)!;
    assertVectorClose(hit!.entry.query_embedding!, produced.query_embedding, 'query_embedding');
    assertVectorClose(hit!.entry.response_embedding!, produced.response_embedding, 'response_embedding');
    const [bare] = await q.searchSimilar(probe, { limit: 1 });
    assert.equal(bare!.entry.query_embedding, undefined);
    assert.equal(bare!.entry.session_id, produced.session_id);
  });

  test('every filter narrows the search to exactly the matching entries', async () => {
    for (const { name, filter, keep } of filterCases()) {
      const hits = await q.searchSimilar(randomVector(), { limit: entries.length, filter });
      assert.deepEqual(hits.map((h) => h.entry.request_id).sort(), ids(entries.filter(keep)), name);
    }
  });

  test('exclude leaves the given entries out', async () => {
    const hits = await q.searchSimilar(entries[5]!.query_embedding, { limit: 3, exclude: [entries[5]!.request_id] });
    assert.equal(hits.length, 3);
    assert.ok(hits.every((h) => h.entry.request_id !== entries[5]!.request_id));
  });
});

describe('get, list and count', () => {
  test('get returns the entry as produced, or null', async () => {
    const produced = entries[7]!;
    const entry = await q.get(produced.request_id);
    assert.ok(entry);
    const { query_embedding, response_embedding, ...fields } = entry;
    const { query_embedding: pq, response_embedding: pr, ...producedFields } = produced;
    // The SDK set producer: the fixture's one instance accepted the entries in order, so seq is the index.
    assert.deepEqual(fields, { ...producedFields, producer: { ...fields.producer!, seq: 7 } });
    assert.match(fields.producer!.id, /^[0-9a-f]{8}-/);
    assertVectorClose(query_embedding!, pq, 'query_embedding');
    assertVectorClose(response_embedding!, pr, 'response_embedding');
    assert.equal(await q.get('00000000-0000-4000-8000-000000000000'), null);
    await assert.rejects(q.get('not-a-uuid'), (err: unknown) => err instanceof QueryInputError && /request id "not-a-uuid"/.test(err.message));
  });

  test('every filter: count and list agree with the test-side count', async () => {
    for (const { name, filter, keep } of filterCases()) {
      const want = entries.filter(keep);
      assert.equal(await q.count({ filter }), want.length, name);
      const page = await q.list({ filter, limit: 1000 });
      assert.deepEqual(ids(page.entries), ids(want), name);
      assert.equal(page.nextCursor, null);
    }
  });

  test('list pages newest (or oldest) first, across entries sharing a timestamp, without gaps or repeats', async () => {
    for (const order of ['newest', 'oldest'] as const) {
      const seen: string[] = [];
      const stamps: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await q.list({ limit: 7, order, cursor });
        seen.push(...page.entries.map((e) => e.request_id));
        stamps.push(...page.entries.map((e) => Date.parse(e.timestamp)));
        cursor = page.nextCursor;
        pages += 1;
        assert.ok(pages < 100, 'paging does not end');
      } while (cursor !== null);
      assert.equal(seen.length, entries.length, order);
      assert.deepEqual([...seen].sort(), ids(entries), order);
      for (let i = 1; i < stamps.length; i++) {
        assert.ok(order === 'newest' ? stamps[i]! <= stamps[i - 1]! : stamps[i]! >= stamps[i - 1]!, `not ${order} first at ${i}`);
      }
    }
    await assert.rejects(q.list({ cursor: 'garbage' }), QueryInputError);
  });
});

describe('stats', () => {
  function expectedStats(list: WitnessEntry[]) {
    const byModel: Record<string, number> = {};
    const byErrorCode: Record<string, number> = {};
    for (const e of list) {
      byModel[e.model_used] = (byModel[e.model_used] ?? 0) + 1;
      if (e.error) byErrorCode[e.error.code] = (byErrorCode[e.error.code] ?? 0) + 1;
    }
    const success = list.filter((e) => e.error === null).length;
    return { total: list.length, success, error: list.length - success, successRate: list.length === 0 ? null : success / list.length, byModel, byErrorCode };
  }

  test('equal the counts computed from what was produced, for the whole log and under filters', async () => {
    assert.deepEqual(await q.stats(), expectedStats(entries));
    for (const { name, filter, keep } of filterCases()) {
      assert.deepEqual(await q.stats({ filter }), expectedStats(entries.filter(keep)), name);
    }
  });
});

describe('errors', () => {
  test('an unknown collection, a wrong dimension, an unreachable Qdrant and bad input are told apart', async () => {
    const missing = createWitnessQuery({ url: qdrantUrl, collection: 'no_such_collection_here' });
    await assert.rejects(missing.stats(), UnknownCollectionError);
    await assert.rejects(missing.searchSimilar(randomVector()), UnknownCollectionError);
    await assert.rejects(missing.get(entries[0]!.request_id), UnknownCollectionError);
    await assert.rejects(q.searchSimilar([1, 2, 3]), (err: unknown) => err instanceof VectorDimensionError && err.expected === DIM && err.actual === 3);
    const port = await freePort();
    const down = createWitnessQuery({ url: `http://127.0.0.1:${port}`, collection: log.names.collection, timeoutMs: 2_000 });
    await assert.rejects(down.stats(), (err: unknown) => err instanceof QdrantUnavailableError && isUnreachable(err) && /unreachable/.test(err.message));
    await assert.rejects(q.list({ limit: 0 }), /limit 0: expected an integer/);
    await assert.rejects(q.count({ filter: { since: 'yesterday' } }), /since "yesterday": expected a date/);
  });
});

describe('prune', () => {
  test('removes exactly the entries older than the cut-off and says how many', async () => {
    const cutoff = new Date(Date.now() - 86_400_000);
    const old = entries.filter((e) => ms(e) < cutoff.getTime());
    assert.equal(old.length, OLD);
    assert.equal(await q.prune(cutoff), OLD);
    assert.equal(await countPoints(log.names.collection), entries.length - OLD);
    const left = await q.list({ limit: 1000 });
    assert.deepEqual(ids(left.entries), ids(entries.filter((e) => ms(e) >= cutoff.getTime())));
    assert.equal(await q.prune(cutoff), 0);
  });
});
