// The parts that need neither Kafka nor Qdrant: the entry <-> point mapping,
// configuration validation, the retry policy, error classification, the batcher.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, createRetry, type Deprecation } from '@witnesslog/core';
import {
  CONFIG_DEFAULTS,
  ConfigError,
  METRIC_NAMES,
  QdrantRejectedError,
  QdrantUnavailableError,
  createMetrics,
  entryToPoint,
  loadConfig,
  pointToEntry,
  storedVectors,
} from '@witnesslog/consumer';
// Internals, tested here on their own.
import { Batcher } from '../../src/ingest/batcher.js';
import { vectorDifferences } from '../../src/store/collection.js';
import { classifyQdrantError } from '../../src/errors.js';
import { loadCliSettings } from '../../src/config.js';
import { Registry } from 'prom-client';
import { assertVectorClose, codec, testEntry } from '../../../test/support/entries.js';

describe('entryToPoint / pointToEntry', () => {
  test('a point reproduces the decoded entry field for field', () => {
    for (let i = 0; i < 10; i++) {
      const decoded = codec(8).decode(codec(8).encode(testEntry(8, i)));
      const point = entryToPoint(decoded);
      assert.equal(point.id, decoded.request_id);
      assert.equal(point.payload.is_success, decoded.error === null);
      assert.equal('query_embedding' in point.payload, false, 'vectors are not in the payload');
      assert.equal(point.vector.response === undefined, decoded.response_embedding.length === 0);
      // Through JSON, as it travels to Qdrant and back: every field as it was; the
      // embeddings, sent as integer directions, within float32's precision of their largest component.
      const back = pointToEntry(JSON.parse(JSON.stringify(point)));
      assert.deepEqual({ ...back, query_embedding: null, response_embedding: null }, { ...decoded, query_embedding: null, response_embedding: null });
      assertVectorClose(back.query_embedding, decoded.query_embedding, 'query_embedding');
      assertVectorClose(back.response_embedding, decoded.response_embedding, 'response_embedding');
    }
  });

  test('vectors Qdrant normalized (cosine) come back at their original length', () => {
    const decoded = codec(8).decode(codec(8).encode(testEntry(8, 0)));
    const point = entryToPoint(decoded);
    const normalize = (v: number[]) => {
      const n = Math.hypot(...v);
      return v.map((x) => Math.fround(Math.fround(x) / Math.fround(n)));
    };
    const stored = { id: point.id, payload: JSON.parse(JSON.stringify(point.payload)), vector: { query: normalize(point.vector.query), response: normalize(point.vector.response!) } };
    const back = pointToEntry(stored);
    for (const [name, got, want] of [
      ['query', back.query_embedding, decoded.query_embedding],
      ['response', back.response_embedding, decoded.response_embedding],
    ] as const) {
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-6 * Math.abs(want[i]!) + 1e-9, `${name}[${i}] ${got[i]} vs ${want[i]}`);
    }
  });

  test('vectors travel as unit-length float32, which storedVectors gives back and pointToEntry rescales', () => {
    const dim = 768;
    const c = codec(dim);
    for (let i = 0; i < 50; i++) {
      const random = Array.from({ length: dim }, () => (Math.random() * 2 - 1) * 10 ** (i % 5 - 2));
      const decoded = c.decode(c.encode({ ...testEntry(dim, i), query_embedding: random }));
      const point = entryToPoint(decoded);
      const { query } = point.vector;
      assert.ok(query.every((x) => Math.fround(x) === x), 'every component is a float32');
      // Qdrant sums the squares in float32 in SIMD lanes (4 with SSE/NEON, 8 with AVX): the length must stay within its 1e-6 of 1.
      for (const width of [4, 8]) {
        const lanes = new Float32Array(width);
        for (let k = 0; k < dim; k++) lanes[k % width] = Math.fround(lanes[k % width]! + Math.fround(query[k]! * query[k]!));
        const squared = lanes.reduce((a, b) => Math.fround(a + b), 0);
        assert.ok(Math.abs(squared - 1) < 1e-6, `squared length ${squared} summed in ${width} lanes`);
      }
      assert.deepEqual(storedVectors(point).query, Float32Array.from(query));
      const back = pointToEntry({ id: point.id, payload: point.payload, vector: { query: Array.from(storedVectors(point).query) } });
      for (let k = 0; k < dim; k++) assert.ok(Math.abs(back.query_embedding[k]! - decoded.query_embedding[k]!) <= 1e-6 * Math.abs(decoded.query_embedding[k]!) + 1e-12, `query[${k}]`);
    }
  });

  test('pointToEntry refuses a point read without payload or vectors', () => {
    assert.throws(() => pointToEntry({ id: 'x', payload: null, vector: {} }), /with_payload/);
    assert.throws(() => pointToEntry({ id: 'x', payload: { request_id: 'x' } }), /with_vector/);
  });
});

