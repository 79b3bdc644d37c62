// Checkpoints (issue 26) against the fake Kafka client (no socket): the range
// bookkeeping (merged, sorted, capped with `truncated`), seqs taken by entries
// dropped as queue_full, closed and send_failed and reported, refusals counted
// without a seq, a checkpoint sent ahead of a full queue, and close()'s final one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkpointFingerprint, createCodec, decodeCheckpoint, type WitnessCheckpoint } from '@witnesslog/schemas';
import type { WitnessProducerOptions } from '@witnesslog/producer';
import { UndeliveredRanges } from '../../src/checkpoint.js';
import { createWitnessProducerWith } from '../../src/producer.js';
import { entry } from '../../../test/support/entries.js';
import { FakeKafka, type FakeRequest } from '../../../test/support/fake-kafka-producer.js';

const DIM = 8;
const codec = createCodec({ dim: DIM });
const isCheckpoint = (r: FakeRequest) => r.values[0]!.readBigUInt64LE(2) === checkpointFingerprint;
const checkpoints = (kafka: FakeKafka): WitnessCheckpoint[] => kafka.acknowledged.filter(isCheckpoint).map((r) => decodeCheckpoint(r.values[0]!));

function producerOn(kafka: FakeKafka, options: WitnessProducerOptions = {}) {
  return createWitnessProducerWith({ brokers: ['fake:9092'], env: {}, embeddingDim: DIM, lingerMs: 0, retryInitialMs: 1, retryMaxMs: 2, checkpointIntervalMs: 3_600_000, ...options }, { kafka });
}

test('ranges: adjacent seqs of one reason merge, other reasons stay apart, a late send_failed goes in order and joins both neighbours', () => {
  const r = new UndeliveredRanges();
  r.add(2, 2, 'queue_full');
  r.add(3, 5, 'queue_full');
  r.add(6, 6, 'closed');
  r.add(10, 10, 'send_failed');
  r.add(8, 8, 'send_failed');
  r.add(9, 9, 'send_failed');
  r.add(0, 0, 'send_failed');
  assert.deepStrictEqual(r.list(), [
    { from: 0, to: 0, reason: 'send_failed' },
    { from: 2, to: 5, reason: 'queue_full' },
    { from: 6, to: 6, reason: 'closed' },
    { from: 8, to: 10, reason: 'send_failed' },
  ]);
  assert.equal(r.truncated, false);
});

test('ranges: past the cap the highest is left out and truncated stays set', () => {
  const r = new UndeliveredRanges(3);
  for (const seq of [0, 2, 4, 6]) r.add(seq, seq, 'queue_full');
  assert.deepStrictEqual(r.list().map((x) => x.from), [0, 2, 4]);
  assert.equal(r.truncated, true);
  r.add(1, 1, 'queue_full'); // merges 0..2: room again, but what was left out stays unknown
  assert.deepStrictEqual(r.list().map((x) => [x.from, x.to]), [[0, 2], [4, 4]]);
  assert.equal(r.truncated, true);
});

test('seqs: queue_full and closed drops take seqs and are reported; invalid, sampled out and redact_failed take none and are counted', async () => {
  const kafka = new FakeKafka();
  kafka.hold();
  const producer = producerOn(kafka, { maxQueueDepth: 2, maxBatchEntries: 1, redact: (e) => { if (e.session_id === 'rf') throw new Error('down'); return e; } });
  assert.equal(producer.record(entry('a0', { dim: DIM })), true); // seq 0, in flight (held)
  assert.equal(producer.record({ ...entry('bad', { dim: DIM }), quality_score: 7 }), false); // invalid: no seq
  assert.equal(producer.record(entry('rf', { dim: DIM })), false); // redact_failed: no seq
  assert.equal(producer.record(entry('a1', { dim: DIM })), true); // seq 1, queued
  assert.equal(producer.recordBatch([entry('q2', { dim: DIM }), entry('q3', { dim: DIM })]), 0); // seqs 2, 3: queue_full
  assert.equal(producer.stats().producer.last_seq, 3);
  kafka.release();
  await producer.flush();
  await producer.close();
  assert.equal(producer.record(entry('late', { dim: DIM })), false); // closed: seq 4
  const sent = kafka.acknowledged.filter((r) => !isCheckpoint(r)).flatMap((r) => r.values).map((v) => codec.decode(v).producer!.seq);
  assert.deepStrictEqual(sent, [0, 1]);
  const [final] = checkpoints(kafka);
  assert.deepStrictEqual({ ...final!, sent_at: 0 }, {
    producer_id: producer.stats().producer.id, service: producer.stats().producer.service, host: producer.stats().producer.host,
    checkpoint_seq: 0, sent_at: 0, high_seq: 3, undelivered: [{ from: 2, to: 3, reason: 'queue_full' }], truncated: false,
    refused: { invalid: 1, sampled_out: 0, redact_failed: 1 }, final: true,
  });
  assert.equal(kafka.acknowledged.find(isCheckpoint)!.keys[0], producer.stats().producer.id, 'keyed by producer id');
});

test('a checkpoint goes out while the entry queue is full, ahead of the queued entries, and send_failed seqs are reported', async () => {
  const kafka = new FakeKafka();
  kafka.failSend = (_n, request) => (isCheckpoint(request) ? undefined : new Error('refused for good'));
  kafka.hold();
  const producer = producerOn(kafka, { maxQueueDepth: 2, maxBatchEntries: 1, checkpointIntervalMs: 20 });
  for (let i = 0; i < 4; i++) producer.record(entry(`e${i}`, { dim: DIM })); // 0 in flight, 1 queued, 2 and 3 queue_full
  await new Promise((resolve) => setTimeout(resolve, 60)); // a checkpoint timer fires while the queue is full
  assert.equal(producer.stats().pending, 2);
  kafka.release();
  await kafka.until(() => checkpoints(kafka).some((c) => c.undelivered.some((r) => r.reason === 'send_failed' && r.to === 1)));
  const order = kafka.requests.map((r) => (isCheckpoint(r) ? 'checkpoint' : 'entry'));
  assert.deepStrictEqual(order.slice(0, 3), ['entry', 'checkpoint', 'entry'], 'the checkpoint did not wait behind the queued entry');
  const first = checkpoints(kafka)[0]!;
  assert.deepStrictEqual([first.checkpoint_seq, first.high_seq, first.final], [0, 3, false]);
  assert.deepStrictEqual(first.undelivered.at(-1), { from: 2, to: 3, reason: 'queue_full' });
  await producer.close();
  const last = checkpoints(kafka).at(-1)!;
  assert.equal(last.final, true);
  assert.deepStrictEqual(last.undelivered, [{ from: 0, to: 1, reason: 'send_failed' }, { from: 2, to: 3, reason: 'queue_full' }]);
  assert.deepStrictEqual(checkpoints(kafka).map((c) => c.checkpoint_seq), checkpoints(kafka).map((_, i) => i));
});

test('an instance that never numbered nor refused an entry sends no checkpoint and never connects', async () => {
  const kafka = new FakeKafka();
  const producer = producerOn(kafka, { checkpointIntervalMs: 10 });
  await new Promise((resolve) => setTimeout(resolve, 40));
  await producer.close();
  assert.equal(kafka.requests.length, 0);
  assert.equal(kafka.connectAttempts, 0);
});
