// Real faults: Qdrant stopped mid-stream (our own instance), the service killed
// with SIGKILL mid-batch, SIGTERM, bad configuration, a wrong collection. The
// service runs as its own process through local/services.ts, as `npm start` runs it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import { METRIC_NAMES } from '@witnesslog/consumer';
import { loadToolchain, qdrantService, stackConfig, type Service } from '../../../local/services.js';
import {
  committedOffsets,
  countPoints,
  createTopics,
  deleteTopics,
  disconnectShared,
  dropCollection,
  encoded,
  freePort,
  metricValue,
  produce,
  qdrant,
  runConsumer,
  testConfig,
  testEntry,
  testNames,
  waitFor,
} from '../../../test/support/pipeline.js';
import { httpGet } from '../../../test/support/http.js';
import { sample } from '../../../test/support/metrics.js';
import { consumerProcess as consumerProcessFor, runInForeground } from '../../../test/support/consumer-process.js';

const DIM = 8;
const tools = loadToolchain();
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await disconnectShared();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `witness-${prefix}-`));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function setUp(prefix: string) {
  const names = testNames(prefix);
  await createTopics({ topic: names.topic }, { topic: names.dlqTopic });
  cleanups.push(() => deleteTopics(names.topic, names.dlqTopic), () => dropCollection(names.collection));
  return names;
}

/** The consumer service for `names`, on its own metrics port and run folder. */
async function consumerProcess(names: ReturnType<typeof testNames>, env: Record<string, string> = {}) {
  const consumer = await consumerProcessFor(names, { dim: DIM, env });
  cleanups.push(consumer.cleanup);
  return consumer;
}

/** The service in the foreground of the test, to see its exit code and output. */
function spawnForeground(service: Service) {
  const run = runInForeground(service);
  cleanups.push(async () => run.kill());
  return run;
}

describe('the service process', () => {
  test('SIGTERM flushes what is buffered, commits and exits 0; /metrics, /healthz, /readyz', async () => {
    const names = await setUp('sigterm');
    // A batch that would wait a minute: only the shutdown can flush it in time.
    const { service, url } = await consumerProcess(names, { WITNESS_BATCH_MAX_ENTRIES: '1000', WITNESS_MAX_BUFFERED_ENTRIES: '2000', WITNESS_BATCH_MAX_WAIT_MS: '60000' });
    const run = spawnForeground(service);
    await waitFor('ready', async () => (await httpGet(`${url}/readyz`)).status === 200, 60_000);
    assert.equal((await httpGet(`${url}/healthz`)).status, 200);

    await produce(names.topic, encoded(Array.from({ length: 30 }, (_, i) => testEntry(DIM, i)), DIM));
    await waitFor('30 consumed', async () => sample((await httpGet(`${url}/metrics`)).text, 'witness_entries_consumed_total') === 30);
    const { text, status } = await httpGet(`${url}/metrics`);
    assert.equal(status, 200);
    for (const name of METRIC_NAMES) assert.ok(text.includes(`# TYPE ${name} `), `/metrics lacks ${name}`);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.ok(text.includes(`# TYPE ${name} `), `/metrics lacks the process metric ${name}`);
    }
    assert.equal(sample(text, 'witness_buffered_entries'), 30);
    assert.equal(await countPoints(names.collection), 0, 'nothing is written before the batch is due');

    run.child.kill('SIGTERM');
    const code = await run.exited;
    assert.equal(code, 0, run.output().slice(-2000));
    assert.equal(await countPoints(names.collection), 30);
    assert.equal(await committedOffsets(names.groupId, names.topic), 30);
    assert.match(run.output(), /"drained":true/);
  });

  test('SIGKILL mid-batch, then a restart: nothing is lost, and commits never ran ahead of writes', async () => {
    const names = await setUp('sigkill');
    // The local Qdrant server takes a few ms per point: 1500 keep this test short while
    // the kill still lands after the first batch and long before the last.
    const total = 1500;
    const entries = Array.from({ length: total }, (_, i) => testEntry(DIM, i));
    await produce(names.topic, encoded(entries, DIM));
    // The killed member keeps its partitions until its session times out; 6 s is the broker's minimum.
    const { service } = await consumerProcess(names, { WITNESS_BATCH_MAX_ENTRIES: '100', WITNESS_SESSION_TIMEOUT_MS: '6000' });
    await service.start();
    await waitFor('the first writes', async () => (await countPoints(names.collection)) > 0, 30_000);
    await service.kill();
    const committed = await committedOffsets(names.groupId, names.topic);
    const written = await countPoints(names.collection);
    assert.ok(written < total, `the service finished (${written}) before it could be killed mid-stream`);
    assert.ok(committed <= written, `committed ${committed} but only ${written} written`);

    await service.start();
    await waitFor('all committed after the restart', async () => (await committedOffsets(names.groupId, names.topic)) === total, 60_000);
    assert.equal(await countPoints(names.collection), total);
    await service.stop();
  });

  test('a bad variable is named with its value and what was expected; exit 2', async () => {
    const names = testNames('badconfig');
    const { service } = await consumerProcess(names, { WITNESS_EMBEDDING_DIM: 'abc', WITNESS_BATCH_MAX_WAIT_MS: '-5' });
    const run = spawnForeground(service);
    assert.equal(await run.exited, 2);
    assert.match(run.output(), /WITNESS_EMBEDDING_DIM="abc": expected an integer from 1 to 65536/);
    assert.match(run.output(), /WITNESS_BATCH_MAX_WAIT_MS="-5": expected an integer from 0 to 600000/);
  });

  test('a collection with other vectors: refuses to start, says what differs; exit 1', async () => {
    const names = testNames('wrongcol');
    cleanups.push(() => dropCollection(names.collection));
    await qdrant.createCollection(names.collection, { vectors: { size: DIM, distance: 'Cosine' } });
    const { service } = await consumerProcess(names);
    const run = spawnForeground(service);
    assert.equal(await run.exited, 1);
    assert.match(run.output(), /exists with a different vector configuration: it has a single unnamed vector/);
  });
});

