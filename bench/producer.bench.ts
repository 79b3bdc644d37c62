// The producer's hot path against the pattern a user would otherwise write:
//   await producer.send({ topic, messages: [{ value: JSON.stringify(entry) }] })
// per request with kafkajs's default producer. Same process, same broker, same entries.
//
//   node --conditions=witnesslog-src --import tsx bench/producer.bench.ts
//
// WITNESS_KAFKA_BROKERS (default 127.0.0.1:9092) is the broker; WITNESS_BENCH_SCALE (default 1)
// multiplies every count. Each figure is measured in REPEATS runs: median and spread. Targets (reported, not asserted): record() median ≤ 5 µs,
// p99 ≤ 50 µs, ≥ 100× cheaper than the awaited send; ≥ 20,000 entries/s.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';
import { encodeEntry, type WitnessEntry } from '@witnesslog/schemas';
import { createWitnessProducer, type ProducerCompression, type WitnessProducer } from '@witnesslog/producer';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { schemaVersions } from '@witnesslog/schemas';
import { createWitnessProducerWith } from '../producer/src/producer.js';
import { freePort } from '../test/support/net.js';
import { DIM, makeEntries } from './support/entries.js';
import { fmt, int, machine, measured, mib, report, scale, scaled as n, summarise } from './support/report.js';

const brokers = (process.env.WITNESS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const REPEATS = 3;
const SAMPLED_LABEL = 'sampleRate 0.1 + redact hook';
// Schema v2 (producer identity, trace from OpenTelemetry) beside v1, in the same run.
const V1_LABEL = 'number[], v1 writer';
const SPAN_LABEL = 'number[], in an OTel span';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const kafka = new kafkajs.Kafka({ brokers, clientId: 'producer-bench', logLevel: kafkajs.logLevel.NOTHING });
const topics: string[] = [];
const topic = (name: string) => {
  const t = `bench-${name}-${randomUUID().slice(0, 8)}`;
  topics.push(t);
  return t;
};


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
async function recordCost(producer: WitnessProducer, entries: WitnessEntry[], count: number, sampled = false): Promise<Float64Array> {
  const samples = new Float64Array(count);
  const burst = 500;
  for (let i = 0; i < count; i++) {
    const entry = entries[i % entries.length]!;
    const t0 = performance.now();
    const ok = producer.record(entry);
    samples[i] = (performance.now() - t0) * 1000;
    if (!ok && !(sampled && producer.stats().dropped.queue_full + producer.stats().dropped.invalid + producer.stats().dropped.redact_failed === 0)) {
      throw new Error(`record() dropped an entry during the cost run: ${JSON.stringify(producer.stats().dropped)}`);
    }
    if (i % burst === burst - 1) {
      await yieldToLoop();
      while (producer.stats().pending > 5_000) await sleep(1);
    }
  }
  return samples;
}

/** Peak RSS of this process while `work` runs, sampled every 50 ms. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

interface BrokerDown {
  rss: number;
  peakRss: number;
  pending: number;
  lost: number;
  dropMedianUs: number;
}

/** `calls` fire-and-forget calls with the broker down (a closed port), in this fresh process. */
async function brokerDown(who: 'ours' | 'naive', calls: number): Promise<BrokerDown> {
  const pool = makeEntries(1_000, 'array');
  const brokers = [`127.0.0.1:${await freePort()}`];
  gc();
  const before = process.memoryUsage().rss;
  let peakRss = before;
  const times = new Float64Array(calls);
  let lost = 0;
  let pending = 0;
  const ours = who === 'ours' ? createWitnessProducer({ brokers, topic: 'down', flushTimeoutMs: 1 }) : undefined;
  // What a user writes for fire-and-forget with kafkajs: send() without await.
  const naive = who === 'naive' ? new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).producer() : undefined;
  naive?.connect().catch(() => {});
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    if (ours) ours.record(pool[i % pool.length]!);
    else naive!.send({ topic: 'down', messages: [{ value: JSON.stringify(pool[i % pool.length]) }] }).catch(() => (lost += 1));
    times[i] = (performance.now() - t0) * 1000;
    if (i % 500 === 499) {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      await yieldToLoop();
    }
  }
  await sleep(1_000);
  gc();
  const rss = process.memoryUsage().rss;
  if (ours) {
    const s = ours.stats();
    pending = s.pending;
    lost = s.dropped.queue_full;
  }
  return { rss: rss - before, peakRss: Math.max(peakRss, rss), pending, lost, dropMedianUs: summarise(times.subarray(Math.floor(calls * 0.75))).median };
}

