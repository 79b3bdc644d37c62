// Hostile entries (issue 13, findings 5-8): whatever object the SDK is given,
// record(), recordBatch() and recordCritical() never throw into the caller, leave no
// timer that can end the process, and read each field once, so an entry cannot pass
// validation with one value and be encoded or counted with another.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { createWitnessProducer, type WitnessProducer } from '@witnesslog/producer';
import { InvalidEntryError, type WitnessEntry } from '@witnesslog/schemas';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { freePort } from '../../../test/support/net.js';
import { entry } from '../../../test/support/entries.js';
import { consumeAll, deleteTopics } from '../../../test/support/producer-kafka.js';
import { collectUnhandledRejections } from '../../../test/support/unhandled.js';

/** Something thrown that throws again when anyone looks at it (finding 5). */
function hostileThrown(): unknown {
  const trap = () => {
    throw new Error('looked at the thrown value');
  };
  return new Proxy({}, { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });
}

function entryWithThrowingGetter(thrown: () => unknown): WitnessEntry {
  const e = entry(randomUUID());
  Object.defineProperty(e, 'session_id', {
    get() {
      throw thrown();
    },
  });
  return e;
}

const thrownValues: [string, () => unknown][] = [
  ['a Proxy whose every trap throws', hostileThrown],
  [
    'an object whose name and message getters throw',
    () => ({
      get name() {
        throw new Error('name');
      },
      get message() {
        throw new Error('message');
      },
    }),
  ],
  [
    'an Error subclass whose name getter throws',
    () => {
      class Nasty extends Error {
        override get name(): string {
          throw new Error('name');
        }
      }
      return new Nasty('x');
    },
  ],
];

/** An offline producer with a logger: the summary of an invalid entry is built and logged. */
function offlineProducer(port: number, extra: { criticalTimeoutMs?: number } = {}): WitnessProducer {
  const noop = () => {};
  return createWitnessProducer({
    brokers: [`127.0.0.1:${port}`],
    logger: { debug: noop, info: noop, warn: noop, error: noop },
    retryInitialMs: 1000,
    flushTimeoutMs: 500, // close() gives up the entries an offline producer holds
    ...extra,
  });
}

test('record() and recordBatch() never throw, whatever the entry or its getters throw (findings 5, 6)', async (t) => {
  const producer = offlineProducer(await freePort());
  t.after(() => producer.close());
  let invalid = 0;
  for (const [label, thrown] of thrownValues) {
    assert.equal(producer.record(entryWithThrowingGetter(thrown)), false, label);
    invalid += 1;
    const proxyEntry = new Proxy(entry(randomUUID()), {
      get() {
        throw thrown();
      },
    });
    assert.equal(producer.record(proxyEntry), false, `${label} (the whole entry a Proxy)`);
    invalid += 1;
  }
  const throwingLength = new Proxy([entry(randomUUID())], {
    get(target, key) {
      if (key === 'length') throw hostileThrown();
      return Reflect.get(target, key);
    },
  });
  assert.equal(producer.recordBatch(throwingLength), 0);
  invalid += 1;
  const throwingItem = new Proxy([entry(randomUUID()), entry(randomUUID())], {
    get(target, key) {
      if (key === '0') throw hostileThrown();
      return Reflect.get(target, key);
    },
  });
  assert.equal(producer.recordBatch(throwingItem), 1, 'the readable item is still recorded');
  invalid += 1;
  const { revoke, proxy } = Proxy.revocable([entry(randomUUID())], {});
  revoke();
  assert.equal(producer.recordBatch(proxy), 0);
  invalid += 1;
  const hugeLength = new Proxy([], { get: (target, key) => (key === 'length' ? 2 ** 40 : Reflect.get(target, key)) });
  const started = Date.now();
  assert.equal(producer.recordBatch(hugeLength as never), 0);
  assert.ok(Date.now() - started < 5_000, 'bounded work, not 2^40 iterations');
  const maxQueueDepth = 10_000;
  invalid += maxQueueDepth; // the items read: holes, each one invalid
  const s = producer.stats();
  assert.equal(s.dropped.invalid, invalid);
  assert.equal(s.dropped.queue_full, 2 ** 40 - maxQueueDepth);
  assert.equal(s.total, 1);
  assert.equal(s.attempted, invalid + s.dropped.queue_full + 1);
});

