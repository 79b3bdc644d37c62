// End-to-end latency: from record() on a producer host to the entry being
// returned by a Qdrant query, at a steady rate, with the default batching
// (100 entries or 1 s). The consumer is the service itself, in its own process.
//
//   node --conditions=witnesslog-src --import tsx bench/e2e.bench.ts
//
// Two runs, because the local Qdrant server (Python, qdrant-client local mode)
// stores about 1,700 768-dim entries/s in bulk (bench/consumer.bench.ts) and falls
// behind at 2,000/s, where the real Qdrant would not:
// - into the local Qdrant server at LOCAL_RATE (1,000/s), ending when a retrieve()
//   by id, polled every 100 ms, returns the point;
// - into the parse-only sink at 2,000/s, ending when the sink has parsed the
//   acknowledged upsert that holds the entry (a real Qdrant adds its indexing).
// Also the peak memory of the consumer process (VmHWM) and of this producer host.
// KAFKA_BROKERS, QDRANT_URL as for the other benches; WITNESS_BENCH_SCALE scales the durations.
// Target (reported, not asserted): p99 ≤ 2 s at 2,000 entries/s.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { QdrantClient } from '@qdrant/js-client-rest';
import kafkajs from 'kafkajs';
import { createWitnessProducer, type WitnessProducer } from '@witnesslog/producer';
import { freePort } from '../test/support/net.js';
import { makeEntries } from './support/entries.js';
import { startParseOnlyQdrant } from './support/parse-only-qdrant.js';
import { fmt, int, machine, measured, mib, percentile, report, scaled, type Measured } from './support/report.js';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const qdrantUrl = process.env.QDRANT_URL ?? 'http://127.0.0.1:6333';
const SECONDS = scaled(15);
const WARMUP_SECONDS = 3;
const WINDOWS = 3;
const LOCAL_RATE = 1_000;
const TARGET_RATE = 2_000;
const mainTs = fileURLToPath(new URL('../consumer/src/main.ts', import.meta.url));
const kafka = new kafkajs.Kafka({ brokers, clientId: 'e2e-bench', logLevel: kafkajs.logLevel.NOTHING });


/** The consumer service in its own process, ready (joined, Qdrant reachable). */
async function startConsumer(topic: string, url: string): Promise<{ child: ChildProcess; peakRss(): number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--conditions=witnesslog-src', '--import', 'tsx', mainTs], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      QDRANT_URL: url,
      WITNESS_TOPIC: topic,
      WITNESS_DLQ_TOPIC: `${topic}.dlq`,
      WITNESS_GROUP_ID: `${topic}-group`,
      WITNESS_COLLECTION: topic.replace(/-/g, '_'),
      WITNESS_EMBEDDING_DIM: '768',
      METRICS_PORT: String(port),
      LOG_LEVEL: 'warn',
    },
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`consumer exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('consumer not ready within 60 s');
    await sleep(200);
  }
  return {
    child,
    // The kernel's high-water mark of the process's resident set: its true peak.
    peakRss: () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface RunResult {
  p50: Measured;
  p99: Measured;
  entries: number;
  achievedRate: number;
  consumerPeakRss: number;
  producerPeakRss: number;
}

/** Records at `rate` for SECONDS; `seen` reports when ids became readable. */
async function run(
  label: string,
  rate: number,
  url: string,
  seen: (pending: Set<string>) => Promise<Map<string, number>>,
): Promise<RunResult> {
  const topic = `bench-e2e-${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  const consumer = await startConsumer(topic, url);
  const producer: WitnessProducer = createWitnessProducer({ brokers, topic });
  const pool = makeEntries(1_000);
  const recordedAt = new Map<string, number>();
  const readableAt = new Map<string, number>();
  const pending = new Set<string>();
  let producerPeakRss = 0;

  // Poll for readable entries while recording.
  let polling = true;
  const poller = (async () => {
    while (polling || pending.size > 0) {
      const found = await seen(pending);
      for (const [id, at] of found) {
        if (!pending.delete(id)) continue;
        readableAt.set(id, at);
      }
      await sleep(100);
    }
  })();

  const started = Date.now();
  let sent = 0;
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    for (; sent < due; sent++) {
      const id = randomUUID();
      recordedAt.set(id, Date.now());
      pending.add(id);
      if (!producer.record({ ...pool[sent % pool.length]!, request_id: id })) throw new Error(`record() dropped entry ${sent}`);
    }
    producerPeakRss = Math.max(producerPeakRss, process.memoryUsage().rss);
    await sleep(5);
  }
  const achievedRate = sent / ((Date.now() - started) / 1000);
  await producer.flush();
  const giveUp = Date.now() + 60_000;
  while (pending.size > 0 && Date.now() < giveUp) await sleep(100);
  polling = false;
  const missing = pending.size;
  pending.clear();
  await poller;
  const consumerPeakRss = consumer.peakRss();
  await consumer.stop();
  await producer.close();
  if (missing > 0) throw new Error(`${label}: ${missing} of ${sent} entries never became readable`);

  // Latencies by window of record time, after the warm-up.
  const windowMs = ((SECONDS - WARMUP_SECONDS) * 1000) / WINDOWS;
  const windows: number[][] = Array.from({ length: WINDOWS }, () => []);
  for (const [id, at] of recordedAt) {
    const w = Math.floor((at - started - WARMUP_SECONDS * 1000) / windowMs);
    if (w >= 0 && w < WINDOWS) windows[w]!.push(readableAt.get(id)! - at);
  }
  const p = (q: number) => measured(windows.map((xs) => percentile(xs.sort((a, b) => a - b), q)));
  return { p50: p(0.5), p99: p(0.99), entries: sent, achievedRate, consumerPeakRss, producerPeakRss };
}

