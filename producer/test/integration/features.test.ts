// sampleRate, the redact hook and WITNESS_* configuration (issue 14, point 6), and
// kafkajs's log level under its own key (point 8).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createWitnessProducer, InvalidOptionError, RedactFailedError } from '@witnesslog/producer';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { freePort } from '../../../test/support/net.js';
import { entry } from '../../../test/support/entries.js';
import { consumeAll, deleteTopics } from '../../../test/support/producer-kafka.js';

test('sampleRate keeps about that share, always keeps errors, and counts the rest as sampled_out', async (t) => {
  const producer = createWitnessProducer({ brokers: [`127.0.0.1:${await freePort()}`], sampleRate: 0.25, env: {}, flushTimeoutMs: 500 });
  t.after(() => producer.close());
  let kept = 0;
  for (let i = 0; i < 4_000; i++) if (producer.record(entry(randomUUID()))) kept += 1;
  for (let i = 0; i < 100; i++) assert.equal(producer.record(entry(randomUUID(), { failed: true })), true, 'an entry with an error is kept');
  const s = producer.stats();
  assert.equal(s.sample_rate, 0.25);
  assert.ok(kept > 800 && kept < 1_200, `kept ${kept} of 4,000 at 0.25`);
  assert.equal(s.dropped.sampled_out, 4_000 - kept);
  assert.equal(s.total, kept + 100);
  assert.equal(s.attempted, 4_100);
});

test('the redact hook changes what is sent; a hook that throws drops the entry, counted, never thrown', { timeout: 120_000 }, async (t) => {
  const topic = uniqueName('producer-redact');
  t.after(() => deleteTopics(brokers, [topic]));
  const producer = createWitnessProducer({
    brokers,
    topic,
    env: {},
    redact: (e) => {
      if (e.tags.includes('explode')) throw new Error('hook bug');
      e.tags = e.tags.filter((tag) => !tag.startsWith('email:'));
      if (e.error) e.error.stack_trace = null;
      return e;
    },
  });
  t.after(() => producer.close());
  const session = randomUUID();
  const original = entry(session, { failed: true, tags: ['email:a@b.c', 'prod'] });
  const withStack = { ...original, error: { ...original.error!, stack_trace: 'at secret (/home/alice/app.ts:1)' } };
  assert.equal(producer.record(withStack), true);
  assert.deepEqual(withStack.tags, ['email:a@b.c', 'prod'], "the caller's object is left alone");
  assert.equal(producer.record(entry(session, { tags: ['explode'] })), false);
  await assert.rejects(producer.recordCritical(entry(session, { tags: ['explode'] })), RedactFailedError);
  await producer.flush();
  const s = producer.stats();
  assert.equal(s.dropped.redact_failed, 2);
  assert.equal(s.delivered, 1);
  const [got] = await consumeAll(brokers, topic, 1);
  assert.deepEqual(got!.entry.tags, ['prod']);
  assert.equal(got!.entry.error!.stack_trace, null);
});

test('WITNESS_* variables configure the producer; explicit options win; a bad one is named', async () => {
  const port = await freePort();
  const fromEnv = createWitnessProducer({ env: { WITNESS_KAFKA_BROKERS: `127.0.0.1:${port}`, WITNESS_TOPIC: 'from-env', WITNESS_SAMPLE_RATE: '0.5' } });
  assert.equal(fromEnv.stats().sample_rate, 0.5);
  await fromEnv.close();
  const explicit = createWitnessProducer({ sampleRate: 1, env: { WITNESS_KAFKA_BROKERS: `127.0.0.1:${port}`, WITNESS_SAMPLE_RATE: '0.5' } });
  assert.equal(explicit.stats().sample_rate, 1);
  await explicit.close();
  const named = (variable: string, env: Record<string, string>) =>
    assert.throws(() => createWitnessProducer({ env: { WITNESS_KAFKA_BROKERS: `127.0.0.1:${port}`, ...env } }), (err: unknown) => {
      assert.ok(err instanceof InvalidOptionError);
      assert.equal(err.option, variable);
      assert.ok(!err.message.includes('hunter2'), 'the password is never echoed');
      return true;
    });
  named('WITNESS_SAMPLE_RATE', { WITNESS_SAMPLE_RATE: '2' });
  named('WITNESS_KAFKA_SSL', { WITNESS_KAFKA_SSL: 'maybe' });
  named('WITNESS_KAFKA_SASL_MECHANISM', { WITNESS_KAFKA_SASL_MECHANISM: 'rot13', WITNESS_KAFKA_SASL_USERNAME: 'u', WITNESS_KAFKA_SASL_PASSWORD: 'hunter2' });
  named('WITNESS_KAFKA_SASL_PASSWORD', { WITNESS_KAFKA_SASL_MECHANISM: 'plain', WITNESS_KAFKA_SASL_USERNAME: 'u' });
  named('WITNESS_KAFKA_SASL_MECHANISM', { WITNESS_KAFKA_SASL_PASSWORD: 'hunter2' });
  named('WITNESS_KAFKA_BROKERS', { WITNESS_KAFKA_BROKERS: 'nohost' });
  assert.throws(() => createWitnessProducer({ env: {} }), { option: 'brokers' });
});

test('an old variable name still works, with one warning naming its replacement; with both set the new one wins', async () => {
  const port = await freePort();
  const warnings: Array<[Record<string, unknown>, string]> = [];
  const logger = { debug() {}, info() {}, error() {}, warn: (obj: object, msg?: string) => warnings.push([obj as Record<string, unknown>, msg ?? '']) };
  const producer = createWitnessProducer({
    logger,
    env: { WITNESS_BROKERS: `[::1]:${port}`, WITNESS_SAMPLE_RATE: '0.5', WITNESS_SSL: 'true', WITNESS_KAFKA_SSL: 'false' },
  });
  assert.equal(producer.stats().sample_rate, 0.5);
  await producer.close();
  const deprecations = warnings.filter(([obj]) => obj.variable !== undefined);
  assert.deepEqual(
    deprecations.map(([obj, msg]) => [obj.variable, obj.replacement, msg]),
    [
      ['WITNESS_BROKERS', 'WITNESS_KAFKA_BROKERS', 'WITNESS_BROKERS is deprecated: rename it to WITNESS_KAFKA_BROKERS'],
      ['WITNESS_SSL', 'WITNESS_KAFKA_SSL', 'WITNESS_SSL is deprecated and ignored: WITNESS_KAFKA_SSL is also set and wins; remove WITNESS_SSL'],
    ],
  );
});

test("kafkajs's own log lines carry no second `level` key", async (t) => {
  const lines: Record<string, unknown>[] = [];
  const keep = (obj: object) => lines.push(obj as Record<string, unknown>);
  const producer = createWitnessProducer({
    brokers: [`127.0.0.1:${await freePort()}`], // nothing listens: kafkajs logs connection errors
    env: {},
    flushTimeoutMs: 500,
    logger: { debug: keep, info: keep, warn: keep, error: keep },
  });
  t.after(() => producer.close());
  producer.record(entry(randomUUID()));
  const deadline = Date.now() + 10_000;
  while (!lines.some((l) => l.kafkajs !== undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const fromKafkajs = lines.filter((l) => l.kafkajs !== undefined);
  assert.ok(fromKafkajs.length > 0, 'kafkajs logged something');
  for (const l of fromKafkajs) {
    assert.equal('level' in l, false, JSON.stringify(l));
    assert.match(String(l.kafkajs_level), /^(ERROR|WARN|INFO|DEBUG)$/);
  }
  await producer.close();
});
