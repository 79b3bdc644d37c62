// Where the consumer's limit is (issue 23): in one run, on the same entries and
// the same collection settings (the consumer's own), into the stack's Qdrant:
//   (a) Qdrant alone: the consumer's exact points (entryToPoint, with the digest
//       the consumer adds) as pre-serialized insert_only upserts, wait=true, 100
//       points each, at 1, 2 and 4 in flight: the best of them is the ceiling;
//   (b) our witness-consumer service process on a pre-filled topic (one row per
//       CONSUMER_ROWS entry: extra env, skipped when the setting does not exist);
//   (c) qdrant-kafka 1.4.1 (../shared/qdrant-kafka) in a Connect worker, on the
//       same points as its JSON, skipped with a note where the folder is absent;
//   (d) the naive consumer (eachMessage, one awaited upsert each), time-boxed;
// and the end-to-end p50/p99 at 50 % and 90 % of (b)'s rate. With two or more
// cores all of it runs twice: pinned (Qdrant on core 0, the rest on the others,
// every thread, by taskset) and unpinned. Rates count points visible in Qdrant
// (bench/support/visible.ts); CPU is /proc utime+stime of each process.
//
//   node --conditions=witnesslog-src --import tsx bench/consumer-pace.bench.ts   (stack up; or npm run bench -- pace)
//
// WITNESS_BENCH_SCALE scales the entries (6,000) and time boxes; WITNESS_BENCH_PROFILE=1
// runs the default consumer row under --cpu-prof and prints its top 20 by self time.
// Reports, never fails on a missed target.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { CONFIG_DEFAULTS, entryToPoint } from '@witnesslog/consumer';
import { createCodec } from '@witnesslog/schemas';
import { entryDigest } from '../consumer/src/store/point.js';
import { stackConfig } from '../local/services.js';
import { restProtocol, type CeilingProtocol } from './support/ceiling.js';
import { startConsumerChild } from './support/consumer-child.js';
import { DIM, makeEntries } from './support/entries.js';
import { deleteTopics, fillTopic } from './support/fill-topic.js';
import { measureLatency } from './support/latency.js';
import { measureCeiling, measureNaive, measureOurs, measureQdrantKafka, unique, withCollection, type PaceContext } from './support/pace-runs.js';
import { printSet, printTargets, reportSet, oursDefault, type PaceRow, type PaceSet } from './support/pace-table.js';
import { busiestProfile, summariseProfile } from './support/cpuprofile.js';
import { coreSplit, pin, stackPids } from './support/proc.js';
import { qdrantKafkaHome, toSinkMessage } from './support/qdrant-kafka.js';
import { fmt, int, machine, scale, scaled } from './support/report.js';

const cfg = stackConfig();
const brokers = (process.env.WITNESS_KAFKA_BROKERS ?? `127.0.0.1:${cfg.kafkaPort}`).split(',');
const qdrantUrl = process.env.WITNESS_QDRANT_URL ?? `http://127.0.0.1:${cfg.qdrantPort}`;
const grpcUrl = process.env.WITNESS_QDRANT_GRPC_URL ?? `http://127.0.0.1:${cfg.qdrantGrpcPort}`;
const ENTRIES = scaled(6_000);
const IN_FLIGHT = [1, 2, 4];
const NAIVE_SECONDS = 6 * Math.min(scale, 5);
const LATENCY_SECONDS = 20 * Math.min(scale, 3);
const PROFILE = process.env.WITNESS_BENCH_PROFILE === '1';
const outDir = join(cfg.runDir, 'bench');

// A consumer row is one line: its label, the extra env, and the settings it needs to exist.
const CONSUMER_ROWS: Array<{ label: string; env: Record<string, string> }> = [
  { label: 'ours: witness-consumer, default settings', env: {} },
  { label: 'ours, REST write path', env: { WITNESS_QDRANT_WRITE_PROTOCOL: 'rest' } },
  { label: 'ours, gRPC write path', env: { WITNESS_QDRANT_WRITE_PROTOCOL: 'grpc' } },
];
// The ceiling's write protocols: a gRPC UpsertPoints one joins this list when the consumer has one.
const protocols: CeilingProtocol[] = [restProtocol(qdrantUrl)];

