// The broker dies mid-stream (SIGKILL, no goodbye) and comes back. Meanwhile record()
// keeps returning at once, the queue stops at maxQueueDepth, every refused entry is
// counted, and afterwards the queue drains and the topic holds exactly what was
// counted as delivered.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { createWitnessProducer, type WitnessProducer } from '@witnesslog/producer';
import { uniqueName } from '../../../test/support/env.js';
import { startOwnBroker, type OwnBroker } from '../../../test/support/broker.js';
import { entry } from '../../../test/support/entries.js';
import { consumeAll, entryCount } from '../../../test/support/producer-kafka.js';
import { assertMetricsMatch } from '../../../test/support/producer-metrics.js';
import { collectUnhandledRejections } from '../../../test/support/unhandled.js';

let broker: OwnBroker;
const unhandled = collectUnhandledRejections();
before(async () => {
  broker = await startOwnBroker();
});
after(async () => {
  unhandled.stop();
  await broker?.cleanup();
});

const MAX_DEPTH = 200;

test('broker killed and restarted: record() stays instant, drops are counted exactly, delivery resumes', { timeout: 120_000 }, async (t) => {
  const t0 = performance.now();
  const phase = (what: string) => t.diagnostic(`${what} at ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(producer.stats())}`);
  const topic = uniqueName('producer-outage');
  const registry = new Registry();
  const producer = createWitnessProducer({
    brokers: broker.brokers,
    topic,
    registry,
    maxQueueDepth: MAX_DEPTH,
    // Short enough for a test: a failed produce request is noticed within a few seconds
    // and the drain starts soon after the broker is back.
    requestTimeoutMs: 3_000,
    retryMaxMs: 1_000,
    flushTimeoutMs: 60_000,
  });
  t.after(() => producer.close());
  const sessions = Array.from({ length: 5 }, () => randomUUID());
  let attempts = 0;
  let accepted = 0;
  const callMs: number[] = [];

  const record = (i: number, timed: boolean) => {
    const e = entry(sessions[i % sessions.length]!, { failed: i % 10 === 0 });
    const t0 = performance.now();
    const ok = producer.record(e);
    if (timed) callMs.push(performance.now() - t0);
    attempts += 1;
    if (ok) accepted += 1;
    return ok;
  };
  const checkCounts = (where: string) => {
    const s = producer.stats();
    assert.equal(s.total, accepted, `${where}: accepted`);
    assert.equal(s.total, s.delivered + s.dropped.send_failed + s.pending, `${where}: recorded = delivered + send_failed + pending`);
    assert.equal(s.dropped.queue_full, attempts - accepted, `${where}: queue_full = attempts - accepted`);
    assert.equal(s.attempted, attempts, `${where}: attempted`);
    assert.ok(s.pending <= MAX_DEPTH, `${where}: pending ${s.pending} <= ${MAX_DEPTH}`);
    return s;
  };

  // 1. Broker up: a normal stream (also warms up the code paths that are timed later),
  // once the lazy connection and the topic exist.
  record(0, false);
  await producer.flush();
  for (let i = 1; i < 300; i++) {
    // Paced so a busy machine (test files run in parallel) never fills the small queue here.
    while (producer.stats().pending > MAX_DEPTH / 2) await sleep(5);
    record(i, false);
  }
  await producer.flush();
  let s = checkCounts('before the outage');
  assert.equal(s.delivered, 300);
  await assertMetricsMatch(registry, s);

  // 2. SIGKILL the broker and keep recording, as a serving node would.
  phase('killing the broker');
  await broker.service.kill();
  let sawFull = false;
  for (let i = 0; i < 2_000; i++) {
    record(i, true);
    if (producer.stats().pending === MAX_DEPTH) sawFull = true;
    if (i % 100 === 99) {
      checkCounts(`outage, after ${i + 1} attempts`);
      await sleep(20);
    }
  }
  s = checkCounts('end of the outage');
  assert.ok(sawFull, 'the queue filled up to maxQueueDepth');
  assert.equal(s.pending, MAX_DEPTH);
  assert.ok(s.dropped.queue_full > 1_000, `most of the outage's entries were refused (${s.dropped.queue_full})`);
  assert.equal(s.dropped.send_failed, 0, 'a broker outage is retried, not counted as send_failed');
  // The first produce request to fail (kafkajs retries it briefly) marks the producer disconnected.
  const noticed = Date.now() + 15_000;
  while (producer.stats().connected && Date.now() < noticed) await sleep(50);
  assert.equal(producer.stats().connected, false, 'the producer noticed the broker is gone');
  // Nothing moves without a broker: a quiet moment to compare the metrics.
  await assertMetricsMatch(registry, checkCounts('outage, quiet'));

  const sorted = [...callMs].sort((a, b) => a - b);
  // A call that waited on the network would take at least kafkajs's request
  // timeouts (hundreds of ms); the bounds leave room for a GC pause or a busy
  // machine, not for waiting. The speed figures themselves are bench/'s job.
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
  const max = sorted[sorted.length - 1]!;
  assert.ok(max < 100, `slowest record() during the outage took ${max.toFixed(3)} ms`);
  assert.ok(p99 < 1, `p99 record() during the outage took ${p99.toFixed(3)} ms`);
  assert.ok(median < 0.1, `median record() during the outage took ${median.toFixed(4)} ms`);

  // 3. The broker returns: the queue drains without anyone calling anything.
  const beforeRestart = producer.stats();
  phase('restarting the broker');
  await broker.service.start();
  phase('broker ready');
  const deadline = Date.now() + 60_000;
  while (producer.stats().pending > 0 && Date.now() < deadline) await sleep(100);
  phase('drained');
  s = checkCounts('after the restart');
  assert.equal(s.pending, 0, 'the queue drained');
  assert.equal(s.delivered, beforeRestart.delivered + beforeRestart.pending);
  assert.equal(s.connected, true);

  // And new entries flow again.
  for (let i = 0; i < 50; i++) assert.equal(record(i, false), true);
  await producer.flush();
  s = checkCounts('after new entries');
  await assertMetricsMatch(registry, s);
  await producer.close();
  phase('closed');

  // What the topic holds is exactly what was counted as delivered: no loss, no duplicate.
  assert.equal(await entryCount(broker.brokers, topic), s.delivered, 'entries on the topic (the checkpoints left out)');
  const consumed = await consumeAll(broker.brokers, topic, s.delivered, 60_000);
  assert.equal(new Set(consumed.map((c) => c.entry.request_id)).size, s.delivered);
  assert.deepEqual(unhandled.errors, []);
});

test('a producer pointed at a dead broker never blocks and close() gives up within flushTimeoutMs', { timeout: 120_000 }, async (t) => {
  await broker.service.kill();
  const producer: WitnessProducer = createWitnessProducer({
    brokers: broker.brokers,
    topic: uniqueName('producer-dead'),
    maxQueueDepth: 50,
    flushTimeoutMs: 1_500,
  });
  t.after(() => producer.close());
  const session = randomUUID();
  for (let i = 0; i < 80; i++) producer.record(entry(session));
  await assert.rejects(producer.flush(), { code: 'WITNESS_FLUSH_TIMEOUT' });
  assert.equal(producer.stats().pending, 50, 'a flush timeout drops nothing');

  const started = performance.now();
  await producer.close();
  const took = performance.now() - started;
  assert.ok(took < 1_500 + 6_000, `close() took ${took.toFixed(0)} ms`);
  const s = producer.stats();
  assert.equal(s.pending, 0);
  assert.equal(s.dropped.send_failed, 50, 'what close() could not deliver is counted');
  assert.equal(s.dropped.queue_full, 30);
  assert.equal(s.total, s.delivered + s.dropped.send_failed + s.pending);
  assert.deepEqual(unhandled.errors, []);
});
