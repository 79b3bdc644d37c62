// The consumer against the one a user would otherwise write: kafkajs eachMessage,
// decode, one awaited upsert per message. Both read the same 768-dim entries
// from the same topic in the same run, into each Qdrant engine at hand (the real
// server and the embedded one where the server binary is present:
// bench/support/qdrant-engines.ts) and into a parse-only sink
// (bench/support/parse-only-qdrant.ts), which shows what our own code and Kafka
// allow once Qdrant's storage is out of the way.
//
//   node --conditions=witnesslog-src --import tsx bench/consumer.bench.ts
//
// WITNESS_KAFKA_BROKERS (default 127.0.0.1:9092), WITNESS_QDRANT_URL (default http://127.0.0.1:6333);
// WITNESS_BENCH_SCALE (default 1) multiplies the counts and time boxes.
// Target (reported, not asserted): our code ≤ 40 µs CPU per entry.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { QdrantClient } from '@qdrant/js-client-rest';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createCodec, type WitnessEntry } from '@witnesslog/schemas';
import { createWitnessConsumer, ensureCollection, entryToPoint, loadConfig } from '@witnesslog/consumer';
import { DIM, makeEntries } from './support/entries.js';
import { runNaiveConsumer } from './support/naive-consumer.js';
import { startParseOnlyQdrant } from './support/parse-only-qdrant.js';
import { qdrantTargets } from './support/qdrant-engines.js';
import { fmt, int, machine, measured, report, scale, scaled, type Measured } from './support/report.js';