const step = (what: string) => process.stderr.write(`[pace] ${what}\n`);
const unknownSettings = (env: Record<string, string>) => Object.keys(env).filter((k) => !(k in CONFIG_DEFAULTS));

async function consumerRows(ctx: PaceContext, topic: string, set: string): Promise<PaceRow[]> {
  const rows: PaceRow[] = [];
  for (const [i, row] of CONSUMER_ROWS.entries()) {
    const unknown = unknownSettings(row.env);
    if (unknown.length > 0) {
      rows.push({ label: row.label, skipped: `${unknown.join(', ')} is not a consumer setting yet (CONFIG_DEFAULTS)` });
      continue;
    }
    const profileDir = PROFILE && i === 0 ? join(outDir, 'profiles', `${set}-${Date.now()}`) : undefined;
    const figures = await measureOurs(ctx, topic, row.env, profileDir);
    rows.push({ label: row.label, figures });
    if (profileDir) printProfile(profileDir, `${row.label}, ${set}`);
  }
  return rows;
}

function printProfile(dir: string, what: string): void {
  const busiest = busiestProfile(dir);
  if (!busiest) return console.log(`\n### no CPU profile was written under ${dir}`);
  console.log(`\n### CPU profile of "${what}": ${busiest.file}`);
  console.log(`    main thread busy ${int(busiest.busyMs)} ms over the process's life (start-up included; idle left out); top 20 by self time:`);
  console.log(summariseProfile(busiest.file, 20));
}

async function latencyRows(ctx: PaceContext, maxRate: number | undefined): Promise<PaceSet['latency']> {
  const out: PaceSet['latency'] = [];
  for (const share of [0.5, 0.9]) {
    if (!maxRate) {
      out.push({ share, error: 'no maximum rate measured' });
      continue;
    }
    const topic = unique('latency').replace(/_/g, '-');
    try {
      await fillTopic(ctx.kafka, topic, []);
      const pool = makeEntries(500);
      const result = await withCollection(ctx, 'latency', async (collection) => {
        const child = await startConsumerChild({ brokers: ctx.brokers, qdrantUrl: ctx.qdrantUrl, topic, group: unique('latency_group'), collection });
        if (ctx.restCores) pin(child.pid, ctx.restCores);
        try {
          await child.ready(); // a consumer still starting would be measured as latency
          return await measureLatency({ brokers: ctx.brokers, topic, url: ctx.qdrantUrl, collection, rate: Math.round(share * maxRate), seconds: LATENCY_SECONDS, pool });
        } finally {
          await child.stop();
        }
      });
      out.push({ share, result });
    } catch (err) {
      out.push({ share, error: (err as Error).message });
    } finally {
      await deleteTopics(ctx.kafka, [topic]);
    }
  }
  return out;
}

async function runSet(ctx: PaceContext, name: PaceSet['name'], topics: { avro: string; json?: string }, qkHome: string | undefined): Promise<PaceSet> {
  const ceilings = [];
  step(`${name}: Qdrant alone`);
  for (const protocol of protocols) for (const n of IN_FLIGHT) ceilings.push(await measureCeiling(ctx, protocol, n));
  step(`${name}: our consumer service`);
  const ours = await consumerRows(ctx, topics.avro, name);
  step(`${name}: qdrant-kafka, then the naive consumer, then end-to-end latency`);
  const qdrantKafka: PaceRow = { label: 'qdrant-kafka 1.4.1 (Connect JVM)' };
  if (!qkHome || !topics.json) qdrantKafka.skipped = 'no ../shared/qdrant-kafka on this machine';
  else qdrantKafka.figures = await measureQdrantKafka(ctx, qkHome, topics.json);
  const naive: PaceRow = { label: `naive eachMessage + one upsert each (${NAIVE_SECONDS} s box)`, figures: await measureNaive(ctx, topics.avro, NAIVE_SECONDS) };
  const set: PaceSet = { name, ceilings, ours, qdrantKafka, naive, latency: [] };
  set.latency = await latencyRows(ctx, oursDefault(set)?.rate);
  return set;
}

