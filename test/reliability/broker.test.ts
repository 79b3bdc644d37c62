// The Kafka broker fails under the pipeline (scenarios 1 and 6 of issue 8): SIGKILL
// during a steady stream from several producers, and a long outage seen from one
// producer. The broker is this file's own (free ports, temporary folder), killed
// and restarted on the same data; the consumer is a real service process.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectUnhandledRejections } from '../support/unhandled.js';
import { Ledger } from '../support/reliability/ledger.js';
import { scaled, steadyLoad, type NamedProducer, suiteTimeoutMs } from '../support/reliability/load.js';
import { mib, startOwnPipeline, waitUntil, type OwnPipeline } from '../support/reliability/pipeline.js';

let pipeline: OwnPipeline;
const unhandled = collectUnhandledRejections();
before(async () => {
  pipeline = await startOwnPipeline();
});
after(async () => {
  unhandled.stop();
  await pipeline?.cleanup();
});

describe('Kafka broker failures', { timeout: suiteTimeoutMs() }, () => {
  test('1. broker SIGKILLed and restarted during a steady stream from 3 producers', async (t) => {
    const ledger = new Ledger('broker-kill');
    const names = pipeline.names('rel-brokerkill');
    await pipeline.createTopic(names, 6);
    const consumer = await pipeline.consumer(names);
    await consumer.start();
    const producers = [0, 1, 2].map((i) => ({ name: `producer-${i}`, ...pipeline.producer(names) }));
    const load = steadyLoad(ledger, producers as NamedProducer[], scaled(60));

    await waitUntil('the stream to reach Qdrant', async () => (await consumer.metric('witness_entries_upserted_total')) >= 100, 60_000);
    t.diagnostic(`killing the broker after ${load.recorded} entries`);
    await pipeline.broker.service.kill();
    // Down long enough that every producer's requests fail and the consumer loses its group.
    await waitUntil('every producer to notice', () => producers.every((p) => !p.producer.stats().connected), 30_000);
    await sleep(scaled(3_000));
    const started = performance.now();
    await pipeline.broker.service.start();
    t.diagnostic(`broker back after ${((performance.now() - started) / 1000).toFixed(1)} s of restart; ${load.recorded} entries recorded`);
    const atRestart = producers.map((p) => p.producer.stats().delivered);
    await waitUntil('every producer to deliver again', () => producers.every((p, i) => p.producer.stats().delivered > atRestart[i]!), 90_000);
    await waitUntil('the consumer to catch up', async () => (await pipeline.lag(names)) < scaled(100), 120_000);
    await load.stop();

    for (const p of producers) await p.producer.flush();
    await pipeline.waitDrained(names);
    assert.ok(consumer.service.running(), 'the consumer service survived the broker outage');
    const tally = await pipeline.verify(ledger, names, { producers, print: (line) => t.diagnostic(line) });
    assert.equal(tally.deadLettered, 0, 'an outage dead-letters nothing');
    assert.deepEqual(unhandled.errors, []);
    await consumer.stop();
  });

  test('6. a producer with the broker unreachable for a long stretch: record() stays flat, memory bounded, drops exact, delivery resumes', async (t) => {
    const ledger = new Ledger('producer-broker-unreachable');
    const names = pipeline.names('rel-unreachable');
    await pipeline.createTopic(names, 3);
    const consumer = await pipeline.consumer(names);
    await consumer.start();
    const maxQueueDepth = 400;
    const maxQueueBytes = 1024 * 1024;
    const { producer, registry } = pipeline.producer(names, { maxQueueDepth, maxQueueBytes });
    const rate = scaled(200);

    /** Records at `rate` for `ms`, timing each record() call alone; checks the bounds as it goes. */
    const timedStream = async (ms: number) => {
      const times: number[] = [];
      const end = Date.now() + ms;
      let maxPending = 0;
      let maxPendingBytes = 0;
      while (Date.now() < end) {
        for (let i = 0; i < rate / 50; i++) {
          const entry = ledger.entry();
          const t0 = performance.now();
          const accepted = producer.record(entry);
          times.push(performance.now() - t0);
          // The reason of a refusal, without putting stats() inside the timed call.
          ledger.note('producer', entry, accepted ? { accepted } : { accepted, reason: lastRefusal() });
          const s = producer.stats();
          maxPending = Math.max(maxPending, s.pending);
          maxPendingBytes = Math.max(maxPendingBytes, s.pending_bytes);
        }
        await sleep(20);
      }
      times.sort((a, b) => a - b);
      const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))]!;
      return { calls: times.length, p50: pct(0.5), p99: pct(0.99), maxPending, maxPendingBytes };
    };
    let refusals = { invalid: 0, queue_full: 0, closed: 0 };
    const lastRefusal = () => {
      const d = producer.stats().dropped;
      const reason = (['invalid', 'queue_full', 'closed'] as const).find((r) => d[r] === refusals[r] + 1);
      refusals = { invalid: d.invalid, queue_full: d.queue_full, closed: d.closed };
      if (reason === undefined) throw new Error('a refusal moved no drop counter');
      return reason;
    };

    // Warm up (connection, topic metadata, JIT), then the baseline with the broker up.
    await timedStream(1_000);
    await producer.flush();
    const baseline = await timedStream(scaled(3_000));
    await producer.flush();
    const heapBefore = process.memoryUsage().heapUsed;
    t.diagnostic(`baseline: ${baseline.calls} calls, record() p50 ${baseline.p50.toFixed(4)} ms, p99 ${baseline.p99.toFixed(4)} ms`);

    await pipeline.broker.service.kill();
    const outage = await timedStream(scaled(10_000));
    const heapDuring = process.memoryUsage().heapUsed;
    const s = producer.stats();
    t.diagnostic(
      `outage: ${outage.calls} calls, record() p50 ${outage.p50.toFixed(4)} ms, p99 ${outage.p99.toFixed(4)} ms; ` +
        `pending max ${outage.maxPending} (cap ${maxQueueDepth}), bytes max ${outage.maxPendingBytes}; dropped ${JSON.stringify(s.dropped)}; ` +
        `heap ${mib(heapBefore)} -> ${mib(heapDuring)} MiB`,
    );
    assert.equal(s.connected, false, 'the producer noticed the outage');
    assert.ok(outage.maxPending <= maxQueueDepth, 'the queue stays within maxQueueDepth');
    assert.ok(outage.maxPendingBytes <= maxQueueBytes, 'the queue stays within maxQueueBytes');
    assert.ok(s.dropped.queue_full > outage.calls / 2, 'most of the outage was refused as queue_full');
    // Flat: the same order of cost as with the broker up. The factor and the floor are
    // generous (a busy 2-core machine, GC); waiting on the network would cost milliseconds.
    assert.ok(outage.p50 <= baseline.p50 * 5 + 0.05, `record() p50 ${outage.p50} ms during the outage vs ${baseline.p50} ms before`);
    assert.ok(outage.p99 <= baseline.p99 * 5 + 0.5, `record() p99 ${outage.p99} ms during the outage vs ${baseline.p99} ms before`);
    // The ledger keeps every entry it made (~1 KB each); the producer must add no more than its caps.
    assert.ok(heapDuring - heapBefore < 64 * 1024 * 1024, `heap grew by ${mib(heapDuring - heapBefore)} MiB during the outage`);

    await pipeline.broker.service.start();
    await waitUntil('the queue to drain by itself', () => producer.stats().pending === 0, 90_000);
    await timedStream(1_000);
    await producer.flush();
    await pipeline.waitDrained(names);
    const tally = await pipeline.verify(ledger, names, { producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    assert.equal(tally.dropped.queue_full, producer.stats().dropped.queue_full);
    assert.deepEqual(unhandled.errors, []);
    await consumer.stop();
  });
});
