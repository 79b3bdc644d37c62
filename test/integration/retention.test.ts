// WITNESS_RETENTION, against the real stack: a consumer process with a 7-day window
// ingests entries of ten days ago and of now while a serving node keeps recording;
// the old ones go (in chunks), the new ones stay, and ingestion never stops.
// Plus the chunking and the configuration, with a small fake of Qdrant.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import { createWitnessProducer, type WitnessProducer } from '@witnesslog/producer';
import { createWitnessEntry, type WitnessEntry } from '@witnesslog/schemas';
import { createRetention, retentionConfig, retentionMetricNames, type RetentionClient } from '../../consumer/src/ops/retention.js';
import { ConfigError } from '../../consumer/src/errors.js';
import { consumerService, loadToolchain, stackConfig, type Service } from '../../local/services.js';
import { brokers, qdrantUrl, uniqueName } from '../support/env.js';
import { freePort } from '../support/net.js';
import { deleteTopics } from '../support/topic.js';

const DIM = 8;
const DAY = 86_400_000;
const entryAt = (ms: number, tag: string): WitnessEntry => ({
  ...createWitnessEntry(uniqueName('session'), Array.from({ length: DIM }, (_, i) => Math.sin(ms + i)), {
    model: 'small',
    context_size: 1024,
    temperature: 0.7,
    top_p: 0.9,
    confidence: 0.8,
    model_probs: [0.25, 0.25, 0.25, 0.25],
  }),
  // RFC 3339 with microseconds, as the schema wants.
  timestamp: new Date(ms).toISOString().replace('Z', '000Z'),
  tags: [tag],
});

