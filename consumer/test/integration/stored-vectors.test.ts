// Issue 27 builds content hashes on this: the vectors the consumer writes are
// the ones Qdrant gives back, bit for bit (storedVectors), on the engine the
// stack runs (the real server or the embedded one), through the sink the
// consumer writes with, on REST and (where the real server runs) gRPC.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createRetry } from '@witnesslog/core';
import { createMetrics, entryToPoint, storedVectors, type WitnessPoint } from '@witnesslog/consumer';
import { createQdrantSink } from '../../src/ingest/qdrant-sink.js';
import { createQdrantWriter, type WriteProtocol } from '../../src/store/qdrant.js';
import { loadConfig } from '../../src/config.js';
import { ensureCollection } from '../../src/store/collection.js';
import { dropCollection, qdrantUrl, testEntry, testLogger, uniqueName } from '../../../test/support/pipeline.js';

const DIM = 768;

// Vectors chosen to stress the rounding: random at several magnitudes, one-hot,
// all equal, tiny and huge components, alternating signs, one component dominating.
function hardVectors(): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < 40; i++) out.push(Array.from({ length: DIM }, () => (Math.random() * 2 - 1) * 10 ** ((i % 9) - 4)));
  out.push(Array.from({ length: DIM }, (_, k) => (k === 3 ? 1 : 0)));
  out.push(Array.from({ length: DIM }, () => 0.1));
  out.push(Array.from({ length: DIM }, (_, k) => (k % 2 ? -1 : 1) * 3.3e-30));
  out.push(Array.from({ length: DIM }, (_, k) => (k % 2 ? -1 : 1) * 1e30));
  out.push(Array.from({ length: DIM }, (_, k) => (k === 0 ? 1000 : Math.random() * 1e-3)));
  out.push(Array.from({ length: DIM }, (_, k) => Math.fround(1 / Math.sqrt(DIM)) * (1 + k * 1e-7)));
  return out;
}

const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));

const protocols: WriteProtocol[] = process.env.WITNESSLOG_QDRANT_ENGINE === 'server' ? ['rest', 'grpc'] : ['rest'];

describe('stored vectors', () => {
  for (const protocol of protocols) test(`retrieve gives back exactly the bits storedVectors names (writes over ${protocol})`, async () => {
    const collection = uniqueName(`stored_vectors_${protocol}`);
    after(() => dropCollection(collection));
    const logger = testLogger('stored-vectors');
    const { qdrant } = loadConfig({ WITNESS_QDRANT_URL: qdrantUrl, WITNESS_QDRANT_WRITE_PROTOCOL: protocol });
    const client = createQdrantWriter(qdrant, logger);
    await ensureCollection(client, { collection, dim: DIM, logger });
    const vectors = hardVectors();
    const points: WitnessPoint[] = vectors.map((v, i) => entryToPoint({ ...testEntry(DIM, i), query_embedding: v, response_embedding: [...v].reverse() }, `d${i}`));
    const sink = createQdrantSink({ client, collection, dim: DIM, retry: createRetry({ initialMs: 50, maxMs: 500, maxAttempts: 5 }), metrics: createMetrics(new Registry()), logger });
    const result = await sink.write(points);
    assert.deepEqual(result, { rejected: [], conflicts: [] });
    const back = await client.retrieve(collection, { ids: points.map((p) => p.id), with_payload: false, with_vector: true });
    assert.equal(back.length, points.length);
    const byId = new Map(back.map((r) => [String(r.id), r.vector as Record<string, number[]>]));
    for (const point of points) {
      const want = storedVectors(point);
      const got = byId.get(point.id)!;
      assert.deepEqual(bits(Float32Array.from(got.query!)), bits(want.query), `query of ${point.id}`);
      assert.deepEqual(bits(Float32Array.from(got.response!)), bits(want.response!), `response of ${point.id}`);
    }
  });
});
