// Issue 26 item 6: entries lost on purpose, through the real TypeScript SDK, broker,
// consumer and Qdrant, and `witness audit` accounting for each one exactly. One
// consumer and topic for the file; each case is its own SDK instance (its own
// producer id), so the cases do not see each other's numbers. --grace 0 makes
// "after the grace window" now, so a gap is unaccounted at once.
//
// Not here yet (see the report of branch h-audit): the broker outage
// (send_failed), the SIGKILLed child, and the
// Python SDK's half; their audit rules are covered in consumer/test/unit/audit.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createWitnessProducer, type WitnessProducer } from '@witnesslog/producer';
import { runCli } from '../../consumer/src/cli/cli.js';
import { checkpointCollection } from '../../consumer/src/store/checkpoints.js';
import { brokers, kafka, codec, createTopics, deleteTopics, disconnectShared, dropCollection, produce, qdrant, qdrantUrl, runConsumer, testConfig, testEntry, testNames, waitFor, type RunningConsumer } from '../support/pipeline.js';

const DIM = 8;
const names = testNames('loss');
let run: RunningConsumer;

before(async () => {
  await createTopics({ topic: names.topic }, { topic: names.dlqTopic });
  run = await runConsumer(testConfig(names), 'loss');
});
after(async () => {
  await run?.close();
  await deleteTopics(names.topic, names.dlqTopic);
  await dropCollection(names.collection);
  await dropCollection(checkpointCollection(names.collection));
  await disconnectShared();
});

function sdk(options: { maxQueueDepth?: number; service?: string } = {}): WitnessProducer {
  return createWitnessProducer({ brokers: [...brokers], topic: names.topic, env: {}, embeddingDim: DIM, checkpointIntervalMs: 200, service: options.service ?? 'loss-ts', ...options });
}
const entries = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ ...testEntry(DIM, from + i), producer: null }));
const stored = async (id: string) => (await qdrant.count(names.collection, { filter: { must: [{ key: 'producer.id', match: { value: id } }] }, exact: true })).count;
const finalStored = async (id: string) =>
  (await qdrant.count(checkpointCollection(names.collection), { filter: { must: [{ key: 'producer_id', match: { value: id } }, { key: 'final', match: { value: true } }] }, exact: true })).count === 1;

async function audit(...args: string[]): Promise<{ code: number; report: any }> {
  let out = '';
  const code = await runCli(['audit', '--url', qdrantUrl, '--collection', names.collection, '--json', '--grace', '0', ...args], {}, { stdout: (t) => (out += t), stderr: () => {} });
  return { code, report: JSON.parse(out) };
}

/** Records `n` entries, closes, waits until `expectStored` are stored and the final checkpoint is; returns the producer id. */
async function recordAndClose(p: WitnessProducer, batch: ReturnType<typeof entries>, expectStored: number): Promise<string> {
  const id = p.stats().producer.id;
  p.recordBatch(batch);
  await p.close();
  await waitFor(`${expectStored} entries and the final checkpoint of ${id}`, async () => (await stored(id)) === expectStored && (await finalStored(id)));
  return id;
}

test('SDK queue overflow: the dropped seqs are reported dropped (queue_full), none unaccounted, exit 0', async () => {
  const id = await recordAndClose(sdk({ maxQueueDepth: 5 }), entries(12), 5);
  const { code, report } = await audit('--producer', id);
  const [p] = report.producers;
  assert.equal(code, 0, JSON.stringify(report));
  assert.deepEqual([p.first_seq, p.last_seq, p.stored, p.dropped, p.in_flight, p.unaccounted, p.missing], [0, 11, 5, { queue_full: 7 }, 0, 0, []]);
});

test('a point deleted from Qdrant by hand: 1 unaccounted, its seq named with its neighbours, exit 1', async () => {
  const id = await recordAndClose(sdk(), entries(10, 100), 10);
  const victim = (await qdrant.scroll(names.collection, { filter: { must: [{ key: 'producer.id', match: { value: id } }, { key: 'producer.seq', match: { value: 4 } }] }, limit: 1 })).points[0]!;
  await qdrant.delete(names.collection, { points: [victim.id], wait: true });
  const { code, report } = await audit('--producer', id);
  const [p] = report.producers;
  assert.equal(code, 1);
  assert.equal(report.unaccounted, 1);
  assert.deepEqual(p.missing, [[4, 4]]);
  assert.equal(p.stored, 9);
  assert.ok(p.neighbours[0].before && p.neighbours[0].after, JSON.stringify(p.neighbours));
});