const ms = (m: Measured) => `${int(m.median)} ms (${int(m.min)}–${int(m.max)})`;

async function main(): Promise<void> {
  const t0 = Date.now();
  console.log('# witnesslog end-to-end latency benchmark');
  console.log(`machine: ${machine()}; broker ${brokers.join(',')}; Qdrant ${qdrantUrl}; ${SECONDS} s per run, first ${WARMUP_SECONDS} s warm-up, ${WINDOWS} windows\n`);

  const qdrant = new QdrantClient({ url: qdrantUrl, checkCompatibility: false });
  let localCollection = '';
  const local = await run('local Qdrant', LOCAL_RATE, qdrantUrl, async (pendingIds) => {
    const found = new Map<string, number>();
    const ids = [...pendingIds];
    if (ids.length === 0) return found;
    localCollection ||= (await qdrant.getCollections()).collections.map((c) => c.name).find((n) => n.startsWith('bench_e2e_')) ?? '';
    if (!localCollection) return found;
    for (let i = 0; i < ids.length; i += 500) {
      const points = await qdrant.retrieve(localCollection, { ids: ids.slice(i, i + 500), with_payload: false, with_vector: false }).catch(() => []);
      const now = Date.now();
      for (const p of points) found.set(String(p.id), now);
    }
    return found;
  });
  if (localCollection) await qdrant.deleteCollection(localCollection);

  const sink = await startParseOnlyQdrant(768);
  let fast: RunResult;
  try {
    fast = await run('parse-only sink', TARGET_RATE, sink.url, async () => new Map(Object.entries(await sink.arrivals())));
  } finally {
    sink.close();
  }

  console.log('## record() to readable, p50 and p99: median (min–max) over the windows');
  console.log(`  local Qdrant, ${int(local.achievedRate)}/s      p50 ${ms(local.p50)}   p99 ${ms(local.p99)}   (${int(local.entries)} entries; retrieve() polled every 100 ms)`);
  console.log(`  parse-only sink, ${int(fast.achievedRate)}/s  p50 ${ms(fast.p50)}   p99 ${ms(fast.p99)}   (${int(fast.entries)} entries; time the sink parsed the upsert)`);
  console.log('');
  console.log('## peak memory under load');
  console.log(`  consumer process (VmHWM)  ${mib(local.consumerPeakRss)} at ${int(local.achievedRate)}/s into local Qdrant, ${mib(fast.consumerPeakRss)} at ${int(fast.achievedRate)}/s`);
  console.log(`  producer host (this process, rss sampled) ${mib(fast.producerPeakRss)} at ${int(fast.achievedRate)}/s`);
  console.log(`\ntotal ${fmt((Date.now() - t0) / 1000, 1)} s`);

  report({ figure: `end-to-end p50, ${int(TARGET_RATE)}/s, record() → upsert parsed (sink)`, unit: 'ms', better: 'lower', ours: fast.p50 });
  report({ figure: `end-to-end p99, ${int(TARGET_RATE)}/s, record() → upsert parsed (sink)`, unit: 'ms', better: 'lower', ours: fast.p99, target: { op: '<=', value: 2_000 } });
  report({ figure: `end-to-end p50, ${int(LOCAL_RATE)}/s, record() → returned by local Qdrant`, unit: 'ms', better: 'lower', ours: local.p50 });
  report({ figure: `end-to-end p99, ${int(LOCAL_RATE)}/s, record() → returned by local Qdrant`, unit: 'ms', better: 'lower', ours: local.p99, note: 'the local Qdrant server falls behind at 2,000/s' });
  report({ figure: `consumer peak RSS at ${int(TARGET_RATE)}/s`, unit: 'MiB', better: 'lower', ours: measured([fast.consumerPeakRss / 2 ** 20]) });
  report({ figure: `producer host peak RSS at ${int(TARGET_RATE)}/s`, unit: 'MiB', better: 'lower', ours: measured([fast.producerPeakRss / 2 ** 20]) });
}

await main();
process.exit(0);
