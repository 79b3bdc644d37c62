// `witness audit` / log.audit() over a window of 1,000,000 entries of one
// producer against what a user would otherwise write: scroll every point's
// producer.seq out of Qdrant and look for the gaps in Node. Both find the same
// gaps (checked) in the same run. The points are seeded straight into a
// collection with 1-d vectors and the entries' producer payload (the audit reads
// no vector, so vector size changes neither figure, only the seeding time), plus
// one checkpoint by issue 26's contract (test/support/audit-seed.ts).
//
//   npm run bench -- audit
//
// QDRANT_URL (default http://127.0.0.1:6333); WITNESS_BENCH_SCALE multiplies the
// entry count. Target: ≤ 5 s for 1,000,000.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { QdrantClient } from '@qdrant/js-client-rest';
import { createWitnessQuery } from '@witnesslog/consumer/query';
import { createAuditCollections, seedCheckpoint, seedEntries } from '../test/support/audit-seed.js';
import { fmt, int, measured, report, scaled } from './support/report.js';

const url = process.env.QDRANT_URL ?? 'http://127.0.0.1:6333';
const N = scaled(1_000_000);
const REPEATS = 3;
const client = new QdrantClient({ url, checkCompatibility: false, timeout: 120_000 });
const collection = `bench_audit_${randomUUID().slice(0, 8)}`;
const producer = { id: randomUUID(), service: 'bench' };
// 10 lost entries spread over the window, and a queue_full burst the checkpoint reports.
const LOST = Array.from({ length: 10 }, (_, i) => Math.floor(((i + 0.5) * N) / 10));
const DROPPED: [number, number] = [Math.floor(N / 3), Math.floor(N / 3) + 99];

async function seed(): Promise<void> {
  await createAuditCollections(client, collection);
  const skip = new Set(LOST);
  const at = new Date(Date.now() - 30 * 60_000).toISOString();
  const workers = 4;
  const per = Math.ceil(N / workers);
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      function* seqs() {
        for (let s = w * per; s < Math.min(N, (w + 1) * per); s++) if (!skip.has(s) && (s < DROPPED[0] || s > DROPPED[1])) yield s;
      }
      await seedEntries(client, collection, producer, seqs(), () => at, 2_000);
    }),
  );
  await seedCheckpoint(client, collection, producer, { checkpoint_seq: 0, sent_at: new Date(Date.now() - 10 * 60_000).toISOString(), high_seq: N - 1, undelivered: [{ from: DROPPED[0], to: DROPPED[1], reason: 'queue_full' }] });
}

/** The baseline: every point's producer.seq, scrolled out in pages of 10,000; the gaps computed in Node. */
async function scrollEverything(): Promise<{ missing: number; requests: number }> {
  const seen = new Uint8Array(N);
  let offset: string | number | undefined;
  let requests = 0;
  for (;;) {
    requests++;
    const page = await client.scroll(collection, { limit: 10_000, with_payload: ['producer.seq'], with_vector: false, filter: { must: [{ key: 'producer.id', match: { value: producer.id } }] }, ...(offset === undefined ? {} : { offset }) });
    for (const p of page.points) seen[(p.payload as { producer: { seq: number } }).producer.seq] = 1;
    const next = page.next_page_offset;
    if (next === null || next === undefined || typeof next === 'object') break;
    offset = next;
  }
  let missing = 0;
  for (let s = 0; s < N; s++) if (!seen[s] && (s < DROPPED[0] || s > DROPPED[1])) missing++;
  return { missing, requests };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  await seed();
  process.stderr.write(`[audit bench] seeded ${int(N)} points in ${fmt((performance.now() - t0) / 1000, 1)} s\n`);
  const q = createWitnessQuery({ url, collection, timeoutMs: 120_000 });
  const ours: number[] = [];
  const theirs: number[] = [];
  let requests = 0;
  let baselineRequests = 0;
  for (let i = 0; i < REPEATS; i++) {
    let t = performance.now();
    const r = await q.audit({ producerId: producer.id, since: new Date(Date.now() - 3_600_000) });
    ours.push((performance.now() - t) / 1000);
    const p = r.producers[0]!;
    if (p.unaccounted !== LOST.length || p.dropped.queue_full !== 100 || p.stored !== N - 110) throw new Error(`audit found ${JSON.stringify({ ...p, neighbours: undefined })}`);
    requests = r.requests;
    t = performance.now();
    const b = await scrollEverything();
    theirs.push((performance.now() - t) / 1000);
    if (b.missing !== LOST.length) throw new Error(`baseline found ${b.missing} missing`);
    baselineRequests = b.requests;
  }
  const row = {
    figure: `audit of one producer's ${int(N)} entries (10 lost, 100 dropped)`,
    unit: 's',
    better: 'lower' as const,
    ours: measured(ours),
    baseline: { label: 'scroll every point\'s producer.seq (pages of 10,000), gaps in Node', ...measured(theirs) },
    target: { op: '<=' as const, value: 5 },
    note: `Qdrant requests: audit ${requests} (counts over the producer.seq index), baseline ${baselineRequests}`,
  };
  report(row);
  process.stdout.write(`${row.figure}: ours ${fmt(row.ours.median)} s (${requests} requests), baseline ${fmt(row.baseline.median)} s (${baselineRequests} requests)\n`);
}

try {
  await main();
} finally {
  await client.deleteCollection(collection).catch(() => {});
  await client.deleteCollection(`${collection}_checkpoints`).catch(() => {});
}