interface NaiveResult {
  naiveCost: Array<ReturnType<typeof summarise>>;
  naiveRates: number[];
  jsonBytes: number;
}

/** The awaited JSON send per request, with plain kafkajs; run by naiveChild in its own process. */
async function naive(calls: number): Promise<NaiveResult> {
  const pool = makeEntries(1_000, 'array');
  const naiveTopic = topic('naive');
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < 200; i++) await producer.send({ topic: naiveTopic, messages: [{ value: JSON.stringify(pool[i]) }] });
  const naiveCost: Array<ReturnType<typeof summarise>> = [];
  const naiveRates: number[] = [];
  let jsonBytes = 0;
  for (let r = 0; r < REPEATS; r++) {
    const samples = new Float64Array(calls);
    const t = performance.now();
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      const value = JSON.stringify(pool[i % pool.length]);
      await producer.send({ topic: naiveTopic, messages: [{ value }] });
      samples[i] = (performance.now() - t0) * 1000;
      jsonBytes = Buffer.byteLength(value);
    }
    naiveRates.push(calls / ((performance.now() - t) / 1000));
    naiveCost.push(summarise(samples));
  }
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [naiveTopic] }).catch(() => {});
  await admin.disconnect();
  return { naiveCost, naiveRates, jsonBytes };
}

async function naiveChild(calls: number): Promise<NaiveResult> {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--naive', String(calls)], {
    env: { ...process.env, WITNESS_BENCH_REPORT: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.toString()) as NaiveResult;
}

async function brokerDownChild(who: 'ours' | 'naive', calls: number): Promise<BrokerDown> {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--broker-down', who, String(calls)], {
    env: { ...process.env, WITNESS_BENCH_REPORT: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.toString()) as BrokerDown;
}

