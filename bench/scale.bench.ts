// Throughput with consumer instances added: entries/s into the Qdrant cluster
// (3 peers, 3 shards, 2 replicas) with 1, 2 and 3 consumer service processes in
// one group, reading the same 12-partition topic on the 3-node Kafka cluster,
// beside 1 instance into a single Qdrant node in the same run. CPU per entry is
// the consumer processes' own (process_cpu_seconds_total) and the whole machine's
// (every node shares the same 2 cores here, so the machine figure is what bounds it).
//
//   npm run bench -- scale        (starts the cluster profile, runs this, stops it)
//
// WITNESS_BENCH_SCALE (default 1) multiplies the entry count.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { QdrantClient } from '@qdrant/js-client-rest';
import kafkajs from 'kafkajs';
import { createCodec } from '@witnesslog/schemas';
import { clusterConfig, clusterEnv } from '../local/cluster.js';
import { consumerService, loadToolchain, qdrantService, stackConfig, type Service } from '../local/services.js';
import { httpGet } from '../test/support/http.js';
import { sample } from '../test/support/metrics.js';
import { freePort } from '../test/support/net.js';
import { DIM, makeEntries } from './support/entries.js';
import { fmt, int, measured, report, scaled } from './support/report.js';

if (!process.env.WITNESSLOG_CLUSTER_QDRANT_URLS) {
  process.stderr.write('bench/scale: skipped, it needs the cluster profile (run it as `npm run bench -- scale`)\n');
  process.exit(0);
}

const ENTRIES = scaled(6_000);
const PARTITIONS = 12;
const tools = loadToolchain();
const cc = clusterConfig(stackConfig());
const env = clusterEnv(cc);
const brokers = env.WITNESS_KAFKA_BROKERS!.split(',');
const kafka = new kafkajs.Kafka({ brokers, clientId: 'scale-bench', logLevel: kafkajs.logLevel.NOTHING });
const unique = (what: string) => `bench_scale_${what}_${randomUUID().slice(0, 8)}`;
const dirs: string[] = [];

async function fillTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const codec = createCodec({ dim: DIM });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner, idempotent: true });
  await producer.connect();
  for (let i = 0; i < ENTRIES; i += 500) {
    // A fresh batch of distinct entries each time: ids are what Qdrant stores.
    const messages = makeEntries(Math.min(500, ENTRIES - i)).map((e) => ({ key: e.session_id, value: codec.encode(e) }));
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();
}

/** Busy CPU seconds of the whole machine so far (all cores). */
function machineCpuSeconds(): number {
  return cpus().reduce((sum, c) => sum + (c.times.user + c.times.nice + c.times.sys + c.times.irq) / 1000, 0);
}

interface Run {
  rate: number;
  consumerCpuUs: number;
  machineCpuUs: number;
}

/** `instances` consumer processes in one new group, from the start of the topic to its end. */
async function run(topic: string, instances: number, qdrantUrl: string, extraEnv: Record<string, string>): Promise<Run> {
  const groupId = unique('group');
  const collection = unique('col');
  const services: Array<{ service: Service; url: string }> = [];
  for (let i = 0; i < instances; i++) {
    const port = await freePort();
    const runDir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
    dirs.push(runDir);
    const service = consumerService(stackConfig({ ...process.env, METRICS_PORT: String(port), WITNESSLOG_RUN_DIR: runDir }), tools, {
      ...env,
      ...extraEnv,
      WITNESS_QDRANT_URL: qdrantUrl,
      WITNESS_TOPIC: topic,
      WITNESS_DLQ_TOPIC: `${topic}.dlq`,
      WITNESS_GROUP_ID: groupId,
      WITNESS_COLLECTION: collection,
      WITNESS_EMBEDDING_DIM: String(DIM),
      LOG_LEVEL: 'warn',
    });
    services.push({ service, url: `http://127.0.0.1:${port}` });
  }
  // The collection first, so no instance races another to create it.
  await Promise.all(services.map((s) => s.service.start()));
  const scrape = async () => {
    const texts = await Promise.all(services.map(async (s) => (await httpGet(`${s.url}/metrics`)).text));
    return {
      written: texts.reduce((sum, t) => sum + sample(t, 'witness_entries_upserted_total') + sample(t, 'witness_entries_dead_lettered_total'), 0),
      cpu: texts.reduce((sum, t) => sum + sample(t, 'process_cpu_seconds_total'), 0),
    };
  };
  // Timed from the first write to the last: process start-up and the group join are not throughput.
  let start = await scrape();
  while (start.written === 0) {
    await sleep(50);
    start = await scrape();
  }
  const t0 = performance.now();
  const m0 = machineCpuSeconds();
  let now = start;
  const deadline = Date.now() + 600_000;
  while (now.written < ENTRIES) {
    if (Date.now() > deadline) throw new Error(`${instances} instance(s): ${now.written} of ${ENTRIES} written after 10 minutes`);
    await sleep(100);
    now = await scrape();
  }
  const seconds = (performance.now() - t0) / 1000;
  const entries = now.written - start.written;
  const result = {
    rate: entries / seconds,
    consumerCpuUs: ((now.cpu - start.cpu) * 1e6) / entries,
    machineCpuUs: ((machineCpuSeconds() - m0) * 1e6) / entries,
  };
  await Promise.all(services.map((s) => s.service.stop()));
  await new QdrantClient({ url: qdrantUrl, checkCompatibility: false }).deleteCollection(collection).catch(() => {});
  return result;
}

