// The gRPC write path when Qdrant stops answering: a TCP proxy in front of the
// real server's gRPC port holds every answer past the write timeout, so writes
// fail and are retried; intake pauses, nothing is committed or dead-lettered,
// and once answers flow again every entry is stored exactly once. Only where
// the real server runs (the embedded engine serves REST only).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startSlowProxy } from '../../../test/support/slow-proxy.js';
import * as support from '../../../test/support/pipeline.js';

const DIM = 8;
const server = process.env.WITNESSLOG_QDRANT_ENGINE === 'server';

describe('gRPC writes, Qdrant not answering', { skip: server ? false : 'the embedded engine serves REST only' }, () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await support.disconnectShared();
  });

  test('writes time out and are retried, nothing is committed meanwhile; then every entry is stored once', async () => {
    const names = support.testNames('grpc_outage');
    await support.createTopics({ topic: names.topic }, { topic: names.dlqTopic });
    cleanups.push(() => support.deleteTopics(names.topic, names.dlqTopic), () => support.dropCollection(names.collection));
    const rest = new URL(support.qdrantUrl);
    const proxy = await startSlowProxy({ host: rest.hostname, port: Number(rest.port) + 1 }, 3_000);
    cleanups.push(() => proxy.close());
    const run = await support.runConsumer(
      support.testConfig(names, { WITNESS_QDRANT_WRITE_PROTOCOL: 'grpc', WITNESS_QDRANT_GRPC_URL: proxy.url, WITNESS_QDRANT_TIMEOUT_MS: '500', WITNESS_BATCH_MAX_ENTRIES: '20' }),
      'grpc-outage',
    );
    cleanups.push(run.close);
    const entries = Array.from({ length: 60 }, (_, i) => support.testEntry(DIM, i));
    await support.produce(names.topic, support.encoded(entries, DIM));
    await support.waitFor('retried gRPC writes', async () => (await support.metricValue(run.registry, 'witness_qdrant_write_retries_total', { kind: 'timeout' })) >= 2);
    assert.equal(await support.committedOffsets(names.groupId, names.topic), 0, 'nothing committed while Qdrant does not answer');
    assert.ok(proxy.connections > 0, 'the writes went to the gRPC port');
    proxy.delayMs = 0;
    await support.waitFor('all 60 committed', async () => (await support.committedOffsets(names.groupId, names.topic)) === 60, 30_000);
    assert.equal(await support.countPoints(names.collection), 60);
    assert.equal(run.flushes.reduce((n, f) => n + f.deadLettered, 0), 0);
  });
});
