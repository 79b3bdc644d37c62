// What the consumer makes of checkpoints and dead letters (issue 26), without a
// service: receive() tells a checkpoint from an entry by fingerprint and refuses an
// impossible one by name; the two stages write points with deterministic ids
// (a redelivery rewrites the same point) and the payloads the audit reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { createRetry } from '@witnesslog/core';
import { encodeCheckpoint, type WitnessCheckpoint } from '@witnesslog/schemas';
import { createCheckpointStage } from '../../src/ingest/checkpoint-stage.js';
import { createDeadLetterRecordStage } from '../../src/ingest/dead-letter-record-stage.js';
import { receive, type Received } from '../../src/ingest/intake.js';
import { checkpointCollection, checkpointPointId, deadLetterPointId, DEAD_LETTER_ERROR_MAX_CHARS } from '../../src/store/checkpoints.js';
import type { QdrantWriter } from '../../src/store/qdrant.js';
import { codec, testEntry } from '../../../test/support/entries.js';

const DIM = 8;
const ID = '0b9f3c1e-7d2a-4e5b-8c6d-9a0b1c2d3e4f';

function checkpoint(over: Partial<WitnessCheckpoint> = {}): WitnessCheckpoint {
  return {
    producer_id: ID,
    service: 'svc',
    host: 'h',
    checkpoint_seq: 2,
    sent_at: Date.UTC(2026, 0, 1),
    high_seq: 20,
    undelivered: [{ from: 3, to: 5, reason: 'queue_full' }],
    truncated: false,
    refused: { invalid: 1, sampled_out: 0, redact_failed: 0 },
    final: false,
    ...over,
  };
}

function message(offset: number, value: Buffer): Received {
  return receive(codec(DIM), 'witness', 4, { offset: String(offset), key: null, value, headers: {} } as never, Date.now());
}

function recordingClient(): { client: QdrantWriter; upserts: Array<{ name: string; points: Array<{ id: string; vector: unknown; payload: Record<string, unknown> }> }> } {
  const upserts: Array<{ name: string; points: Array<{ id: string; vector: unknown; payload: Record<string, unknown> }> }> = [];
  const client = {
    async upsert(name: string, request: { points: never[] }) {
      upserts.push({ name, points: request.points });
      return { operation_id: 0, status: 'completed' };
    },
  } as unknown as QdrantWriter;
  return { client, upserts };
}

const deps = (client: QdrantWriter) => ({
  config: { qdrant: { collection: 'witness' } } as never,
  client,
  retry: createRetry({ initialMs: 1, maxMs: 1 }),
  logger: pino({ level: 'silent' }),
});

test('receive() reads a checkpoint into `checkpoint`, neither entry nor failure', () => {
  const item = message(7, encodeCheckpoint(checkpoint()));
  assert.deepStrictEqual(item.checkpoint, checkpoint());
  assert.equal(item.entry, undefined);
  assert.equal(item.failure, undefined);
  const entry = message(8, codec(DIM).encode(testEntry(DIM, 0)));
  assert.equal(entry.checkpoint, undefined);
  assert.ok(entry.entry);
});