test('a conflict is dead-lettered and counted so, by its reason; poison names no producer and is listed by partition and offset', async () => {
  const p = sdk();
  const id = p.stats().producer.id;
  const batch = entries(4, 200);
  const id0 = await recordAndClose(p, batch, 4);
  assert.equal(id0, id);
  // The same request id with other content, under this producer's id and a seq it never assigned:
  // dead-lettered as a conflict, its seq recorded.
  const stolen = (await qdrant.scroll(names.collection, { filter: { must: [{ key: 'producer.id', match: { value: id } }] }, limit: 1, with_payload: true })).points[0]!;
  const conflict = { ...testEntry(DIM, 250), request_id: String(stolen.id), producer: { id, seq: 4, service: 'loss-ts', host: 'h' } };
  await produce(names.topic, [{ key: 'c', value: codec(DIM).encode(conflict) }, { key: 'poison', value: Buffer.from('not avro') }]);
  const side = checkpointCollection(names.collection);
  await waitFor('two dead-letter records', async () => (await qdrant.count(side, { filter: { must: [{ key: 'kind', match: { value: 'dead_letter' } }] }, exact: true })).count >= 2);
  const { report } = await audit('--producer', id);
  const [r] = report.producers;
  assert.deepEqual([r.last_seq, r.stored, r.dead_lettered, r.unaccounted], [4, 4, 1, 0], JSON.stringify(r));
  assert.deepEqual(Object.keys(r.dead_lettered_by_reason), ['WITNESS_DUPLICATE_REQUEST_ID']);
  const all = await audit();
  assert.ok(all.report.undecodable.some((u: { reason: string }) => u.reason === 'WITNESS_BAD_MARKER'), JSON.stringify(all.report.undecodable));
});

test('a restarted SDK is a new producer id numbering from 0: no false gap', async () => {
  const first = await recordAndClose(sdk({ service: 'restarted' }), entries(3, 300), 3);
  const second = await recordAndClose(sdk({ service: 'restarted' }), entries(3, 310), 3);
  assert.notEqual(first, second);
  const { code, report } = await audit('--service', 'restarted');
  assert.equal(code, 0, JSON.stringify(report));
  assert.deepEqual(report.producers.map((p: { first_seq: number; last_seq: number; stored: number; unaccounted: number }) => [p.first_seq, p.last_seq, p.stored, p.unaccounted]), [[0, 2, 3, 0], [0, 2, 3, 0]]);
});

test('records removed from Kafka before they were consumed (deleteTopicRecords): unaccounted, named, exit 1', async () => {
  // A topic of one partition that no consumer has read yet: offsets follow the SDK's order.
  const unread = { ...names, topic: `${names.topic}-unread`, groupId: `${names.groupId}-unread` };
  await createTopics({ topic: unread.topic, partitions: 1 });
  const p = createWitnessProducer({ brokers: [...brokers], topic: unread.topic, env: {}, embeddingDim: DIM, checkpointIntervalMs: 60_000, service: 'loss-deleted' });
  const id = p.stats().producer.id;
  p.recordBatch(entries(6, 400));
  await p.close();
  const admin = kafka.admin();
  await admin.connect();
  try {
    // The first 2 messages (entries seq 0 and 1: the only checkpoint is close()'s final one, last).
    await admin.fetchTopicMetadata({ topics: [unread.topic] });
    await admin.deleteTopicRecords({ topic: unread.topic, partitions: [{ partition: 0, offset: '2' }] });
    const second = await runConsumer(testConfig(unread), 'loss-unread');
    try {
      await waitFor('4 entries and the final checkpoint', async () => (await stored(id)) === 4 && (await finalStored(id)));
    } finally {
      await second.close();
    }
  } finally {
    await admin.deleteTopics({ topics: [unread.topic] }).catch(() => {});
    await admin.disconnect();
  }
  const { code, report } = await audit('--producer', id);
  const [r] = report.producers;
  assert.equal(code, 1);
  assert.deepEqual([r.last_seq, r.stored, r.unaccounted, r.missing], [5, 4, 2, [[0, 1]]]);
});
