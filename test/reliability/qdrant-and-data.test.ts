// Qdrant fails under load, the topic carries poison, and the pipeline runs for a
// while (scenarios 3, 4, 5 and 9 of issue 8). They run side by side on this file's
// broker; the two that break Qdrant have a Qdrant server of their own (stopped, or
// slowed down by a fault-injecting proxy), the others share the file's one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { Ledger, POISON_KINDS } from '../support/reliability/ledger.js';
import { SCALE, scaled, steadyLoad, suiteTimeoutMs } from '../support/reliability/load.js';
import { memoryOf, mib, startOwnPipeline, waitUntil, type OwnPipeline } from '../support/reliability/pipeline.js';
import { startSlowProxy } from '../support/slow-proxy.js';

let pipeline: OwnPipeline;
before(async () => {
  pipeline = await startOwnPipeline();
});
after(async () => {
  await pipeline?.cleanup();
});

const average = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

describe('Qdrant failures, poison, soak', { concurrency: true, timeout: suiteTimeoutMs(Number(process.env.WITNESS_SOAK_SECONDS ?? 0) * 1000) }, () => {
  test('3. Qdrant down for 30 s under load: consumption pauses, memory stays bounded, nothing is lost, lag drains', async (t) => {
    const ledger = new Ledger('qdrant-down');
    const names = pipeline.names('rel-qdrantdown');
    await pipeline.createTopic(names, 3);
    const qdrant = await pipeline.ownQdrant();
    const cap = 200;
    const consumer = await pipeline.consumer(names, {
      WITNESS_QDRANT_URL: qdrant.url,
      WITNESS_QDRANT_TIMEOUT_MS: '3000',
      WITNESS_BATCH_MAX_ENTRIES: '50',
      WITNESS_MAX_BUFFERED_ENTRIES: String(cap),
    });
    await consumer.start();
    const { producer, registry } = pipeline.producer(names);
    const load = steadyLoad(ledger, [{ name: 'producer', producer }], scaled(50));
    await waitUntil('the first writes', async () => (await consumer.metric('witness_entries_upserted_total')) >= 50, 60_000);

    await qdrant.service.stop();
    const outageMs = Math.max(30_000, scaled(30_000));
    const samples: Array<{ at: number; rss: number; heap: number; buffered: number; paused: number; waiting: number; lag: number }> = [];
    const end = Date.now() + outageMs;
    while (Date.now() < end) {
      const text = await consumer.metrics();
      const memory = await memoryOf(consumer);
      const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      samples.push({
        at: outageMs - (end - Date.now()),
        rss: memory?.rss ?? NaN,
        heap: memory?.heap ?? NaN,
        buffered: num('witness_buffered_entries'),
        paused: num('witness_consumer_paused'),
        waiting: num('witness_qdrant_waiting'),
        lag: await pipeline.lag(names),
      });
      await sleep(1_000);
    }
    const first = samples[0]!;
    const late = samples.slice(Math.floor(samples.length / 2));
    const lastSample = samples[samples.length - 1]!;
    t.diagnostic(
      `outage ${outageMs / 1000} s: buffered max ${Math.max(...samples.map((s) => s.buffered))} (cap ${cap}), ` +
        `rss ${mib(first.rss)} -> max ${mib(Math.max(...samples.map((s) => s.rss)))} MiB, lag ${first.lag} -> ${lastSample.lag}`,
    );
    assert.ok(late.every((s) => s.paused === 1 && s.waiting === 1), 'fetching paused and the writer waiting for Qdrant in the second half of the outage');
    // Bounded: the cap plus at most one fetched batch per partition, and flat once paused.
    assert.ok(samples.every((s) => s.buffered <= cap + 1_000), 'the buffer stays bounded');
    assert.ok(late.every((s) => s.buffered === late[0]!.buffered), 'nothing more is buffered once paused');
    assert.ok(Math.max(...late.map((s) => s.rss)) - first.rss < 100 * 1024 * 1024, 'RSS stays within 100 MiB of where the outage began');
    assert.ok(lastSample.lag > first.lag + scaled(50) * 10, 'the lag grows in Kafka, not in the consumer');

    await qdrant.service.start();
    await waitUntil('the consumer to resume', async () => (await consumer.metric('witness_consumer_paused')) === 0, 120_000);
    await load.stop();
    await producer.flush();
    await pipeline.waitDrained(names);
    const tally = await pipeline.verify(ledger, names, { qdrant: qdrant.client, producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    assert.equal(tally.deadLettered, 0, 'an outage dead-letters nothing');
    assert.ok((await consumer.metric('witness_consumer_pauses_total')) >= 1);
    assert.ok(consumer.service.running(), 'the service stayed up through the outage');
    await consumer.stop();
  });

  test('4. Qdrant slow (answers delayed by a proxy): backpressure engages, no timeout storm, no duplicate explosion', async (t) => {
    const ledger = new Ledger('qdrant-slow');
    const names = pipeline.names('rel-qdrantslow');
    await pipeline.createTopic(names, 3);
    const qdrant = await pipeline.ownQdrant();
    const target = new URL(qdrant.url);
    const proxy = await startSlowProxy({ host: target.hostname, port: Number(target.port) }, 0);
    t.after(() => proxy.close());
    const consumer = await pipeline.consumer(names, {
      WITNESS_QDRANT_URL: proxy.url,
      // Well above the delay: slow is not down, and must not be treated as down.
      WITNESS_QDRANT_TIMEOUT_MS: '5000',
      WITNESS_BATCH_MAX_ENTRIES: '25',
      WITNESS_MAX_BUFFERED_ENTRIES: '100',
    });
    await consumer.start();
    // Every answer 500 ms late: at most 25 entries per half second reach Qdrant, below the load.
    proxy.delayMs = 500;
    const { producer, registry } = pipeline.producer(names);
    const load = steadyLoad(ledger, [{ name: 'producer', producer }], scaled(80));
    await waitUntil('backpressure to engage', async () => (await consumer.metric('witness_consumer_pauses_total')) >= 1, 60_000);
    await sleep(scaled(8_000));
    await load.stop();
    await producer.flush();
    const lagAtEnd = await pipeline.lag(names);
    proxy.delayMs = 0;
    await pipeline.waitDrained(names);
    const tally = await pipeline.verify(ledger, names, { qdrant: qdrant.client, producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    const text = await consumer.metrics();
    const metric = (name: string, labels = '') => Number(new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const timeouts = metric('witness_qdrant_write_errors_total', '{kind="timeout"}');
    const retries = [...text.matchAll(/^witness_qdrant_write_retries_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const upserted = metric('witness_entries_upserted_total');
    t.diagnostic(`lag when the load stopped ${lagAtEnd}; timeouts ${timeouts}, retries ${retries}, upserts ${upserted} for ${tally.stored} points, ${proxy.connections} connections`);
    assert.ok(lagAtEnd > 0, 'the backlog waited in Kafka');
    assert.equal(timeouts, 0, 'no write timed out');
    assert.equal(retries, 0, 'no write was retried');
    assert.equal(upserted, tally.stored, 'every point written once: no duplicates from retries');
    assert.ok(proxy.connections <= 10, `the consumer kept its connections (${proxy.connections} opened)`);
    await consumer.stop();
  });

  test('5. poison on every partition, interleaved with good entries: all poison dead-lettered with its reason, all good stored, no partition stalls', async (t) => {
    const ledger = new Ledger('poison');
    const names = pipeline.names('rel-poison');
    const partitions = 4;
    await pipeline.createTopic(names, partitions);
    const consumer = await pipeline.consumer(names, { WITNESS_BATCH_MAX_ENTRIES: '50' });
    await consumer.start();
    const { producer, registry } = pipeline.producer(names);
    const kafka = new kafkajs.Kafka({ brokers: pipeline.broker.brokers, clientId: 'poison-writer', logLevel: kafkajs.logLevel.NOTHING });
    const raw = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await raw.connect();
    t.after(() => raw.disconnect());
    let poison = 0;
    for (let round = 0; round < scaled(3); round++) {
      for (let i = 0; i < 60; i++) ledger.record('producer', producer);
      await producer.flush();
      const messages = [];
      for (let p = 0; p < partitions; p++) {
        for (const kind of POISON_KINDS) {
          const m = ledger.poison(kind);
          messages.push({ partition: p, key: `poison-${kind}`, value: m.value, headers: m.headers });
        }
      }
      await raw.send({ topic: names.topic, acks: -1, messages });
      poison += messages.length;
    }
    for (let i = 0; i < 60; i++) ledger.record('producer', producer);
    await producer.flush();
    await pipeline.waitDrained(names);
    const tally = await pipeline.verify(ledger, names, { producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    assert.equal(tally.poison, poison);
    assert.equal(await consumer.metric('witness_entries_dead_lettered_total'), poison, 'each poison message dead-lettered once');
    // Every partition got poison and was consumed to its end (waitDrained); none of them is behind.
    const ends = await (await pipeline.admin()).fetchTopicOffsets(names.topic);
    assert.equal(ends.length, partitions);
    assert.ok(ends.every((p) => Number(p.high) >= scaled(3) * POISON_KINDS.length), 'poison on every partition');
    await consumer.stop();
  });

  test('9. soak: sustained load, consumer memory sampled, no unbounded growth', async (t) => {
    const seconds = Number(process.env.WITNESS_SOAK_SECONDS ?? 20 * SCALE);
    assert.ok(Number.isFinite(seconds) && seconds >= 10, `WITNESS_SOAK_SECONDS=${process.env.WITNESS_SOAK_SECONDS}: expected at least 10`);
    const ledger = new Ledger('soak');
    const names = pipeline.names('rel-soak');
    await pipeline.createTopic(names, 3);
    const consumer = await pipeline.consumer(names, { WITNESS_BATCH_MAX_ENTRIES: '50' });
    await consumer.start();
    const { producer, registry } = pipeline.producer(names);
    const load = steadyLoad(ledger, [{ name: 'producer', producer }], 50);
    const samples: Array<{ rss: number; heap: number }> = [];
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      const m = await memoryOf(consumer);
      if (m) samples.push(m);
      await sleep(1_000);
    }
    await load.stop();
    await producer.flush();
    await pipeline.waitDrained(names);
    // Early window: the second fifth (after warm-up); late window: the last fifth.
    const fifth = Math.max(1, Math.floor(samples.length / 5));
    const early = samples.slice(fifth, 2 * fifth);
    const late = samples.slice(-fifth);
    const [earlyRss, lateRss] = [average(early.map((s) => s.rss)), average(late.map((s) => s.rss))];
    const [earlyHeap, lateHeap] = [average(early.map((s) => s.heap)), average(late.map((s) => s.heap))];
    t.diagnostic(
      `soak ${seconds} s, ${samples.length} samples: RSS ${mib(earlyRss)} -> ${mib(lateRss)} MiB, heap ${mib(earlyHeap)} -> ${mib(lateHeap)} MiB; ` +
        `samples ${samples.map((s) => mib(s.heap)).join(' ')}`,
    );
    await pipeline.verify(ledger, names, { producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    // Generous: GC timing alone moves the heap by tens of MiB; a leak grows with time and load.
    assert.ok(lateHeap <= earlyHeap * 1.5 + 32 * 1024 * 1024, `consumer heap grew from ${mib(earlyHeap)} to ${mib(lateHeap)} MiB`);
    assert.ok(lateRss <= earlyRss * 1.5 + 64 * 1024 * 1024, `consumer RSS grew from ${mib(earlyRss)} to ${mib(lateRss)} MiB`);
    await consumer.stop();
  });
});
