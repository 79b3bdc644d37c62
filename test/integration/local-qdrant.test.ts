// The local Qdrant-compatible server (local/qdrant/server.py) through the client
// the consumer uses, @qdrant/js-client-rest: the calls witnesslog makes and the
// error answers of the real server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import { loadToolchain, qdrantService, stackConfig, type Service } from '../../local/services.js';
import { qdrantUrl, uniqueName } from '../support/env.js';

const client = new QdrantClient({ url: qdrantUrl, checkCompatibility: false });

/** The HTTP status of a failed call (the client throws ApiError with .status). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (err) {
    return (err as { status: number }).status;
  }
  assert.fail('the call was expected to fail');
}

describe('collections and points', () => {
  const name = uniqueName('local_qdrant');
  const ids = Array.from({ length: 6 }, () => randomUUID());
  const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}T12:00:00.123456Z`;

  before(async () => {
    await client.createCollection(name, {
      vectors: { query: { size: 4, distance: 'Cosine' }, response: { size: 4, distance: 'Cosine' } },
    });
    for (const [field, schema] of [
      ['session_id', 'keyword'],
      ['is_success', 'bool'],
      ['timestamp', 'datetime'],
      ['quality_score', 'float'],
    ] as const) {
      await client.createPayloadIndex(name, { field_name: field, field_schema: schema, wait: true });
    }
    await client.upsert(name, {
      wait: true,
      points: ids.map((id, i) => ({
        id,
        // Points 0..2 have no response vector: entries without one simply omit it.
        vector: i < 3 ? { query: [1, i, 0, 0] } : { query: [0, 1, i, 0], response: [0, 0, 1, i] },
        payload: {
          session_id: i % 2 === 0 ? 'even' : 'odd',
          is_success: i !== 4,
          timestamp: day(10 + i),
          quality_score: i / 10,
          latency: { total_ms: 100 * i },
        },
      })),
    });
  });

  after(async () => {
    await client.deleteCollection(name);
  });

  test('collection info reports the vectors, the point count and the payload indexes', async () => {
    const info = await client.getCollection(name);
    assert.equal(info.points_count, 6);
    const vectors = info.config.params.vectors as Record<string, { size: number; distance: string }>;
    assert.deepEqual(vectors.query, { size: 4, distance: 'Cosine' });
    assert.equal(info.payload_schema.session_id?.data_type, 'keyword');
    assert.equal(info.payload_schema.is_success?.data_type, 'bool');
    assert.equal(info.payload_schema.timestamp?.data_type, 'datetime');
    assert.equal(info.payload_schema.quality_score?.data_type, 'float');
    assert.equal(info.payload_schema.session_id?.points, 6);
    assert.equal((await client.collectionExists(name)).exists, true);
  });

  test('filtered query on a named vector returns the nearest point with payload and stored vector', async () => {
    const res = await client.query(name, {
      query: [1, 0.1, 0, 0],
      using: 'query',
      filter: { must: [{ key: 'session_id', match: { value: 'odd' } }] },
      with_payload: true,
      with_vector: true,
      limit: 2,
    });
    assert.deepEqual(
      res.points.map((p) => p.id),
      [ids[1], ids[3]],
    );
    assert.equal(res.points[0]!.payload!.session_id, 'odd');
    // Cosine vectors are stored normalized, in float32.
    const stored = (res.points[0]!.vector as Record<string, number[]>).query!;
    [Math.SQRT1_2, Math.SQRT1_2, 0, 0].forEach((x, i) => assert.ok(Math.abs(stored[i]! - x) < 1e-6, `query[${i}] = ${stored[i]}`));
    assert.ok(res.points[0]!.score > res.points[1]!.score);
  });

  test('query on the response vector only sees points that have one', async () => {
    const res = await client.query(name, { query: [0, 0, 1, 3], using: 'response', limit: 10 });
    assert.deepEqual(new Set(res.points.map((p) => p.id)), new Set(ids.slice(3)));
    assert.equal(res.points[0]!.id, ids[3]);
  });

  test('datetime range, bool and float filters', async () => {
    const { count } = await client.count(name, {
      filter: {
        must: [
          { key: 'timestamp', range: { gte: day(12), lt: day(15) } },
          { key: 'is_success', match: { value: true } },
          { key: 'quality_score', range: { gte: 0.2 } },
        ],
      },
    });
    assert.equal(count, 2); // points 2 and 3 (4 failed)
  });

  // qdrant-edge-py 0.9.0 reads a JSON false/true in MatchValue as the integer 0/1, which matches no bool:
  // the embedded engine works around it (local/qdrant/edge_store.py); both engines must count alike.
  test('bool match: true, false, and must_not of each', async () => {
    const count = async (filter: object) => (await client.count(name, { filter, exact: true })).count;
    assert.equal(await count({ must: [{ key: 'is_success', match: { value: true } }] }), 5);
    assert.equal(await count({ must: [{ key: 'is_success', match: { value: false } }] }), 1);
    assert.equal(await count({ must_not: [{ key: 'is_success', match: { value: true } }] }), 1);
    assert.equal(await count({ must_not: [{ key: 'is_success', match: { value: false } }] }), 5);
  });

  test('an upsert refused for one bad vector leaves nothing behind', async () => {
    const good = randomUUID();
    const status = await statusOf(
      client.upsert(name, { wait: true, points: [{ id: good, vector: { query: [1, 1, 1, 1] } }, { id: randomUUID(), vector: { query: [1, 2] } }] }),
    );
    assert.equal(status, 400);
    assert.deepEqual(await client.retrieve(name, { ids: [good] }), []);
  });

  test('scroll pages through a filter, and orders by timestamp', async () => {
    const page1 = await client.scroll(name, { filter: { must: [{ key: 'session_id', match: { value: 'even' } }] }, limit: 2 });
    assert.equal(page1.points.length, 2);
    assert.ok(page1.next_page_offset !== null && page1.next_page_offset !== undefined);
    const page2 = await client.scroll(name, {
      filter: { must: [{ key: 'session_id', match: { value: 'even' } }] },
      limit: 2,
      offset: page1.next_page_offset,
    });
    assert.equal(page2.points.length, 1);
    const all = [...page1.points, ...page2.points].map((p) => p.id);
    assert.deepEqual(new Set(all), new Set([ids[0], ids[2], ids[4]]));

    const newest = await client.scroll(name, { order_by: { key: 'timestamp', direction: 'desc' }, limit: 3 });
    assert.deepEqual(
      newest.points.map((p) => p.id),
      [ids[5], ids[4], ids[3]],
    );
  });

  test('facet counts an indexed keyword field', async () => {
    const res = await client.facet(name, { key: 'session_id', exact: true });
    assert.deepEqual(
      res.hits.map((h) => [h.value, h.count]).sort(),
      [
        ['even', 3],
        ['odd', 3],
      ],
    );
  });

  test('retrieve by ids returns payload and vectors as stored', async () => {
    const points = await client.retrieve(name, { ids: [ids[4]!], with_payload: true, with_vector: true });
    assert.equal(points.length, 1);
    assert.deepEqual(points[0]!.payload, {
      session_id: 'even',
      is_success: false,
      timestamp: day(14),
      quality_score: 0.4,
      latency: { total_ms: 400 },
    });
    assert.deepEqual(Object.keys(points[0]!.vector as object).sort(), ['query', 'response']);
  });

  test('error answers match the real server', async () => {
    assert.equal(await statusOf(client.getCollection(uniqueName('missing'))), 404);
    assert.equal(await statusOf(client.count(uniqueName('missing'), {})), 404);
    assert.equal(await statusOf(client.createCollection(name, { vectors: { query: { size: 4, distance: 'Cosine' } } })), 409);
    assert.equal(
      await statusOf(client.upsert(name, { wait: true, points: [{ id: randomUUID(), vector: { query: [1, 2, 3] } }] })),
      400,
      'wrong dimension',
    );
    assert.equal(await statusOf(client.query(name, { query: [1, 2], using: 'query' })), 400, 'wrong query dimension');
    assert.equal(await statusOf(client.upsert(name, { wait: true, points: [{ id: randomUUID(), vector: { nope: [1, 2, 3, 4] } }] })), 400);
    assert.equal(await statusOf(client.facet(name, { key: 'latency.total_ms' })), 400, 'facet on an unindexed key');
    assert.equal(await statusOf(client.upsert(name, { wait: true, points: [{ id: 'not-a-uuid', vector: { query: [1, 2, 3, 4] } }] })), 400);
    // A body the OpenAPI model rejects (limit must be an integer) is a 400 naming the field
    // (the embedded engine) or the value (the real server).
    const res = await fetch(`${qdrantUrl}/collections/${name}/points/scroll`, { method: 'POST', body: JSON.stringify({ limit: 'ten' }) });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { status: { error: string } }).status.error, /limit|"ten"/);
    // Vectors are checked apart from the models (numpy): a null or a word in one is still a 400 naming it.
    for (const bad of [[1, null, 3, 4], [1, 'x', 3, 4], [1, [2], 3, 4]]) {
      const put = await fetch(`${qdrantUrl}/collections/${name}/points?wait=true`, {
        method: 'PUT',
        body: JSON.stringify({ points: [{ id: randomUUID(), vector: { query: bad } }] }),
      });
      assert.equal(put.status, 400, `vector ${JSON.stringify(bad)}`);
      assert.match(((await put.json()) as { status: { error: string } }).status.error, /points\.0\.vector|VectorStruct/);
    }
  });

  test('delete by ids and by filter', async () => {
    await client.delete(name, { wait: true, points: [ids[0]!] });
    assert.equal((await client.count(name, {})).count, 5);
    await client.delete(name, { wait: true, filter: { must: [{ key: 'session_id', match: { value: 'odd' } }] } });
    assert.equal((await client.count(name, {})).count, 2);
  });
});

describe('a second server with an API key and a data folder of its own', () => {
  let server: Service;
  let url: string;
  const apiKey = `key-${randomUUID()}`;

  before(async () => {
    const port = 16500 + Math.floor(Math.random() * 400);
    const cfg = stackConfig({ ...process.env, QDRANT_PORT: String(port), WITNESSLOG_RUN_DIR: mkdtempSync(join(tmpdir(), 'qdrant-key-')) });
    server = qdrantService(cfg, loadToolchain(), { QDRANT_API_KEY: apiKey });
    url = server.address;
    await server.start();
  });

  after(async () => {
    await server.stop();
  });

  test('requires the api-key header: 401 without it or with a wrong one', async () => {
    assert.equal(await statusOf(new QdrantClient({ url, checkCompatibility: false }).getCollections()), 401);
    assert.equal(await statusOf(new QdrantClient({ url, apiKey: 'wrong', checkCompatibility: false }).getCollections()), 401);
    const ok = new QdrantClient({ url, apiKey, checkCompatibility: false });
    assert.deepEqual((await ok.getCollections()).collections, []);
  });

  test('data persists across a restart', async () => {
    const c = new QdrantClient({ url, apiKey, checkCompatibility: false });
    await c.createCollection('persisted', { vectors: { query: { size: 2, distance: 'Cosine' } } });
    await c.createPayloadIndex('persisted', { field_name: 'tag', field_schema: 'keyword', wait: true });
    await c.upsert('persisted', { wait: true, points: [{ id: 7, vector: { query: [1, 0] }, payload: { tag: 'kept' } }] });
    await server.stop();
    await server.start();
    const points = await c.retrieve('persisted', { ids: [7], with_payload: true });
    assert.deepEqual(points[0]!.payload, { tag: 'kept' });
    assert.equal((await c.getCollection('persisted')).payload_schema.tag?.data_type, 'keyword');
  });
});
