// The small parts of the send loop on their own: the queue, the backoff, and what a
// kafkajs error makes the loop do. No broker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { createBackoff } from '@witnesslog/core';
import { MessageQueue, QueuedMessage } from '../../src/queue.js';
import { classifySendError } from '../../src/kafka.js';

const message = (i: number, size = 100) => new QueuedMessage(`k${i}`, Buffer.alloc(size - `k${i}`.length, i), undefined);

test('the queue is FIFO, takes batches bounded by entries and bytes, and counts its bytes', () => {
  const q = new MessageQueue();
  for (let i = 0; i < 10; i++) q.push(message(i));
  assert.equal(q.length, 10);
  assert.equal(q.bytes, 1_000);

  const a = q.take(3, 10_000);
  assert.deepEqual(
    a.map((m) => m.key),
    ['k0', 'k1', 'k2'],
  );
  const b = q.take(100, 250); // bytes stop it after two
  assert.deepEqual(
    b.map((m) => m.key),
    ['k3', 'k4'],
  );
  const c = q.take(100, 10); // always at least one, even over the byte bound
  assert.deepEqual(
    c.map((m) => m.key),
    ['k5'],
  );
  assert.equal(q.length, 4);
  assert.equal(q.bytes, 400);
  assert.deepEqual(
    q.drain().map((m) => m.key),
    ['k6', 'k7', 'k8', 'k9'],
  );
  assert.equal(q.length, 0);
  assert.equal(q.bytes, 0);
  assert.deepEqual(q.take(10, 10_000), []);
});

test('the queue keeps order across its compaction', () => {
  const q = new MessageQueue();
  let next = 0;
  let expected = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 300; i++) q.push(message(next++));
    for (const m of q.take(250, Number.MAX_SAFE_INTEGER)) assert.equal(m.key, `k${expected++}`);
  }
  for (const m of q.drain()) assert.equal(m.key, `k${expected++}`);
  assert.equal(expected, next);
});

test('backoff doubles up to the cap, stays within [ceiling/2, ceiling], and resets', () => {
  const low = createBackoff({ initialMs: 100, maxMs: 1_000, random: () => 0 });
  assert.deepEqual(
    Array.from({ length: 6 }, () => low.next()),
    [50, 100, 200, 400, 500, 500],
  );
  const high = createBackoff({ initialMs: 100, maxMs: 1_000, random: () => 1 });
  assert.deepEqual(
    Array.from({ length: 6 }, () => high.next()),
    [100, 200, 400, 800, 1_000, 1_000],
  );
  high.reset();
  assert.equal(high.next(), 100);
  const many = createBackoff({ initialMs: 100, maxMs: 5_000 });
  for (let i = 0; i < 200; i++) {
    const d = many.next();
    assert.ok(d >= 50 && d <= 5_000, String(d));
  }
});

// As kafkajs builds them from a broker's error code: the entry of its error table carries type and retriable.
const protocolError = (type: string, retriable: boolean): Error =>
  new kafkajs.KafkaJSProtocolError(Object.assign(new Error(`broker says ${type}`), { type, retriable }));
// kafkajs's typings lag its constructors (options, cause): build these as its runtime does.
const construct = (cls: unknown, ...args: unknown[]): Error => Reflect.construct(cls as new (...a: unknown[]) => Error, args);

test('send errors: outages are retried, refusals fail, too large splits, a lost producer id resets', () => {
  // What kafkajs's retrier rejects with after its own attempts: the original in `cause`.
  const exhausted = (cause: Error) => construct(kafkajs.KafkaJSNumberOfRetriesExceeded, cause, { retryCount: 2, retryTime: 400 });

  assert.deepEqual(classifySendError(exhausted(new kafkajs.KafkaJSConnectionError('Connection error: ECONNREFUSED'))), {
    action: 'retry',
    label: 'KafkaJSConnectionError',
  });
  assert.equal(classifySendError(new kafkajs.KafkaJSRequestTimeoutError('Request Produce timed out')).action, 'retry');
  assert.equal(classifySendError(exhausted(protocolError('NOT_LEADER_OR_FOLLOWER', true))).action, 'retry');
  assert.equal(classifySendError(exhausted(protocolError('UNKNOWN_TOPIC_OR_PARTITION', true))).action, 'retry');

  assert.deepEqual(classifySendError(protocolError('MESSAGE_TOO_LARGE', false)), { action: 'split', label: 'MESSAGE_TOO_LARGE' });
  assert.deepEqual(
    classifySendError(construct(kafkajs.KafkaJSNonRetriableError, protocolError('TOPIC_AUTHORIZATION_FAILED', false), { cause: protocolError('TOPIC_AUTHORIZATION_FAILED', false) })),
    { action: 'fail', label: 'TOPIC_AUTHORIZATION_FAILED' },
  );
  assert.equal(classifySendError(construct(kafkajs.KafkaJSSASLAuthenticationError, 'SASL PLAIN authentication failed')).action, 'fail');
  assert.equal(classifySendError(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', false)).action, 'reset');
  assert.equal(classifySendError(protocolError('UNKNOWN_PRODUCER_ID', false)).action, 'reset');

  // Not a kafkajs error at all: a bug that would fail the same batch forever.
  assert.deepEqual(classifySendError(new TypeError('x is not a function')), { action: 'fail', label: 'TypeError' });
  assert.equal(classifySendError(undefined).action, 'fail');
});
