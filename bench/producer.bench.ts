// The producer's hot path against the pattern a user would otherwise write:
//   await producer.send({ topic, messages: [{ value: JSON.stringify(entry) }] })
// per request with kafkajs's default producer. Same process, same broker, same entries.
//
//   node --conditions=witnesslog-src --import tsx bench/producer.bench.ts
//
// KAFKA_BROKERS (default 127.0.0.1:9092) is the broker; BENCH_SCALE (default 1)
// multiplies every count. Targets (reported, not asserted): record() median ≤ 5 µs,
// p99 ≤ 50 µs, ≥ 100× cheaper than the awaited send; ≥ 20,000 entries/s.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { createWitnessEntry, encodeEntry, withLatency, withQuality, type WitnessEntry } from '@witnesslog/schemas';
import { createWitnessProducer, type ProducerCompression, type WitnessProducer } from '@witnesslog/producer';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const scale = Number(process.env.BENCH_SCALE ?? '1');
if (!(scale > 0)) throw new Error(`BENCH_SCALE=${process.env.BENCH_SCALE} must be a positive number`);
const n = (count: number) => Math.max(1, Math.round(count * scale));
const DIM = 768;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const kafka = new kafkajs.Kafka({ brokers, clientId: 'producer-bench', logLevel: kafkajs.logLevel.NOTHING });
const topics: string[] = [];
const topic = (name: string) => {
  const t = `bench-${name}-${randomUUID().slice(0, 8)}`;
  topics.push(t);
  return t;
};

// ---------------------------------------------------------------------------------
// Entries: two 768-dim unit vectors (query and response), five documents, tags, a
// filled latency breakdown — about 6.4 KB encoded, what a serving node sends.