function applyPinning(ctx: PaceContext, cores: ReturnType<typeof coreSplit>, pinned: boolean): void {
  if (!cores) return;
  const { qdrant, kafka } = ctx.stackPids;
  if (qdrant) pin(qdrant, pinned ? cores.qdrant : cores.all);
  if (kafka) pin(kafka, pinned ? cores.rest : cores.all);
  pin(process.pid, pinned ? cores.rest : cores.all); // the load, the naive consumer, and what this process spawns
  ctx.restCores = pinned ? cores.rest : undefined;
}

async function main(): Promise<void> {
  const started = Date.now();
  const kafka = new kafkajs.Kafka({ brokers, clientId: 'pace-bench', logLevel: kafkajs.logLevel.NOTHING });
  const codec = createCodec({ dim: DIM });
  const encoded = makeEntries(ENTRIES).map((e) => codec.encode(e));
  // What the consumer stores: the decoded entry as a point, with the digest of its message.
  const points = encoded.map((value) => entryToPoint(codec.decode(value), entryDigest(value)));
  const pids = stackPids(cfg.runDir);
  const ctx: PaceContext = { kafka, codec, brokers, qdrantUrl, grpcUrl, points, stackPids: pids as PaceContext['stackPids'], scale };
  const engine = process.env.WITNESSLOG_QDRANT_ENGINE ?? 'server';
  const cores = engine === 'server' && pids.qdrant ? coreSplit() : undefined;
  const qkHome = qdrantKafkaHome();
  console.log('# witnesslog consumer pace benchmark (issue 23)');
  console.log(`machine: ${machine()}; broker ${brokers.join(',')} (pid ${pids.kafka ?? '?'}); Qdrant ${qdrantUrl} (${engine}, pid ${pids.qdrant ?? '?'}); WITNESS_BENCH_SCALE=${scale}`);
  console.log(`entries: ${int(ENTRIES)} (${DIM}-dim query + response, full payload, ${int(encoded.reduce((a, b) => a + b.length, 0) / ENTRIES)} bytes of Avro each)`);
  if (!cores) console.log(`pinning: not done (${engine !== 'server' ? 'the embedded engine is not the Qdrant server' : !pids.qdrant ? 'no Qdrant pid file under the run folder' : 'one core'}): unpinned figures only`);
  if (!qkHome) console.log('qdrant-kafka: ../shared/qdrant-kafka is absent: its row is skipped');

  const avro = unique('pace_avro').replace(/_/g, '-');
  const json = qkHome ? unique('pace_json').replace(/_/g, '-') : undefined;
  await fillTopic(kafka, avro, encoded.map((value, i) => ({ key: points[i]!.payload.session_id, value })));
  // The sink's JSON messages are ~32 KB each: Kafka batches of 20 stay under the broker's 1 MiB request limit.
  if (json) await fillTopic(kafka, json, points.map((p) => ({ key: p.payload.session_id, value: toSinkMessage(p, 'witness_log') })), { batch: 20 });

  const sets: PaceSet[] = [];
  try {
    for (const pinned of cores ? [true, false] : [false]) {
      applyPinning(ctx, cores, pinned);
      const set = await runSet(ctx, pinned ? 'pinned' : 'unpinned', { avro, ...(json ? { json } : {}) }, qkHome);
      sets.push(set);
      printSet(set);
      printTargets(set);
    }
  } finally {
    applyPinning(ctx, cores, false);
    await deleteTopics(kafka, [avro, ...(json ? [json] : [])]);
  }
  for (const set of sets) reportSet(set);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'consumer-pace.json');
  writeFileSync(file, `${JSON.stringify({ machine: machine(), entries: ENTRIES, scale, engine, sets }, null, 2)}\n`);
  console.log(`\nevery figure as JSON: ${file}\ntotal ${fmt((Date.now() - started) / 1000, 1)} s`);
}

await main();
process.exit(0);