async function main(): Promise<void> {
  const totalStarted = performance.now();
  console.log('# witnesslog producer benchmark');
  console.log(`machine: ${machine()}; broker ${brokers.join(',')}; WITNESS_BENCH_SCALE=${scale}; ${REPEATS} runs of each figure`);

  const pool = makeEntries(1_000, 'array');
  const poolF32 = makeEntries(1_000, 'float32');
  const encoded = pool.map((e) => encodeEntry(e));
  const entryBytes = encoded.reduce((s, b) => s + b.length, 0) / encoded.length;
  console.log(`entry: ${DIM}-dim query + response embeddings, 5 docs, 3 tags; ${int(entryBytes)} bytes encoded (Avro)\n`);

  // --- record(): per-call cost on the caller, while the sender runs ------------------
  const costCalls = n(10_000);
  const warmup = n(5_000);
  const costTopic = topic('cost');
  const cost: Record<string, Array<ReturnType<typeof summarise>>> = { 'number[] embeddings': [], [V1_LABEL]: [], [SPAN_LABEL]: [], 'Float32Array embeddings': [], [SAMPLED_LABEL]: [] };
  // What a serving team configures (issue 14): keep 10 % of successful requests, and
  // strip user tags and stack traces before anything leaves the node.
  const sampledOptions = {
    sampleRate: 0.1,
    redact: (e: WitnessEntry) => {
      e.tags = e.tags.filter((tag) => !tag.startsWith('user:'));
      if (e.error) e.error.stack_trace = null;
      return e;
    },
  };
  // A real OpenTelemetry SDK for the span row only: registered here, disabled after the cost runs.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  const tracer = trace.getTracer('producer-bench');
  for (const [label, entries, extra] of [
    ['number[] embeddings', pool, {}],
    [V1_LABEL, pool, {}],
    [SPAN_LABEL, pool, {}],
    ['Float32Array embeddings', poolF32, {}],
    [SAMPLED_LABEL, pool, sampledOptions],
  ] as const) {
    const options = { brokers, topic: costTopic, maxQueueDepth: 50_000, maxQueueBytes: 512 * 1024 * 1024, ...extra };
    const producer = label === V1_LABEL ? createWitnessProducerWith(options, { writer: schemaVersions[0]! }) : createWitnessProducer(options);
    const sampled = label === SAMPLED_LABEL;
    // Every call of the span row records inside one active span (the context manager carries it across awaits).
    const run = (count: number) => (label === SPAN_LABEL ? tracer.startActiveSpan('request', (span) => recordCost(producer, entries, count, sampled).finally(() => span.end())) : recordCost(producer, entries, count, sampled));
    await run(warmup);
    await producer.flush();
    for (let r = 0; r < REPEATS; r++) {
      cost[label]!.push(summarise(await run(costCalls)));
      await producer.flush();
    }
    await producer.close();
  }
  trace.disable();
  context.disable();

  // --- sustained entries/s into the broker, per compression; peak memory of the host ---
  const throughputCount = n(20_000);
  const rates: Partial<Record<ProducerCompression, number[]>> & { none: number[]; gzip: number[] } = { none: [], gzip: [] };
  let hostPeak = 0;
  for (const compression of ['none', 'gzip'] as const) {
    const producer = createWitnessProducer({ brokers, topic: topic(`tp-${compression}`), compression });
    await throughput(producer, pool, n(2_000)); // connect, create the topic, warm up
    for (let r = 0; r < (compression === 'none' ? REPEATS : 1); r++) {
      const { result, peak } = await peakRss(() => throughput(producer, pool, compression === 'none' ? throughputCount : n(5_000)));
      rates[compression].push(result);
      if (compression === 'none') hostPeak = Math.max(hostPeak, peak);
    }
    const s = producer.stats();
    await producer.close();
    if (s.delivered !== s.total) throw new Error(`throughput run lost entries: ${JSON.stringify(s)}`);
  }

  // --- the naive pattern: awaited send of JSON per request -----------------------------
  // In a process of its own: plain kafkajs, nothing of the SDK loaded beside it.
  const naiveCalls = n(1_000);
  const { naiveCost, naiveRates, jsonBytes } = await naiveChild(naiveCalls);

  // --- compression: bytes and CPU per entry on a full batch ------------------------------
  const batch = Buffer.concat(encoded.slice(0, 250));
  const gzRounds = n(20);
  const gz0 = performance.now();
  let gzBytes = 0;
  for (let i = 0; i < gzRounds; i++) gzBytes = gzipSync(batch).length;
  const gzipUsPerEntry = ((performance.now() - gz0) * 1000) / (gzRounds * 250);

  // --- memory with the broker down: ours (bounded queue) vs un-awaited kafkajs sends ------
  // Each in a fresh process, so neither inherits the heap the runs above grew.
  const downCalls = n(20_000);
  const oursDown = await brokerDownChild('ours', downCalls);
  const naiveDown = await brokerDownChild('naive', downCalls);

  // --- report ----------------------------------------------------------------------
  const med = (xs: Array<ReturnType<typeof summarise>>, key: 'median' | 'p99') => measured(xs.map((x) => x[key]));
  const range = (m: ReturnType<typeof measured>, d = 2) => `${fmt(m.median, d)} (${fmt(m.min, d)}–${fmt(m.max, d)})`;
  console.log('## record() cost on the caller (validate + encode + enqueue), sender running; median (min–max) of runs');
  console.log(`calls: ${int(costCalls)} per run after ${int(warmup)} warm-up, queue never full`);
  for (const [label, runs] of Object.entries(cost)) {
    console.log(`  ${label.padEnd(28)} median ${range(med(runs, 'median'))} µs   p99 ${range(med(runs, 'p99'))} µs`);
  }
  console.log('');
  console.log(`## naive: await producer.send({ messages: [{ value: JSON.stringify(entry) }] }) per request`);
  console.log(`calls: ${int(naiveCalls)} per run, kafkajs default producer, ${int(jsonBytes)} bytes of JSON per entry`);
  console.log(`  per call                 median ${range(med(naiveCost, 'median'), 0)} µs   p99 ${range(med(naiveCost, 'p99'), 0)} µs`);
  console.log(`  throughput               ${range(measured(naiveRates), 0)} entries/s`);
  console.log('');
  console.log(`## sustained throughput: ${int(throughputCount)} entries per run, first record() to flush() resolved`);
  const none = measured(rates.none);
  console.log(`  compression none         ${range(none, 0)} entries/s  (${fmt((none.median * entryBytes) / 1024 / 1024, 1)} MiB/s); host peak rss ${mib(hostPeak)}`);
  console.log(`  compression gzip         ${int(rates.gzip[0]!)} entries/s`);
  console.log('');
  console.log('## compression of a 250-entry batch (what kafkajs GZIP does to the records)');
  console.log(`  none                     ${int(batch.length / 250)} bytes/entry`);
  console.log(`  gzip                     ${int(gzBytes / 250)} bytes/entry (${fmt((100 * gzBytes) / batch.length, 1)} %), ${fmt(gzipUsPerEntry)} µs CPU/entry`);
  console.log('');
  console.log(`## memory with the broker down (closed port), ${int(downCalls)} fire-and-forget calls`);
  console.log(`  witness producer         rss +${mib(oursDown.rss)}, peak rss ${mib(oursDown.peakRss)}; pending ${int(oursDown.pending)}, dropped and counted ${int(oursDown.lost)}`);
  console.log(`  kafkajs send() unawaited rss +${mib(naiveDown.rss)}, peak rss ${mib(naiveDown.peakRss)}; ${int(naiveDown.lost)} sends rejected (lost unless the caller handles each promise)`);
  console.log(`  record() with the queue full (drop path): median ${fmt(oursDown.dropMedianUs)} µs`);
  console.log('');
  console.log(`total ${fmt((performance.now() - totalStarted) / 1000, 1)} s`);

  const naiveLabel = 'await producer.send(JSON) per request';
  const ours = cost['number[] embeddings']!;
  report({ figure: 'record() per call, median', unit: 'µs', better: 'lower', ours: med(ours, 'median'), baseline: { label: naiveLabel, ...med(naiveCost, 'median') }, target: { op: '<=', value: 5, text: '≤ 5 µs and ≥ 100× better' } });
  report({ figure: 'record() per call, p99', unit: 'µs', better: 'lower', ours: med(ours, 'p99'), baseline: { label: naiveLabel, ...med(naiveCost, 'p99') }, target: { op: '<=', value: 50 } });
  report({ figure: 'record() per call, median, Float32Array embeddings', unit: 'µs', better: 'lower', ours: med(cost['Float32Array embeddings']!, 'median'), baseline: { label: naiveLabel, ...med(naiveCost, 'median') }, target: { op: '<=', value: 5 } });
  report({ figure: `record() per call, median, ${SAMPLED_LABEL}`, unit: 'µs', better: 'lower', ours: med(cost[SAMPLED_LABEL]!, 'median'), baseline: { label: 'record(), no sampling, no hook', ...med(ours, 'median') } });
  report({ figure: 'producer sustained entries/s, one process', unit: 'entries/s', better: 'higher', ours: none, baseline: { label: naiveLabel, ...measured(naiveRates) }, target: { op: '>=', value: 20_000 } });
  report({ figure: 'producer host peak RSS under load', unit: 'MiB', better: 'lower', ours: measured([hostPeak / 2 ** 20]) });
  report({ figure: `producer host memory with the broker down, after ${int(downCalls)} calls`, unit: 'MiB', better: 'lower', ours: measured([oursDown.peakRss / 2 ** 20]), baseline: { label: `kafkajs send() not awaited (${int(naiveDown.lost)} sends rejected)`, ...measured([naiveDown.peakRss / 2 ** 20]) }, note: `peak RSS; ours holds ${int(oursDown.pending)} and counts ${int(oursDown.lost)} dropped` });

  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
}

if (process.argv[2] === '--naive') {
  process.stdout.write(JSON.stringify(await naive(Number(process.argv[3]))));
} else if (process.argv[2] === '--broker-down') {
  process.stdout.write(JSON.stringify(await brokerDown(process.argv[3] as 'ours' | 'naive', Number(process.argv[4]))));
} else {
  await main();
}
process.exit(0);
