// The flush pipeline's stage contract (FlushStage): a stage sees each batch after
// its points are acknowledged and its dead letters sent, before the commit, with
// what was stored and what was dead-lettered; a message that is neither an entry
// nor a failure is left to the stages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createMetrics } from '@witnesslog/consumer';
import { createFlushPipeline, type WrittenBatch } from '../../src/ingest/flush.js';
import { receive, type Received } from '../../src/ingest/intake.js';
import { codec, testEntry } from '../../../test/support/entries.js';

const DIM = 8;

function message(offset: number, value: Buffer | null): Received {
  return receive(codec(DIM), 't', 0, { offset: String(offset), key: null, value, headers: {} } as never, Date.now());
}

test('stages run after the writes and the dead letters, before the commit, and see stored and dead-lettered messages', async () => {
  const order: string[] = [];
  const a = testEntry(DIM, 0);
  const b = testEntry(DIM, 1);
  const items = [message(0, codec(DIM).encode(a)), message(1, Buffer.from('not avro')), message(2, codec(DIM).encode(b))];
  const other: Received = { ...message(3, null), failure: undefined };
  items.push(other);
  const seen: WrittenBatch[] = [];
  const flush = createFlushPipeline({
    sink: {
      async write(points) {
        order.push(`write ${points.length}`);
        return { rejected: [], conflicts: [1] };
      },
    },
    deadLetters: {
      async send(letters: readonly unknown[]) {
        order.push(`dead letters ${letters.length}`);
      },
    } as never,
    ledger: {
      async commit() {
        order.push('commit');
        return [];
      },
    },
    metrics: createMetrics(new Registry()),
    stages: [
      {
        name: 'probe',
        async afterWrite(batch) {
          order.push('stage');
          seen.push(batch);
        },
      },
    ],
  });
  const event = await flush(items, new AbortController().signal);
  assert.deepEqual(order, ['write 2', 'dead letters 2', 'stage', 'commit']);
  const [batch] = seen;
  assert.equal(batch!.items.length, 4);
  assert.deepEqual(batch!.stored.map((s) => s.item.offset), ['0']);
  assert.equal(batch!.stored[0]!.point.id, a.request_id);
  assert.deepEqual(batch!.deadLettered.map((d) => [d.item.offset, d.reason]), [['1', batch!.deadLettered[0]!.reason], ['2', 'WITNESS_DUPLICATE_REQUEST_ID']]);
  assert.equal(event.deadLettered, 2, 'the message that is neither entry nor failure is not dead-lettered by the flush');
});

test('a stage that fails stops the flush before the commit', async () => {
  let committed = false;
  const flush = createFlushPipeline({
    sink: { write: async () => ({ rejected: [], conflicts: [] }) },
    deadLetters: { send: async () => {} } as never,
    ledger: {
      async commit() {
        committed = true;
        return [];
      },
    },
    metrics: createMetrics(new Registry()),
    stages: [{ name: 'broken', afterWrite: async () => Promise.reject(new Error('stage down')) }],
  });
  await assert.rejects(flush([message(0, codec(DIM).encode(testEntry(DIM, 0)))], new AbortController().signal), /stage down/);
  assert.equal(committed, false);
});