async function main(): Promise<void> {
  const topic = unique('topic');
  await fillTopic(topic);
  // The single-node figure of the same run: one Qdrant server of its own, same Kafka cluster.
  const dir = mkdtempSync(join(tmpdir(), 'bench-scale-qdrant-'));
  dirs.push(dir);
  const single = qdrantService(stackConfig({ ...process.env, QDRANT_PORT: String(await freePort()), QDRANT_GRPC_PORT: String(await freePort()), WITNESSLOG_RUN_DIR: dir }), tools, { QDRANT_LOCAL: '0' });
  await single.start();
  const clusterUrl = env.WITNESS_QDRANT_URL!;
  const noReplication = { WITNESS_SHARD_NUMBER: '', WITNESS_REPLICATION_FACTOR: '', WITNESS_WRITE_CONSISTENCY_FACTOR: '' };
  try {
    const REPEATS = 2;
    const results: Record<string, Run[]> = { single: [], c1: [], c2: [], c3: [] };
    for (let r = 0; r < REPEATS; r++) {
      results.single!.push(await run(topic, 1, single.address, noReplication));
      for (const n of [1, 2, 3]) results[`c${n}`]!.push(await run(topic, n, clusterUrl, {}));
    }
    const over = (runs: Run[], key: keyof Run) => measured(runs.map((x) => x[key]));
    const singleRate = over(results.single!, 'rate');
    for (const n of [1, 2, 3]) {
      const runs = results[`c${n}`]!;
      report({
        figure: `entries/s into the Qdrant cluster (3 peers, RF 2), ${n} consumer instance${n > 1 ? 's' : ''}, 12 partitions`,
        unit: 'entries/s',
        better: 'higher',
        ours: over(runs, 'rate'),
        baseline: { label: '1 instance into one Qdrant node', ...singleRate },
      });
      report({ figure: `consumer CPU per entry, ${n} instance${n > 1 ? 's' : ''} (cluster)`, unit: 'µs', better: 'lower', ours: over(runs, 'consumerCpuUs'), baseline: { label: 'one Qdrant node', ...over(results.single!, 'consumerCpuUs') } });
      report({ figure: `machine CPU per entry (Kafka ×3, Qdrant ×3, consumers), ${n} instance${n > 1 ? 's' : ''}`, unit: 'µs', better: 'lower', ours: over(runs, 'machineCpuUs'), note: `${cpus().length} cores shared by every node` });
      process.stdout.write(
        `${n} instance(s): ${int(over(runs, 'rate').median)} entries/s (single node, 1 instance: ${int(singleRate.median)}), consumer CPU ${fmt(over(runs, 'consumerCpuUs').median, 0)} µs/entry, machine CPU ${fmt(over(runs, 'machineCpuUs').median, 0)} µs/entry\n`,
      );
    }
    process.stdout.write(`single node: consumer CPU ${fmt(over(results.single!, 'consumerCpuUs').median, 0)} µs/entry, machine CPU ${fmt(over(results.single!, 'machineCpuUs').median, 0)} µs/entry\n`);
  } finally {
    await single.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

await main();