test('receive() makes a checkpoint claiming a range above its high_seq a WITNESS_CHECKPOINT_INVALID failure naming the field and value', () => {
  const good = encodeCheckpoint(checkpoint({ high_seq: 5 }));
  // high_seq is the sixth field: rewrite it as 4 (zigzag 8) in the bytes a hostile writer sends.
  const bad = Buffer.from(good);
  const at = bad.indexOf(Buffer.from([0x0a, 0x02]), 10 + 1 + 36 + 4 + 2 + 1 + 6);
  bad[at] = 0x08;
  const item = message(9, bad);
  assert.equal(item.checkpoint, undefined);
  assert.equal(item.failure?.reason, 'WITNESS_CHECKPOINT_INVALID');
  assert.match(item.failure!.error, /undelivered\[0\]\.to = 5 \(must be at most high_seq = 4/);
});

test('the checkpoint stage upserts each checkpoint into <collection>_checkpoints under an id from (producer_id, checkpoint_seq)', async () => {
  const { client, upserts } = recordingClient();
  const stage = createCheckpointStage(deps(client));
  const items = [message(11, encodeCheckpoint(checkpoint())), message(12, codec(DIM).encode(testEntry(DIM, 1)))];
  await stage.afterWrite({ items, stored: [], deadLettered: [] }, new AbortController().signal);
  await stage.afterWrite({ items: items.slice(0, 1), stored: [], deadLettered: [] }, new AbortController().signal);
  assert.equal(upserts.length, 2);
  assert.equal(upserts[0]!.name, checkpointCollection('witness'));
  assert.equal(upserts[0]!.name, 'witness_checkpoints');
  const [point] = upserts[0]!.points;
  assert.equal(point!.id, checkpointPointId(ID, 2));
  assert.equal(upserts[1]!.points[0]!.id, point!.id, 'a redelivery rewrites the same point');
  assert.match(point!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.deepStrictEqual(point!.payload, {
    kind: 'checkpoint', producer_id: ID, service: 'svc', host: 'h', checkpoint_seq: 2, sent_at: '2026-01-01T00:00:00.000Z', high_seq: 20,
    undelivered: [{ from: 3, to: 5, reason: 'queue_full' }], truncated: false, refused: { invalid: 1, sampled_out: 0, redact_failed: 0 }, final: false,
    topic: 'witness', partition: 4, offset: '11',
  });
  assert.notEqual(checkpointPointId(ID, 3), point!.id);
});

test('the dead-letter record stage writes one record per letter: producer fields when it decoded, nulls when not', async () => {
  const { client, upserts } = recordingClient();
  const stage = createDeadLetterRecordStage(deps(client), () => Date.UTC(2026, 1, 2, 3, 4, 5));
  const entry = { ...testEntry(DIM, 2), producer: { id: ID, seq: 17, service: 'svc', host: 'h' } };
  const decoded = message(20, codec(DIM).encode(entry));
  const poison = message(21, Buffer.from('not avro at all'));
  await stage.afterWrite(
    { items: [decoded, poison], stored: [], deadLettered: [{ item: decoded, reason: 'WITNESS_DUPLICATE_REQUEST_ID', error: 'x'.repeat(5000) }, { item: poison, reason: poison.failure!.reason, error: poison.failure!.error }] },
    new AbortController().signal,
  );
  const [a, b] = upserts[0]!.points;
  assert.equal(a!.id, deadLetterPointId('witness', 4, '20'));
  assert.deepStrictEqual(a!.payload, {
    kind: 'dead_letter', topic: 'witness', partition: 4, offset: '20', reason: 'WITNESS_DUPLICATE_REQUEST_ID', error: 'x'.repeat(DEAD_LETTER_ERROR_MAX_CHARS),
    at: '2026-02-02T03:04:05.000Z', request_id: entry.request_id, producer_id: ID, seq: 17, service: 'svc', entry_timestamp: entry.timestamp,
  });
  assert.equal(b!.id, deadLetterPointId('witness', 4, '21'));
  assert.equal(b!.payload.reason, 'WITNESS_BAD_MARKER');
  assert.deepStrictEqual([b!.payload.request_id, b!.payload.producer_id, b!.payload.seq, b!.payload.service, b!.payload.entry_timestamp], [null, null, null, null, null]);
});

test('a batch with no checkpoint and no letter writes nothing', async () => {
  const { client, upserts } = recordingClient();
  const items = [message(30, codec(DIM).encode(testEntry(DIM, 3)))];
  await createCheckpointStage(deps(client)).afterWrite({ items, stored: [], deadLettered: [] }, new AbortController().signal);
  await createDeadLetterRecordStage(deps(client)).afterWrite({ items, stored: [], deadLettered: [] }, new AbortController().signal);
  assert.equal(upserts.length, 0);
});