describe('loadConfig', () => {
  test('defaults', () => {
    const config = loadConfig({});
    assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(config.topic, 'witness.entries');
    assert.equal(config.dlqTopic, 'witness.entries.dlq');
    assert.equal(config.qdrant.collection, 'witness_log');
    assert.equal(config.embeddingDim, 768);
    assert.equal(config.batch.maxEntries, 100);
    assert.equal(config.batch.maxWaitMs, 1000);
    assert.equal(config.metrics.port, 9464);
    assert.equal(config.metrics.host, '127.0.0.1');
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.batch));
    assert.equal(config.qdrant.writeProtocol, 'auto');
    assert.equal(config.qdrant.grpcUrl, 'http://127.0.0.1:6334');
    assert.equal(Object.keys(CONFIG_DEFAULTS).length, 29);
  });

  test('the write protocol and the gRPC URL: one port above REST unless named', () => {
    assert.equal(loadConfig({ WITNESS_QDRANT_URL: 'http://qdrant:22333' }).qdrant.grpcUrl, 'http://qdrant:22334');
    assert.equal(loadConfig({ WITNESS_QDRANT_URL: 'https://q.example.com' }).qdrant.grpcUrl, 'https://q.example.com:6334');
    assert.equal(loadConfig({ WITNESS_QDRANT_GRPC_URL: 'http://g:7000/' }).qdrant.grpcUrl, 'http://g:7000');
    assert.equal(loadConfig({ WITNESS_QDRANT_WRITE_PROTOCOL: 'GRPC' }).qdrant.writeProtocol, 'grpc');
    assert.throws(() => loadConfig({ WITNESS_QDRANT_WRITE_PROTOCOL: 'http2' }), /WITNESS_QDRANT_WRITE_PROTOCOL="http2": expected auto, grpc or rest/);
    assert.throws(() => loadConfig({ WITNESS_QDRANT_GRPC_URL: 'g:7000' }), /WITNESS_QDRANT_GRPC_URL="g:7000"/);
  });

  test('names every bad variable, its value and what was expected', () => {
    const err = (() => {
      try {
        loadConfig({ WITNESS_EMBEDDING_DIM: 'abc', WITNESS_KAFKA_BROKERS: 'localhost', WITNESS_QDRANT_URL: 'qdrant:6333', LOG_LEVEL: 'loud', WITNESS_DLQ_TOPIC: 'witness.entries' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'WITNESS_CONFIG_INVALID');
    assert.match(err.message, /WITNESS_EMBEDDING_DIM="abc": expected an integer from 1 to 65536/);
    assert.match(err.message, /WITNESS_KAFKA_BROKERS="localhost": expected a comma-separated list of host:port/);
    assert.match(err.message, /WITNESS_QDRANT_URL="qdrant:6333": expected an http:\/\/ or https:\/\/ URL/);
    assert.match(err.message, /LOG_LEVEL="loud": expected one of fatal, error/);
    assert.match(err.message, /WITNESS_DLQ_TOPIC="witness.entries": expected a topic other than WITNESS_TOPIC/);
    assert.equal(err.problems.length, 5);
  });

  test('SASL needs user and password; the password never shows in a message', () => {
    assert.throws(() => loadConfig({ WITNESS_KAFKA_SASL_MECHANISM: 'scram-sha-512', WITNESS_KAFKA_SASL_PASSWORD: 'hunter2' }), (e: Error) => {
      assert.match(e.message, /WITNESS_KAFKA_SASL_USERNAME/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
    assert.throws(
      () => loadConfig({ WITNESS_KAFKA_SASL_MECHANISM: 'gssapi', WITNESS_KAFKA_SASL_USERNAME: 'u', WITNESS_KAFKA_SASL_PASSWORD: 'p' }),
      /WITNESS_KAFKA_SASL_MECHANISM="gssapi"/,
    );
    const ok = loadConfig({ WITNESS_KAFKA_SASL_MECHANISM: 'PLAIN', WITNESS_KAFKA_SASL_USERNAME: 'u', WITNESS_KAFKA_SASL_PASSWORD: 'p', WITNESS_KAFKA_SSL: 'true' });
    assert.deepEqual(ok.kafka.sasl, { mechanism: 'plain', username: 'u', password: 'p' });
    assert.deepEqual(ok.kafka.ssl, {});
    assert.throws(
      () => loadConfig({ WITNESS_KAFKA_SSL: 'true', WITNESS_KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }),
      /WITNESS_KAFKA_SSL_CA_FILE="\/nonexistent\/ca.pem": expected a readable PEM file \(ENOENT\)/,
    );
  });

  test('the booleans, IPv6 brokers and certificate checks of the shared parser', () => {
    assert.throws(() => loadConfig({ WITNESS_KAFKA_SSL: 'yes' }), /WITNESS_KAFKA_SSL="yes": expected true, false, 1 or 0/);
    const c = loadConfig({ WITNESS_KAFKA_BROKERS: '[::1]:9092,kafka:9093', WITNESS_KAFKA_SSL_REJECT_UNAUTHORIZED: 'FALSE' });
    assert.deepEqual(c.kafka.brokers, ['[::1]:9092', 'kafka:9093']);
    assert.deepEqual(c.kafka.ssl, { rejectUnauthorized: false });
  });

  test('an old name still works, reported once naming its replacement; with both set the new one wins', () => {
    const seen: Deprecation[] = [];
    const config = loadConfig({ KAFKA_BROKERS: 'old:9092', QDRANT_URL: 'http://old:6333', WITNESS_QDRANT_URL: 'http://new:6333' }, (d) => seen.push(d));
    assert.deepEqual(config.kafka.brokers, ['old:9092']);
    assert.equal(config.qdrant.url, 'http://new:6333');
    assert.deepEqual(seen, [
      { old: 'KAFKA_BROKERS', replacement: 'WITNESS_KAFKA_BROKERS', ignored: false },
      { old: 'QDRANT_URL', replacement: 'WITNESS_QDRANT_URL', ignored: true },
    ]);
    assert.throws(() => loadConfig({ KAFKA_SSL: 'maybe' }), /KAFKA_SSL="maybe"/);
  });

  test("the CLI finds the local stack's Qdrant by QDRANT_PORT, unless WITNESS_QDRANT_URL (or the old QDRANT_URL) is set", () => {
    assert.equal(loadCliSettings({}).qdrantUrl, 'http://127.0.0.1:6333');
    assert.equal(loadCliSettings({ QDRANT_PORT: '16333' }).qdrantUrl, 'http://127.0.0.1:16333');
    assert.equal(loadCliSettings({ QDRANT_PORT: '16333', WITNESS_QDRANT_URL: 'http://q:6333' }).qdrantUrl, 'http://q:6333');
    const old = loadCliSettings({ QDRANT_PORT: '16333', QDRANT_URL: 'http://old:6333', QDRANT_API_KEY: 'k' });
    assert.equal(old.qdrantUrl, 'http://old:6333');
    assert.equal(old.apiKey, 'k');
    assert.deepEqual(old.deprecations.map((d) => d.old), ['QDRANT_URL', 'QDRANT_API_KEY']);
    assert.throws(() => loadCliSettings({ QDRANT_PORT: '70000' }), { option: 'QDRANT_PORT' });
  });

  test('the buffer cap must hold at least one batch', () => {
    assert.throws(
      () => loadConfig({ WITNESS_BATCH_MAX_ENTRIES: '500', WITNESS_MAX_BUFFERED_ENTRIES: '100' }),
      /WITNESS_MAX_BUFFERED_ENTRIES="100": expected at least WITNESS_BATCH_MAX_ENTRIES \(500\)/,
    );
  });
});

describe('retry', () => {
  test('backoff grows exponentially to the cap, with jitter in the upper half', () => {
    const policy = { initialMs: 100, maxMs: 1000, random: () => 0 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a)), [50, 100, 200, 400, 500, 500]);
    assert.equal(backoffDelay({ ...policy, random: () => 1 }, 3), 400);
  });

  test('retries retriable errors, bails out at once on the others', async () => {
    const retry = createRetry({ initialMs: 1, maxMs: 2 });
    let calls = 0;
    const retried: number[] = [];
    const value = await retry(
      async () => {
        calls += 1;
        if (calls < 4) throw new QdrantUnavailableError('network', 'down');
        return 'ok';
      },
      { onRetry: (_err, attempt) => retried.push(attempt) },
    );
    assert.equal(value, 'ok');
    assert.deepEqual(retried, [1, 2, 3]);

    calls = 0;
    await assert.rejects(
      retry(async () => {
        calls += 1;
        throw new QdrantRejectedError('bad point', 400);
      }),
      QdrantRejectedError,
    );
    assert.equal(calls, 1);
  });

  test('an abort stops the waiting', async () => {
    const retry = createRetry({ initialMs: 10_000, maxMs: 10_000 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(
      retry(async () => {
        throw new QdrantUnavailableError('network', 'down');
      }, { signal: controller.signal }),
    );
    assert.ok(Date.now() - started < 2000);
  });
});

describe('classifyQdrantError', () => {
  test('maps HTTP status and network failures to kinds', () => {
    const kind = (err: unknown) => classifyQdrantError(err).kind;
    assert.equal(kind({ status: 400, data: { status: { error: 'bad' } } }), 'rejected');
    assert.equal(kind({ status: 422 }), 'rejected');
    assert.equal(kind({ status: 429 }), 'throttled');
    assert.equal(kind({ status: 503 }), 'server');
    assert.equal(kind({ status: 401 }), 'unauthorized');
    // A read-only key where a write was asked: the message names the key that is needed.
    const forbidden = classifyQdrantError({ status: 403, data: { status: { error: 'Forbidden: Global manage access is required' } } });
    assert.equal(forbidden.kind, 'unauthorized');
    assert.match(forbidden.message, /403, Forbidden: Global manage access is required.*needs the read-write key \(Qdrant's api_key/);
    assert.equal(kind({ status: 404 }), 'collection_missing');
    assert.equal(kind(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })), 'network');
    assert.equal(kind(Object.assign(new Error('t'), { name: 'QdrantClientTimeoutError' })), 'timeout');
    assert.equal(classifyQdrantError({ status: 400 }).retriable, false);
    assert.equal(classifyQdrantError({ status: 500 }).retriable, true);
    assert.match(classifyQdrantError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' } })).message, /ECONNREFUSED/);
  });
});

describe('vectorDifferences', () => {
  test('says what differs', () => {
    assert.deepEqual(vectorDifferences({ query: { size: 8, distance: 'Cosine' }, response: { size: 8, distance: 'Cosine' } }, 8), []);
    assert.deepEqual(vectorDifferences({ query: { size: 8, distance: 'Cosine' }, response: { size: 8, distance: 'Cosine' }, extra: { size: 3, distance: 'Dot' } }, 8), []);
    assert.deepEqual(vectorDifferences({ query: { size: 768, distance: 'Dot' }, response: { size: 8, distance: 'Cosine' } }, 8), [
      'vector "query" has size 768, expected 8 (WITNESS_EMBEDDING_DIM)',
      'vector "query" uses Dot distance, expected Cosine',
    ]);
    assert.match(vectorDifferences({ size: 8, distance: 'Cosine' }, 8)[0]!, /single unnamed vector/);
    assert.match(vectorDifferences({ query: { size: 8, distance: 'Cosine' } }, 8)[0]!, /"response" is missing/);
  });
});

describe('Batcher', () => {
  test('hands out full batches at once and the rest after max wait', async () => {
    const batcher = new Batcher<number>({ maxEntries: 100, maxWaitMs: 150 });
    batcher.push(Array.from({ length: 250 }, (_, i) => i));
    const started = Date.now();
    assert.equal((await batcher.next())!.length, 100);
    assert.equal((await batcher.next())!.length, 100);
    assert.ok(Date.now() - started < 50);
    const last = await batcher.next();
    assert.equal(last!.length, 50);
    assert.equal(last![0], 200);
    assert.ok(Date.now() - started >= 140, `waited ${Date.now() - started} ms`);
  });

  test('the max-wait clock starts with the oldest item; urgent and close flush without waiting', async () => {
    const batcher = new Batcher<number>({ maxEntries: 10, maxWaitMs: 10_000 });
    const next = batcher.next();
    batcher.push([1, 2]);
    setTimeout(() => batcher.setUrgent(true), 20);
    assert.deepEqual(await next, [1, 2]);
    batcher.setUrgent(false);
    batcher.push([3]);
    batcher.close();
    assert.deepEqual(await batcher.next(), [3]);
    assert.equal(await batcher.next(), null);
  });
});

test('metrics: every name in the table is registered, prefixed and in base units', async () => {
  const registry = new Registry();
  createMetrics(registry);
  const text = await registry.metrics();
  for (const name of METRIC_NAMES) {
    assert.match(name, /^witness_/);
    assert.ok(text.includes(`# TYPE ${name} `), `${name} is not exposed`);
  }
});
