// recordCritical(): resolved means the broker has it (acks=all), so a reader finds it;
// an unreachable broker means a typed timeout within the bound, never a hang.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { InvalidEntryError } from '@witnesslog/schemas';
import { CriticalTimeoutError, createWitnessProducer, producerMetricNames } from '@witnesslog/producer';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { entry } from '../../../test/support/entries.js';
import { consumeAll, deleteTopics } from '../../../test/support/producer-kafka.js';
import { samples } from '../../../test/support/metrics.js';
import { freePort } from '../../../test/support/net.js';
import { collectUnhandledRejections } from '../../../test/support/unhandled.js';

const topics: string[] = [];
const unhandled = collectUnhandledRejections();
after(async () => {
  unhandled.stop();
  await deleteTopics(brokers, topics);
});

test('recordCritical resolves once the broker acknowledged: the entry is then readable', { timeout: 120_000 }, async (t) => {
  const topic = uniqueName('producer-critical');
  topics.push(topic);
  const registry = new Registry();
  // A linger far longer than the test: a critical entry must not wait for it.
  const producer = createWitnessProducer({ brokers, topic, registry, lingerMs: 60_000, maxBatchEntries: 100_000 });
  t.after(() => producer.close());
  const session = randomUUID();
  const routine = entry(session);
  const incident = entry(session, { failed: true });
  assert.equal(producer.record(routine), true);

  await producer.recordCritical(incident);
  const s = producer.stats();
  assert.equal(s.delivered, 2, 'the critical entry and the one queued before it (same session, kept in order)');
  assert.equal(s.pending, 0);

  // Read it with a fresh consumer right after the promise resolved.
  const consumed = await consumeAll(brokers, topic, 2);
  assert.deepEqual(
    consumed.map((c) => c.entry.request_id),
    [routine.request_id, incident.request_id],
  );
  assert.equal(consumed[1]!.entry.error?.code, 'CUDA_OOM');
  assert.equal((await samples(registry)).get(`${producerMetricNames.criticalWriteDuration}_count`), 1);
  await producer.close();
  assert.deepEqual(unhandled.errors, []);
});

test('recordCritical rejects invalid entries with InvalidEntryError, counted as invalid', { timeout: 120_000 }, async (t) => {
  const producer = createWitnessProducer({ brokers, topic: uniqueName('producer-critical-invalid') });
  t.after(() => producer.close());
  const bad = { ...entry(randomUUID()), request_id: 'not-a-uuid' };
  await assert.rejects(producer.recordCritical(bad), (err) => err instanceof InvalidEntryError && err.field === 'request_id');
  await assert.rejects(producer.recordCritical(null as never), InvalidEntryError);
  assert.equal(producer.stats().dropped.invalid, 2);
  assert.equal(producer.stats().total, 0);
  await producer.close();
});

test('recordCritical rejects with CriticalTimeoutError within the bound when the broker is unreachable', { timeout: 120_000 }, async (t) => {
  const port = await freePort(); // nothing listens there
  const criticalTimeoutMs = 1_500;
  const producer = createWitnessProducer({
    brokers: [`127.0.0.1:${port}`],
    topic: uniqueName('producer-critical-down'),
    criticalTimeoutMs,
    maxQueueDepth: 10,
    flushTimeoutMs: 500,
  });
  t.after(() => producer.close());
  // A full queue does not shut out critical entries: they are bounded by their timeout and the byte cap.
  const session = randomUUID();
  for (let i = 0; i < 10; i++) producer.record(entry(session));
  assert.equal(producer.record(entry(session)), false);

  const incident = entry(session, { failed: true });
  const started = performance.now();
  const error = await producer.recordCritical(incident).then(
    () => assert.fail('resolved without a broker'),
    (err: unknown) => err,
  );
  const took = performance.now() - started;
  assert.ok(error instanceof CriticalTimeoutError, `got ${String(error)}`);
  assert.equal(error.code, 'WITNESS_CRITICAL_TIMEOUT');
  assert.equal(error.retriable, true);
  assert.equal(error.requestId, incident.request_id);
  assert.ok(took >= criticalTimeoutMs - 5 && took < criticalTimeoutMs + 500, `rejected after ${took.toFixed(0)} ms`);

  // Timed out is not dropped: it stays pending until close() gives up on it, counted.
  assert.equal(producer.stats().pending, 11);
  await producer.close();
  const s = producer.stats();
  assert.equal(s.dropped.send_failed, 11);
  assert.equal(s.total, s.delivered + s.dropped.send_failed + s.pending);
  assert.deepEqual(unhandled.errors, []);
});