describe('retentionConfig (WITNESS_RETENTION)', () => {
  test('off when unset or empty; a window, an interval and a chunk when set', () => {
    assert.equal(retentionConfig({}), undefined);
    assert.equal(retentionConfig({ WITNESS_RETENTION: ' ' }), undefined);
    assert.deepEqual({ ...retentionConfig({ WITNESS_RETENTION: '7d' }) }, { windowMs: 7 * DAY, intervalMs: 600_000, chunk: 1000 });
    assert.deepEqual({ ...retentionConfig({ WITNESS_RETENTION: '2w', WITNESS_RETENTION_INTERVAL: '30s', WITNESS_RETENTION_CHUNK: '50' }) }, {
      windowMs: 14 * DAY,
      intervalMs: 30_000,
      chunk: 50,
    });
  });

  test('a bad value names the variable, the value and what was expected', () => {
    assert.throws(
      () => retentionConfig({ WITNESS_RETENTION: '7 days', WITNESS_RETENTION_CHUNK: '0' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 2 &&
        err.problems[0] === 'WITNESS_RETENTION="7 days": expected a duration like 30m, 1h, 7d' &&
        err.problems[1] === 'WITNESS_RETENTION_CHUNK="0": expected an integer from 1 to 10000',
    );
  });
});

describe('createRetention with a fake Qdrant', () => {
  test('deletes in chunks of at most `chunk` ids through a timestamp filter, counts them, and stops at the first short page', async () => {
    let stored = 2_345;
    const deletes: number[] = [];
    const filters: unknown[] = [];
    const client = {
      async scroll(_collection: string, req: { filter: unknown; limit: number }) {
        filters.push(req.filter);
        return { points: Array.from({ length: Math.min(req.limit, stored) }, (_, i) => ({ id: i, payload: null })) };
      },
      async delete(_collection: string, req: { points: unknown[] }) {
        deletes.push(req.points.length);
        stored -= req.points.length;
        return { status: 'completed' };
      },
    } as unknown as RetentionClient;
    const registry = new Registry();
    const now = Date.parse('2026-11-30T12:00:00Z');
    const retention = createRetention({ client, collection: 'c', windowMs: 7 * DAY, intervalMs: 60_000, chunk: 1000, registry, clock: () => now });
    assert.equal(await retention.runOnce(), 2_345);
    assert.deepEqual(deletes, [1000, 1000, 345]);
    assert.deepEqual(filters[0], { must: [{ key: 'timestamp', range: { lt: '2026-11-23T12:00:00.000Z' } }] });
    const metrics = await registry.getMetricsAsJSON();
    assert.equal(metrics.find((m) => m.name === retentionMetricNames.deleted)!.values[0]!.value, 2_345);
    assert.equal(metrics.find((m) => m.name === retentionMetricNames.lastRun)!.values[0]!.value, now / 1000);
    assert.equal(await retention.runOnce(), 0, 'nothing left');
    await retention.stop();
  });

  test('a failing pass is counted and retried at the next interval, not thrown into the host', async () => {
    let calls = 0;
    const client = {
      async scroll() {
        calls += 1;
        throw new Error('connection refused');
      },
      async delete() {},
    } as unknown as RetentionClient;
    const registry = new Registry();
    const retention = createRetention({ client, collection: 'c', windowMs: DAY, intervalMs: 50, chunk: 10, registry });
    retention.start();
    await new Promise((r) => setTimeout(r, 180));
    await retention.stop();
    assert.ok(calls >= 2, `${calls} passes`);
    const runs = (await registry.getMetricsAsJSON()).find((m) => m.name === retentionMetricNames.runs)!;
    assert.equal(runs.values.find((v) => v.labels.outcome === 'error')!.value, calls);
  });
});

describe('WITNESS_RETENTION in the consumer service, against the running stack', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'witness-retention-'));
  const topic = uniqueName('retention');
  const collection = uniqueName('retention').replace(/-/g, '_');
  const qdrant = new QdrantClient({ url: qdrantUrl, checkCompatibility: false });
  let consumer: Service;
  let producer: WitnessProducer;

  before(async () => {
    const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: `${topic}.dlq` }], waitForLeaders: true });
    await admin.disconnect();
    const cfg = stackConfig({ ...process.env, METRICS_PORT: String(await freePort()), WITNESSLOG_RUN_DIR: runDir });
    consumer = consumerService(cfg, loadToolchain(), {
      WITNESS_QDRANT_URL: qdrantUrl,
      WITNESS_TOPIC: topic,
      WITNESS_DLQ_TOPIC: `${topic}.dlq`,
      WITNESS_GROUP_ID: `${topic}-group`,
      WITNESS_COLLECTION: collection,
      WITNESS_EMBEDDING_DIM: String(DIM),
      WITNESS_BATCH_MAX_WAIT_MS: '200',
      WITNESS_RETENTION: '7d',
      WITNESS_RETENTION_INTERVAL: '2s',
      WITNESS_RETENTION_CHUNK: '50',
      LOG_LEVEL: 'warn',
    });
    await consumer.start();
    producer = createWitnessProducer({ brokers, topic, embeddingDim: DIM, lingerMs: 20 });
  });

  after(async () => {
    await producer?.close();
    await consumer?.stop();
    await deleteTopics({ brokers }, [topic, `${topic}.dlq`]);
    await qdrant.deleteCollection(collection).catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
  });

  test('entries older than the window go in chunks, new ones stay, and ingestion goes on meanwhile', { timeout: 120_000 }, async () => {
    const count = async (tag: string) => (await qdrant.count(collection, { filter: { must: [{ key: 'tags', match: { value: tag } }] }, exact: true })).count;
    const metric = async (name: string) => {
      const text = await fetch(consumer.address).then((r) => r.text());
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    };
    const OLD = 400;
    // Ten days old (outside the 7-day window) and six days old (inside it, stays).
    for (let i = 0; i < OLD; i++) producer.record(entryAt(Date.now() - 10 * DAY - i * 1000, 'old'));
    for (let i = 0; i < 100; i++) producer.record(entryAt(Date.now() - 6 * DAY - i * 1000, 'recent'));
    // A serving node keeps recording fresh entries during the deletes.
    let live = 0;
    const sending = setInterval(() => {
      for (let i = 0; i < 20; i++, live++) producer.record(entryAt(Date.now(), 'live'));
    }, 100);
    const started = Date.now();
    try {
      // The old ones are written, then deleted by the next passes.
      let deleted = 0;
      while (Date.now() - started < 90_000) {
        deleted = await metric(retentionMetricNames.deleted);
        if (deleted >= OLD && (await count('old')) === 0) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(await count('old'), 0, 'every entry older than the window is gone');
      // Each old entry was deleted once; an old one arriving after a pass goes at the next one.
      assert.equal(deleted, OLD);
      assert.ok((await metric(retentionMetricNames.lastRun)) * 1000 > started, 'the last run time moved');
    } finally {
      clearInterval(sending);
    }
    await producer.flush();
    // Ingestion went on: every live entry recorded during the deletes arrives; the in-window ones stay.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await count('live')) < live) await new Promise((r) => setTimeout(r, 300));
    assert.equal(await count('live'), live);
    assert.equal(await count('recent'), 100);
    assert.ok(live >= 200, `only ${live} live entries were recorded`);
  });
});
