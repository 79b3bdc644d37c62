// The consumer service fails or changes under load (scenarios 2, 7 and 8 of issue 8):
// SIGKILL mid-batch again and again, consumers joining and leaving the group, and
// a graceful stop (SIGTERM) of a producer host and the consumer at once. The three
// run side by side on this file's broker, each with its own topic, group and Qdrant
// server: most of their time is spent waiting for session timeouts and rejoins.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../local/services.js';
import { Ledger, type ProducerReport } from '../support/reliability/ledger.js';
import { scaled, steadyLoad, suiteTimeoutMs } from '../support/reliability/load.js';
import type { HostMessage } from '../support/reliability/producer-host.js';
import { startOwnPipeline, waitUntil, type OwnConsumer, type OwnPipeline } from '../support/reliability/pipeline.js';

let pipeline: OwnPipeline;
before(async () => {
  pipeline = await startOwnPipeline();
});
after(async () => {
  await pipeline?.cleanup();
});

/** Sum of the committed offsets of a group (messages it has settled). */
async function committed(groupId: string, topic: string): Promise<number> {
  const [group] = await (await pipeline.admin()).fetchOffsets({ groupId, topics: [topic] });
  return group!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

describe('consumer service failures', { concurrency: true, timeout: suiteTimeoutMs() }, () => {
  test('2. consumer SIGKILLed mid-batch 5 times and restarted: nothing lost, commits never ahead of writes', async (t) => {
    const ledger = new Ledger('consumer-sigkill');
    const names = pipeline.names('rel-sigkill');
    await pipeline.createTopic(names, 4);
    const qdrant = await pipeline.ownQdrant();
    const { producer, registry } = pipeline.producer(names);
    const load = steadyLoad(ledger, [{ name: 'producer', producer }], scaled(60));
    const kills = scaled(5);
    for (let i = 0; i < kills; i++) {
      const consumer = await pipeline.consumer(names, { WITNESS_QDRANT_URL: qdrant.url, WITNESS_BATCH_MAX_ENTRIES: '50', WITNESS_BATCH_MAX_WAIT_MS: '500' });
      await consumer.start();
      // Mid-batch: this incarnation has written something and holds fetched entries it has not committed.
      await waitUntil(
        `incarnation ${i + 1} to write a batch and hold the next one`,
        async () => {
          const text = await consumer.metrics();
          const upserted = Number(/^witness_entries_upserted_total (\S+)$/m.exec(text)?.[1] ?? 0);
          const buffered = Number(/^witness_buffered_entries (\S+)$/m.exec(text)?.[1] ?? 0);
          return upserted >= 50 && buffered > 0;
        },
        60_000,
        50,
      );
      await consumer.kill();
      const [offsets, points] = await Promise.all([committed(names.groupId, names.topic), qdrant.client.count(names.collection, { exact: true })]);
      t.diagnostic(`kill ${i + 1}: committed ${offsets}, points ${points.count} (written, not committed: ${points.count - offsets}, delivered again), recorded ${load.recorded}`);
      assert.ok(offsets <= points.count, `kill ${i + 1}: committed ${offsets} messages but only ${points.count} points are written`);
    }
    const last = await pipeline.consumer(names, { WITNESS_QDRANT_URL: qdrant.url });
    await last.start();
    await sleep(1_000);
    await load.stop();
    await producer.flush();
    await pipeline.waitDrained(names);
    await pipeline.verify(ledger, names, { qdrant: qdrant.client, producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    await last.stop();
  });

  test('7. rebalance: consumers added and removed under load', async (t) => {
    const ledger = new Ledger('rebalance');
    const names = pipeline.names('rel-rebalance');
    await pipeline.createTopic(names, 6);
    const qdrant = await pipeline.ownQdrant();
    const { producer, registry } = pipeline.producer(names);
    const load = steadyLoad(ledger, [{ name: 'producer', producer }], scaled(60));
    const env = { WITNESS_QDRANT_URL: qdrant.url, WITNESS_BATCH_MAX_ENTRIES: '50' };
    const wrote = async (c: OwnConsumer, what: string) =>
      waitUntil(`${what} to write`, async () => (await c.metric('witness_entries_upserted_total')) > 0, 90_000);

    const a = await pipeline.consumer(names, env);
    await a.start();
    await wrote(a, 'consumer A');
    const b = await pipeline.consumer(names, env);
    await b.start();
    await wrote(b, 'consumer B (added)');
    const c = await pipeline.consumer(names, env);
    await c.start();
    await wrote(c, 'consumer C (added)');
    t.diagnostic(`3 members after ${load.recorded} entries`);
    await a.stop();
    const cBefore = await c.metric('witness_entries_upserted_total');
    await waitUntil('the remaining members to take over', async () => (await c.metric('witness_entries_upserted_total')) > cBefore + 20, 90_000);
    await b.stop();
    t.diagnostic(`A and B removed after ${load.recorded} entries`);
    // C rejoins as members leave (two departures close together may share one
    // rebalance); that C alone then carries every partition shows in the drained lag
    // and the ledger below.
    await waitUntil('consumer C to rejoin', async () => (await c.metric('witness_rebalances_total')) >= 1, 60_000);
    const cAlone = await c.metric('witness_entries_upserted_total');
    await waitUntil('C to go on writing alone', async () => (await c.metric('witness_entries_upserted_total')) > cAlone + 20, 60_000);
    await sleep(1_000);
    await load.stop();
    await producer.flush();
    await pipeline.waitDrained(names);
    await pipeline.verify(ledger, names, { qdrant: qdrant.client, producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    for (const member of [a, b]) assert.match(member.log(), /"drained":true/, 'a removed member drained before leaving');
    await c.stop();
  });

  test('8. graceful stop (SIGTERM) of a producer host and the consumer under load: nothing pending is lost', async (t) => {
    const ledger = new Ledger('graceful-stop');
    const names = pipeline.names('rel-sigterm');
    await pipeline.createTopic(names, 3);
    // Batches that wait: at SIGTERM the consumer holds fetched, unwritten entries.
    const consumer = await pipeline.consumer(names, { WITNESS_BATCH_MAX_ENTRIES: '1000', WITNESS_MAX_BUFFERED_ENTRIES: '2000', WITNESS_BATCH_MAX_WAIT_MS: '30000' });
    await consumer.start();

    const host = spawn(process.execPath, ['--conditions=witnesslog-src', '--import', 'tsx', join(repoRoot, 'test/support/reliability/producer-host.ts')], {
      cwd: repoRoot,
      env: { ...process.env, BROKERS: pipeline.broker.brokers.join(','), TOPIC: names.topic, RATE: String(scaled(80)), LINGER_MS: '2000' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    let report: ProducerReport | undefined;
    let closeMs = 0;
    let hostPending = 0;
    let pendingAtSigterm = 0;
    host.on('message', (m: HostMessage) => {
      if (m.type === 'recorded') {
        for (const { entry, outcome } of m.items) ledger.note('producer-host', entry, outcome);
        hostPending = m.pending;
      } else {
        report = { name: 'producer-host', stats: m.stats, metrics: m.metrics };
        closeMs = m.closeMs;
        pendingAtSigterm = m.pendingAtSigterm;
      }
    });
    const hostExit = new Promise<number | null>((resolve) => host.on('exit', (code) => resolve(code)));
    t.after(() => {
      if (host.exitCode === null) host.kill('SIGKILL');
    });

    await waitUntil('the consumer to hold entries and the host to have recorded a while', async () => ledger.produced >= scaled(300) && hostPending > 0 && (await consumer.metric('witness_buffered_entries')) > 0, 60_000);
    const buffered = await consumer.metric('witness_buffered_entries');
    t.diagnostic(`SIGTERM to both with ${ledger.produced} recorded and ${buffered} entries buffered in the consumer`);
    host.kill('SIGTERM');
    await consumer.stop();
    assert.equal(await hostExit, 0, 'the producer host exits 0');
    assert.ok(report, 'the host reported its final stats');
    t.diagnostic(`producer host: ${pendingAtSigterm} entries pending at SIGTERM, close() delivered them in ${closeMs} ms; stats ${JSON.stringify(report.stats)}`);
    assert.ok(pendingAtSigterm > 0, 'the host had entries pending when SIGTERM came');
    assert.equal(report.stats.pending, 0);
    assert.equal(report.stats.dropped.send_failed, 0, 'close() delivered everything pending');
    assert.match(consumer.log(), /"drained":true/, 'the consumer drained what it held before exiting');
    // Everything the stopped consumer committed is written: its buffer went to Qdrant, not away.
    const points = (await pipeline.qdrantClient.count(names.collection, { exact: true })).count;
    assert.equal(await committed(names.groupId, names.topic), points, 'committed = written after the graceful stop');

    // What was recorded after the consumer stopped fetching is still in Kafka: a new consumer takes it.
    const next = await pipeline.consumer(names);
    await next.start();
    await pipeline.waitDrained(names);
    await pipeline.verify(ledger, names, { producers: [report], print: (line) => t.diagnostic(line) });
    await next.stop();
  });
});