const brokers = (process.env.WITNESS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const qdrantUrl = process.env.WITNESS_QDRANT_URL ?? 'http://127.0.0.1:6333';
const ENTRIES = scaled(6_000); // per run of our consumer
const NAIVE_SECONDS = 6 * Math.min(scale, 5); // the naive consumer is time-boxed: it would take minutes
const REPEATS = 3;
const silent = pino({ level: 'silent' });

const kafka = new kafkajs.Kafka({ brokers, clientId: 'consumer-bench', logLevel: kafkajs.logLevel.NOTHING });
const codec = createCodec({ dim: DIM });
const unique = (what: string) => `bench_${what}_${randomUUID().slice(0, 8)}`;
// The Qdrant engines of this run (a parse-only sink has no collections to create or drop).
const qdrantUrls = new Set<string>();

/** The topic every run reads: ENTRIES distinct entries (ids are what Qdrant stores), 3 partitions. */
async function fillTopic(topic: string, entries: WitnessEntry[]): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  let bytes = 0;
  for (let i = 0; i < entries.length; i += 200) {
    const messages = entries.slice(i, i + 200).map((e) => {
      const value = codec.encode(e);
      bytes += value.length;
      return { key: e.session_id, value };
    });
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();
  return bytes / entries.length;
}

interface RunResult {
  rate: number;
  cpuUsPerEntry: number;
}

/** Our consumer, defaults (100 entries / 1 s batches, 1,000 buffered), from the start of the topic to its end. */
async function runOurs(topic: string, url: string): Promise<RunResult> {
  const collection = unique('ours');
  const config = loadConfig({
    WITNESS_KAFKA_BROKERS: brokers.join(','),
    WITNESS_QDRANT_URL: url,
    WITNESS_TOPIC: topic,
    WITNESS_DLQ_TOPIC: `${topic}.dlq`,
    WITNESS_GROUP_ID: unique('ours-group'),
    WITNESS_COLLECTION: collection,
    WITNESS_EMBEDDING_DIM: String(DIM),
    LOG_LEVEL: 'silent',
  });
  const consumer = createWitnessConsumer({ config, registry: new Registry(), logger: silent });
  let written = 0;
  let deadLettered = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  consumer.on('flush', (e) => {
    written += e.written;
    deadLettered += e.deadLettered;
    if (written + deadLettered >= ENTRIES) done();
  });
  const joined = new Promise<void>((resolve) => consumer.on('group_join', () => resolve()));
  await consumer.start();
  await joined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await consumer.close();
  if (deadLettered > 0) throw new Error(`${deadLettered} entries dead-lettered in a clean run`);
  if (qdrantUrls.has(url)) await new QdrantClient({ url, checkCompatibility: false }).deleteCollection(collection);
  return { rate: ENTRIES / seconds, cpuUsPerEntry: (cpu.user + cpu.system) / ENTRIES };
}

/** What a user would write (bench/support/naive-consumer.ts), time-boxed. */
async function runNaive(topic: string, url: string): Promise<RunResult & { entries: number }> {
  const collection = unique('naive');
  const client = new QdrantClient({ url, checkCompatibility: false });
  if (qdrantUrls.has(url)) await ensureCollection(client, { collection, dim: DIM, logger: silent });
  const result = await runNaiveConsumer({ kafka, codec, topic, groupId: unique('naive-group'), url, collection, maxEntries: ENTRIES, seconds: NAIVE_SECONDS });
  if (qdrantUrls.has(url)) await client.deleteCollection(collection);
  return result;
}

/** CPU µs per entry of our code alone, on a 100-entry batch: decode, map to a point, serialize the upsert body. */
function ourCodeCost(messages: Buffer[]): Record<'decode' | 'map' | 'serialize' | 'total' | 'stringify', Measured> {
  const rounds = { decode: [] as number[], map: [] as number[], serialize: [] as number[], total: [] as number[], stringify: [] as number[] };
  const batch = 100;
  for (let r = 0; r < 40; r++) {
    const slice = messages.slice((r * batch) % messages.length).slice(0, batch);
    const t0 = performance.now();
    const entries = slice.map((m) => codec.decode(m));
    const t1 = performance.now();
    const points = entries.map((e) => entryToPoint(e));
    const t2 = performance.now();
    JSON.stringify({ points }); // what the Qdrant client sends
    const t3 = performance.now();
    // The body as it was with float vectors, for comparison.
    JSON.stringify({ points: entries.map((e, i) => ({ ...points[i], vector: { query: Array.from(e.query_embedding), response: Array.from(e.response_embedding) } })) });
    const t4 = performance.now();
    if (r < 10) continue; // warm-up
    const us = (ms: number) => (ms * 1000) / slice.length;
    rounds.decode.push(us(t1 - t0));
    rounds.map.push(us(t2 - t1));
    rounds.serialize.push(us(t3 - t2));
    rounds.total.push(us(t3 - t0));
    rounds.stringify.push(us(t4 - t3));
  }
  const m = (xs: number[]) => measured(xs);
  return { decode: m(rounds.decode), map: m(rounds.map), serialize: m(rounds.serialize), total: m(rounds.total), stringify: m(rounds.stringify) };
}

const range = (m: Measured, digits = 0) => `${fmt(m.median, digits)} (${fmt(m.min, digits)}–${fmt(m.max, digits)})`;
const over = (results: RunResult[], key: keyof RunResult) => measured(results.map((r) => r[key]));
// (Memory is measured in bench/e2e.bench.ts, on the consumer service's own process: this one holds the bench's entries too.)

async function main(): Promise<void> {
  const started = performance.now();
  console.log('# witnesslog consumer benchmark');
  console.log(`machine: ${machine()}; broker ${brokers.join(',')}; Qdrant ${qdrantUrl}; WITNESS_BENCH_SCALE=${scale}`);
  const entries = makeEntries(ENTRIES);
  const topic = unique('consumer-topic');
  const bytes = await fillTopic(topic, entries);
  console.log(`topic: ${int(ENTRIES)} entries (${DIM}-dim query + response, ${int(bytes)} bytes each), 3 partitions`);
  console.log(`ours: ${REPEATS} runs of the whole topic each, default batching; naive: ${REPEATS} runs of ${NAIVE_SECONDS} s each\n`);

  const sink = await startParseOnlyQdrant(DIM);
  const engines = await qdrantTargets(qdrantUrl);
  for (const t of engines.targets) qdrantUrls.add(t.url);
  const into = engines.targets.map((t) => ({ ...t, ours: [] as RunResult[], naive: [] as RunResult[] }));
  const results = { oursSink: [] as RunResult[], naiveSink: [] as RunResult[] };
  try {
    await runOurs(topic, sink.url); // warm-up: JIT, connections, the topic in the page cache
    for (let i = 0; i < REPEATS; i++) {
      for (const t of into) {
        t.ours.push(await runOurs(topic, t.url));
        t.naive.push(await runNaive(topic, t.url));
      }
      results.oursSink.push(await runOurs(topic, sink.url));
      results.naiveSink.push(await runNaive(topic, sink.url));
    }
  } finally {
    sink.close();
    await engines.close();
  }
  const messages = entries.slice(0, 1_000).map((e) => codec.encode(e));
  const cost = ourCodeCost(messages);

  const rows: Array<[string, RunResult[]]> = [
    ...into.flatMap((t): Array<[string, RunResult[]]> => [[`ours → ${t.label}`, t.ours], [`naive → ${t.label}`, t.naive]]),
    ['ours → parse-only sink', results.oursSink],
    ['naive → parse-only sink', results.naiveSink],
  ];
  console.log('## sustained entries/s, and this process\'s CPU per entry (kafkajs, our code, HTTP client); median (min–max)');
  for (const [label, r] of rows) {
    console.log(`  ${label.padEnd(36)} ${range(over(r, 'rate')).padStart(24)} entries/s   ${range(over(r, 'cpuUsPerEntry')).padStart(18)} µs CPU/entry`);
  }
  const rate = (r: RunResult[]) => over(r, 'rate').median;
  for (const t of into) console.log(`  ratio into the ${t.label} ${fmt(rate(t.ours) / rate(t.naive), 1)}×`);
  console.log(`  ratio into the parse-only sink ${fmt(rate(results.oursSink) / rate(results.naiveSink), 1)}×`);
  console.log('');
  console.log('## our code alone, µs CPU per entry on 100-entry batches, median (min–max) of 30 batches');
  console.log(`  decode (Avro + validation)     ${range(cost.decode, 1)}`);
  console.log(`  map to a Qdrant point          ${range(cost.map, 1)}`);
  console.log(`  serialize the upsert body      ${range(cost.serialize, 1)}`);
  console.log(`  (the same body with float vectors: ${range(cost.stringify, 1)}; integers are what makes the difference)`);
  console.log(`  total                          ${range(cost.total, 1)}   (target ≤ 40)`);
  console.log('');
  console.log(`total ${fmt((performance.now() - started) / 1000, 1)} s`);

  const naiveLabel = 'naive eachMessage + one upsert each';
  for (const t of into) {
    report({ figure: `consumer entries/s into the ${t.label}`, unit: 'entries/s', better: 'higher', ours: over(t.ours, 'rate'), baseline: { label: naiveLabel, ...over(t.naive, 'rate') } });
    report({ figure: `consumer process CPU per entry (${t.label})`, unit: 'µs', better: 'lower', ours: over(t.ours, 'cpuUsPerEntry'), baseline: { label: naiveLabel, ...over(t.naive, 'cpuUsPerEntry') } });
  }
  report({ figure: 'consumer entries/s into a parse-only sink', unit: 'entries/s', better: 'higher', ours: over(results.oursSink, 'rate'), baseline: { label: naiveLabel, ...over(results.naiveSink, 'rate') } });
  report({ figure: 'consumer process CPU per entry (parse-only sink)', unit: 'µs', better: 'lower', ours: over(results.oursSink, 'cpuUsPerEntry'), baseline: { label: naiveLabel, ...over(results.naiveSink, 'cpuUsPerEntry') } });
  report({ figure: 'our code CPU per entry (decode, map, serialize)', unit: 'µs', better: 'lower', ours: cost.total, target: { op: '<=', value: 40 } });

  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
}

await main();
process.exit(0);