test('recordCritical() rejects instead of throwing, and leaves no timer that ends the process (finding 7)', async (t) => {
  const unhandled = collectUnhandledRejections();
  t.after(() => unhandled.stop());
  const criticalTimeoutMs = 50;
  const producer = offlineProducer(await freePort(), { criticalTimeoutMs });
  t.after(() => producer.close());
  for (const [label, thrown] of thrownValues) {
    let promise: Promise<void> | undefined;
    assert.doesNotThrow(() => {
      promise = producer.recordCritical(entryWithThrowingGetter(thrown));
    }, label);
    await assert.rejects(promise!, (err: unknown) => err instanceof InvalidEntryError, label);
  }
  // Had a timer been armed for them, its CriticalTimeoutError would reject a promise no one holds.
  await sleep(criticalTimeoutMs * 4);
  assert.deepEqual(unhandled.errors, []);
  assert.equal(producer.stats().dropped.invalid, thrownValues.length);
  assert.equal(producer.stats().pending, 0);
});

/** A session_id that reads as a valid id twice, then as something else (finding 8). */
function shiftySession(valid: string, third: unknown): WitnessEntry {
  const e = entry(valid);
  let reads = 0;
  Object.defineProperty(e, 'session_id', {
    get() {
      reads += 1;
      return reads <= 2 ? valid : third;
    },
  });
  return e;
}

test('each field is read once: a shifting getter cannot break the byte cap (finding 8)', async (t) => {
  const maxQueueBytes = 100_000;
  const producer = createWitnessProducer({ brokers: [`127.0.0.1:${await freePort()}`], maxQueueBytes, maxBatchBytes: 65_536, retryInitialMs: 1000, flushTimeoutMs: 500 });
  t.after(() => producer.close());
  let accepted = 0;
  for (let i = 0; i < 5_000; i++) if (producer.record(shiftySession(randomUUID(), i % 2 ? undefined : 'x'.repeat(1_000_000)))) accepted += 1;
  const s = producer.stats();
  assert.ok(Number.isFinite(s.pending_bytes) && s.pending_bytes >= 0 && s.pending_bytes <= maxQueueBytes, `pending_bytes ${s.pending_bytes}`);
  assert.ok(accepted <= Math.ceil(maxQueueBytes / 3_000), `${accepted} entries of ~3.1 KB accepted under a ${maxQueueBytes}-byte cap`);
  assert.equal(s.dropped.queue_full, 5_000 - accepted);
});

test('each field is read once: the entry is sent with the values it was validated with (finding 8)', { timeout: 120_000 }, async (t) => {
  const topic = uniqueName('producer-hostile');
  t.after(() => deleteTopics(brokers, [topic]));
  const producer = createWitnessProducer({ brokers, topic });
  t.after(() => producer.close());
  const sessions = Array.from({ length: 101 }, () => randomUUID());
  for (const s of sessions) assert.equal(producer.record(shiftySession(s, 42)), true);
  await producer.flush();
  const stats = producer.stats();
  assert.equal(stats.delivered, sessions.length);
  assert.equal(stats.dropped.send_failed, 0);
  assert.equal(stats.pending_bytes, 0);
  const consumed = await consumeAll(brokers, topic, sessions.length);
  assert.deepEqual(new Set(consumed.map((c) => c.key)), new Set(sessions));
  for (const c of consumed) assert.equal(c.entry.session_id, c.key);
  await producer.close();
});