describe('Qdrant outage', () => {
  test('Qdrant stopped mid-stream and restarted: consumption pauses and resumes, nothing is lost', async () => {
    const port = await freePort();
    const ownQdrant = qdrantService(stackConfig({ ...process.env, QDRANT_PORT: String(port), WITNESSLOG_RUN_DIR: tempDir('qdrant') }), tools);
    await ownQdrant.start();
    cleanups.push(() => ownQdrant.stop());
    const client = new QdrantClient({ url: ownQdrant.address, checkCompatibility: false });

    const names = await setUp('outage');
    const config = testConfig(names, {
      WITNESS_QDRANT_URL: ownQdrant.address,
      WITNESS_QDRANT_TIMEOUT_MS: '2000',
      WITNESS_BATCH_MAX_ENTRIES: '20',
      WITNESS_BATCH_MAX_WAIT_MS: '50',
      WITNESS_MAX_BUFFERED_ENTRIES: '60',
      WITNESS_RETRY_INITIAL_MS: '50',
      WITNESS_RETRY_MAX_MS: '300',
    });
    const run = await runConsumer(config, 'outage');
    cleanups.push(run.close);
    const entries = Array.from({ length: 400 }, (_, i) => testEntry(DIM, i));
    await produce(names.topic, encoded(entries.slice(0, 100), DIM));
    await waitFor('the first 100 committed', async () => (await committedOffsets(names.groupId, names.topic)) === 100);

    await ownQdrant.stop();
    await produce(names.topic, encoded(entries.slice(100), DIM));
    await waitFor('paused with a full buffer, retrying', async () =>
      (await metricValue(run.registry, 'witness_consumer_paused')) === 1 &&
      (await metricValue(run.registry, 'witness_qdrant_write_retries_total')) > 0,
    );
    assert.equal(await metricValue(run.registry, 'witness_qdrant_waiting'), 1);
    assert.ok((await metricValue(run.registry, 'witness_buffered_entries')) <= 60 + 300, 'the buffer is bounded');
    assert.equal(await committedOffsets(names.groupId, names.topic), 100, 'nothing is committed while Qdrant is down');
    assert.equal(await run.consumer.ready(), false, 'not ready while Qdrant is down');

    await ownQdrant.start();
    await waitFor('all 400 committed', async () => (await committedOffsets(names.groupId, names.topic)) === 400, 60_000);
    assert.equal((await client.count(names.collection, { exact: true })).count, 400);
    assert.ok((await metricValue(run.registry, 'witness_consumer_pauses_total')) > 0);
    assert.ok((await metricValue(run.registry, 'witness_qdrant_write_errors_total', { kind: 'network' })) > 0);
    assert.equal(await metricValue(run.registry, 'witness_consumer_paused'), 0, 'resumed');
    assert.equal(await metricValue(run.registry, 'witness_qdrant_waiting'), 0);
    assert.equal(await metricValue(run.registry, 'witness_entries_dead_lettered_total'), 0, 'an outage dead-letters nothing');
    await run.close();
  });
});