function unitVector(): number[] {
  const v = Array.from({ length: DIM }, () => Math.random() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

function makeEntries(count: number, form: 'array' | 'float32'): WitnessEntry[] {
  const sessions = Array.from({ length: 64 }, () => randomUUID());
  return Array.from({ length: count }, (_, i) => {
    const q = unitVector();
    const r = unitVector();
    let e = createWitnessEntry(sessions[i % sessions.length]!, form === 'float32' ? Float32Array.from(q) : q, {
      model: 'medium',
      context_size: 4096,
      temperature: 0.7,
      top_p: 0.9,
      confidence: 0.82,
      model_probs: [0.05, 0.1, 0.8, 0.05],
    });
    e = withLatency(e, { embedding_ms: 4.2, retrieval_ms: 11.5, routing_ms: 0.8, attention_ms: 35.1, generation_ms: 412.9 });
    e = withQuality(e, 0.91);
    return {
      ...e,
      response_embedding: form === 'float32' ? Float32Array.from(r) : r,
      context_doc_ids: Array.from({ length: 5 }, () => randomUUID()),
      tags: ['prod', 'eu-west-1', 'rag'],
    };
  });
}

// ---------------------------------------------------------------------------------

const fmt = (x: number, digits = 2) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const int = (x: number) => Math.round(x).toLocaleString('en-US');
const mib = (bytes: number) => `${fmt(bytes / 1024 / 1024, 1)} MiB`;

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function summarise(samples: Float64Array): { median: number; p99: number; max: number } {
  const sorted = samples.slice().sort();
  return { median: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1]! };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Records everything, as fast as the queue takes it, and waits for flush; entries/s. */
async function throughput(producer: WitnessProducer, entries: WitnessEntry[], count: number): Promise<number> {
  const high = 8_000; // below maxQueueDepth: the driver backs off instead of dropping
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    while (producer.stats().pending >= high) await sleep(1);
    if (!producer.record(entries[i % entries.length]!)) throw new Error(`entry ${i} dropped: ${JSON.stringify(producer.stats())}`);
    if (i % 256 === 255) await yieldToLoop();
  }
  await producer.flush();
  return count / ((performance.now() - started) / 1000);
}

/** Per-call time of record() in µs, in bursts with the loop running between them (the sender works meanwhile). */
async function recordCost(producer: WitnessProducer, entries: WitnessEntry[], count: number): Promise<Float64Array> {
  const samples = new Float64Array(count);
  const burst = 500;
  for (let i = 0; i < count; i++) {
    const entry = entries[i % entries.length]!;
    const t0 = performance.now();
    const ok = producer.record(entry);
    samples[i] = (performance.now() - t0) * 1000;
    if (!ok) throw new Error(`record() dropped an entry during the cost run: ${JSON.stringify(producer.stats().dropped)}`);
    if (i % burst === burst - 1) {
      await yieldToLoop();
      while (producer.stats().pending > 5_000) await sleep(1);
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const totalStarted = performance.now();
  const cpus = os.cpus();
  console.log('# witnesslog producer benchmark');
  console.log(
    `machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown cpu'}, ${mib(os.totalmem())} RAM, ` +
      `node ${process.version}, ${os.platform()} ${os.release()}; broker ${brokers.join(',')}; BENCH_SCALE=${scale}`,
  );

  const pool = makeEntries(1_000, 'array');
  const poolF32 = makeEntries(1_000, 'float32');
  const encoded = pool.map((e) => encodeEntry(e));
  const entryBytes = encoded.reduce((s, b) => s + b.length, 0) / encoded.length;
  console.log(`entry: ${DIM}-dim query + response embeddings, 5 docs, 3 tags; ${int(entryBytes)} bytes encoded (Avro)\n`);

  // --- record(): per-call cost on the caller, while the sender runs ------------------
  const costCalls = n(20_000);
  const warmup = n(5_000);
  const costTopic = topic('cost');
  const costResults: Record<string, ReturnType<typeof summarise>> = {};
  for (const [label, entries] of [
    ['number[] embeddings', pool],
    ['Float32Array embeddings', poolF32],
  ] as const) {
    const producer = createWitnessProducer({ brokers, topic: costTopic, maxQueueDepth: 50_000, maxQueueBytes: 512 * 1024 * 1024 });
    await recordCost(producer, entries, warmup);
    await producer.flush();
    const s = summarise(await recordCost(producer, entries, costCalls));
    await producer.close();
    costResults[label] = s;
  }

  // --- sustained entries/s into the broker, per compression ------------------------
  const throughputCount = n(50_000);
  const rates: Partial<Record<ProducerCompression, number>> = {};
  for (const compression of ['none', 'gzip'] as const) {
    const producer = createWitnessProducer({ brokers, topic: topic(`tp-${compression}`), compression });
    await throughput(producer, pool, n(2_000)); // connect, create the topic, warm up
    rates[compression] = await throughput(producer, pool, throughputCount);
    const s = producer.stats();
    await producer.close();
    if (s.delivered !== s.total) throw new Error(`throughput run lost entries: ${JSON.stringify(s)}`);
  }

  // --- the naive pattern: awaited send of JSON per request -----------------------------
  const naiveCalls = n(2_000);
  const naiveTopic = topic('naive');
  const naive = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await naive.connect();
  for (let i = 0; i < 200; i++) await naive.send({ topic: naiveTopic, messages: [{ value: JSON.stringify(pool[i]) }] });
  const naiveSamples = new Float64Array(naiveCalls);
  let jsonBytes = 0;
  const naiveStarted = performance.now();
  for (let i = 0; i < naiveCalls; i++) {
    const t0 = performance.now();
    const value = JSON.stringify(pool[i % pool.length]);
    await naive.send({ topic: naiveTopic, messages: [{ value }] });
    naiveSamples[i] = (performance.now() - t0) * 1000;
    jsonBytes += value.length;
  }
  const naiveRate = naiveCalls / ((performance.now() - naiveStarted) / 1000);
  await naive.disconnect();
  const naiveCost = summarise(naiveSamples);

  // --- compression: bytes and CPU per entry on a full batch ------------------------------
  const batch = Buffer.concat(encoded.slice(0, 250));
  const gzRounds = n(20);
  const gz0 = performance.now();
  let gzBytes = 0;
  for (let i = 0; i < gzRounds; i++) gzBytes = gzipSync(batch).length;
  const gzipUsPerEntry = ((performance.now() - gz0) * 1000) / (gzRounds * 250);

  // --- memory held with the broker down and the queue full at the defaults -------------
  const port = await closedPort();
  gc();
  const before = process.memoryUsage();
  const down = createWitnessProducer({ brokers: [`127.0.0.1:${port}`], topic: topic('down'), flushTimeoutMs: 1 });
  const fillAttempts = 12_000;
  for (let i = 0; i < fillAttempts; i++) down.record(pool[i % pool.length]!);
  const dropCost = new Float64Array(n(20_000));
  for (let i = 0; i < dropCost.length; i++) {
    const t0 = performance.now();
    down.record(pool[i % pool.length]!);
    dropCost[i] = (performance.now() - t0) * 1000;
  }
  await sleep(200);
  gc();
  const after = process.memoryUsage();
  const downStats = down.stats();
  await down.close();
  const dropped = summarise(dropCost);

  // --- report ----------------------------------------------------------------------
  console.log('## record() cost on the caller (validate + encode + enqueue), sender running');
  console.log(`calls: ${int(costCalls)} after ${int(warmup)} warm-up, queue never full`);
  for (const [label, s] of Object.entries(costResults)) {
    console.log(`  ${label.padEnd(24)} median ${fmt(s.median)} µs   p99 ${fmt(s.p99)} µs   max ${fmt(s.max)} µs`);
  }
  console.log(`  ${'queue full (drop path)'.padEnd(24)} median ${fmt(dropped.median)} µs   p99 ${fmt(dropped.p99)} µs   max ${fmt(dropped.max)} µs`);
  console.log('');
  console.log(`## naive: await producer.send({ messages: [{ value: JSON.stringify(entry) }] }) per request`);
  console.log(`calls: ${int(naiveCalls)}, kafkajs default producer, ${int(jsonBytes / naiveCalls)} bytes of JSON per entry`);
  console.log(`  per call                 median ${fmt(naiveCost.median)} µs   p99 ${fmt(naiveCost.p99)} µs   max ${fmt(naiveCost.max)} µs`);
  console.log(`  throughput               ${int(naiveRate)} entries/s`);
  console.log('');
  const ours = costResults['number[] embeddings']!;
  console.log('## ratio (naive / witness producer)');
  console.log(`  per-call cost            ${fmt(naiveCost.median / ours.median, 0)}× cheaper (median), ${fmt(naiveCost.p99 / ours.p99, 0)}× (p99)`);
  console.log(`  throughput               ${fmt(rates.none! / naiveRate, 1)}× more entries/s`);
  console.log('');
  console.log(`## sustained throughput: ${int(throughputCount)} entries, first record() to flush() resolved`);
  console.log(`  compression none         ${int(rates.none!)} entries/s  (${fmt((rates.none! * entryBytes) / 1024 / 1024, 1)} MiB/s)`);
  console.log(`  compression gzip         ${int(rates.gzip!)} entries/s`);
  console.log('');
  console.log('## compression of a 250-entry batch (what kafkajs GZIP does to the records)');
  console.log(`  none                     ${int(batch.length / 250)} bytes/entry`);
  console.log(`  gzip                     ${int(gzBytes / 250)} bytes/entry (${fmt((100 * gzBytes) / batch.length, 1)} %), ${fmt(gzipUsPerEntry)} µs CPU/entry`);
  console.log('');
  console.log('## memory with the broker down (closed port), queue full at the defaults');
  console.log(
    `  after ${int(fillAttempts)} + ${int(dropCost.length)} record() calls: pending ${int(downStats.pending)} entries, ${mib(downStats.pending_bytes)}; ` +
      `dropped queue_full ${int(downStats.dropped.queue_full)}`,
  );
  console.log(
    `  rss +${mib(after.rss - before.rss)}   heapUsed +${mib(after.heapUsed - before.heapUsed)}   ` +
      `external +${mib(after.external - before.external)} (arrayBuffers +${mib(after.arrayBuffers - before.arrayBuffers)})`,
  );
  console.log('');
  console.log(`total ${fmt((performance.now() - totalStarted) / 1000, 1)} s`);

  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
}

await main();
