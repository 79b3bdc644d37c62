// `witness audit` against the real Qdrant, over a log seeded by issue 26's
// contract (test/support/audit-seed.ts): the counts, the missing ranges with
// their neighbours, the problems, the exit codes. The loss tests
// (test/reliability/) produce the same records through the real SDKs and consumer.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { runCli } from '../../src/cli/cli.js';
import { disconnectShared, dropCollection, qdrant, qdrantUrl, uniqueName } from '../../../test/support/pipeline.js';
import { createAuditCollections, seedCheckpoint, seedDeadLetter, seedEntries } from '../../../test/support/audit-seed.js';

const collection = uniqueName('audit_col').replace(/-/g, '_');
const now = Date.now();
const iso = (ago: number) => new Date(now - ago).toISOString();
const ok = { id: randomUUID(), service: 'chat' };
const lossy = { id: randomUUID(), service: 'chat' };
const forged = { id: randomUUID(), service: 'search' };
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

before(async () => {
  await createAuditCollections(qdrant, collection);
  // ok: 0..99 stored, 100..104 dropped as queue_full, one dead-lettered (seq 50 re-driven and stored too).
  await seedEntries(qdrant, collection, ok, range(0, 99), (s) => iso(600_000 - s));
  await seedCheckpoint(qdrant, collection, ok, { checkpoint_seq: 0, sent_at: iso(500_000), high_seq: 104, undelivered: [{ from: 100, to: 104, reason: 'queue_full' }] });
  await seedDeadLetter(qdrant, collection, { partition: 0, offset: '1', reason: 'WITNESS_UNKNOWN_FINGERPRINT', at: iso(550_000), producer: ok, seq: 50 });
  // lossy: 0..59 but 20..22 (deleted) and 40 (dead-lettered) not stored; 55..59 assigned but never stored.
  await seedEntries(qdrant, collection, lossy, range(0, 54).filter((s) => !(s >= 20 && s <= 22) && s !== 40), (s) => iso(600_000 - s));
  await seedCheckpoint(qdrant, collection, lossy, { checkpoint_seq: 0, sent_at: iso(500_000), high_seq: 59 });
  await seedDeadLetter(qdrant, collection, { partition: 1, offset: '9', reason: 'WITNESS_CONFLICTING_ENTRY', at: iso(550_000), producer: lossy, seq: 40 });
  // forged: the same id under two services, high_seq going backwards.
  await seedEntries(qdrant, collection, forged, range(0, 9), () => iso(300_000));
  await seedCheckpoint(qdrant, collection, forged, { checkpoint_seq: 0, sent_at: iso(200_000), high_seq: 9 });
  await seedCheckpoint(qdrant, collection, { ...forged, service: 'other' }, { checkpoint_seq: 1, sent_at: iso(100_000), high_seq: 5 });
  await seedDeadLetter(qdrant, collection, { partition: 2, offset: '77', reason: 'WITNESS_BAD_MARKER', at: iso(100_000) });
});

after(async () => {
  await dropCollection(collection);
  await dropCollection(`${collection}_checkpoints`);
  await disconnectShared();
});

async function audit(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['audit', '--url', qdrantUrl, '--collection', collection, ...args], {}, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

test('a complete producer: stored, dropped and a re-driven letter counted once, exit 0', async () => {
  const { code, out } = await audit('--producer', ok.id, '--json');
  const r = JSON.parse(out);
  assert.equal(code, 0, out);
  assert.equal(r.unaccounted, 0);
  const [p] = r.producers;
  assert.deepEqual(
    { first: p.first_seq, last: p.last_seq, stored: p.stored, dl: p.dead_lettered, dropped: p.dropped, inFlight: p.in_flight, missing: p.missing },
    { first: 0, last: 104, stored: 100, dl: 0, dropped: { queue_full: 5 }, inFlight: 0, missing: [] },
  );
});

test('lost entries are named with their neighbours; exit 1', async () => {
  const { code, out } = await audit('--producer', lossy.id, '--json', '--grace', '1m');
  const [p] = JSON.parse(out).producers;
  assert.equal(code, 1);
  assert.equal(p.stored, 51);
  assert.deepEqual(p.dead_lettered_by_reason, { WITNESS_CONFLICTING_ENTRY: 1 });
  assert.deepEqual(p.missing, [[20, 22], [55, 59]]);
  assert.equal(p.unaccounted, 8);
  assert.deepEqual(p.neighbours[0], { from: 20, to: 22, before: iso(600_000 - 19), after: iso(600_000 - 23) });
  assert.deepEqual(p.neighbours[1], { from: 55, to: 59, before: iso(600_000 - 54), after: null });
});

test('within the grace window the missing tail is in flight', async () => {
  const { out } = await audit('--producer', lossy.id, '--json', '--grace', '15m');
  const [p] = JSON.parse(out).producers;
  assert.equal(p.in_flight, 8);
  assert.equal(p.unaccounted, 0);
});

test('contradictory checkpoints are reported, undecodable letters listed; the table says it all', async () => {
  const { code, out } = await audit('--json');
  const r = JSON.parse(out);
  assert.equal(code, 1);
  assert.equal(r.producers.length, 3);
  const p = r.producers.find((x: { id: string }) => x.id === forged.id);
  assert.equal(p.reconcilable, false);
  assert.deepEqual(p.problems.map((x: { kind: string }) => x.kind).sort(), ['high_seq_decreased', 'seq_above_high_mark', 'service_conflict']);
  assert.deepEqual(r.undecodable.map((u: { partition: number; offset: string }) => `${u.partition}:${u.offset}`), ['2:77']);
  const table = await audit('--service', 'chat');
  assert.match(table.out, /MISSING seqs 20\.\.22/);
  assert.match(table.out, /entries UNACCOUNTED/);
  assert.doesNotMatch(table.out, new RegExp(forged.id));
});

test('bad flags are usage errors naming the value', async () => {
  const { code, err } = await audit('--grace', 'soon');
  assert.equal(code, 2);
  assert.match(err, /--grace soon/);
});
