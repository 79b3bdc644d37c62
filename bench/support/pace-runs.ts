// One measurement of each kind the pace benchmark compares, every one into a
// fresh collection made with the consumer's own settings (ensureCollection with
// the defaults loadConfig gives) and dropped afterwards: Qdrant's ceiling, our
// consumer service, qdrant-kafka, the naive consumer.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { QdrantClient } from '@qdrant/js-client-rest';
import type { Kafka } from 'kafkajs';
import { pino } from 'pino';
import { ensureCollection, loadConfig, type WitnessPoint } from '@witnesslog/consumer';
import type { WitnessCodec } from '@witnesslog/schemas';
import { inBatches, runCeiling, type CeilingProtocol } from './ceiling.js';
import { startConsumerChild } from './consumer-child.js';
import { runNaiveConsumer } from './naive-consumer.js';
import { cpuPerEntry, cpuSnapshot, pin, type Pids } from './proc.js';
import { startQdrantKafka } from './qdrant-kafka.js';
import { measureIngest, type IngestFigures } from './visible.js';

export interface PaceContext {
  kafka: Kafka;
  codec: WitnessCodec;
  brokers: string[];
  qdrantUrl: string;
  grpcUrl: string;
  points: WitnessPoint[];
  /** The stack's Qdrant and Kafka processes, where their pid files were found. */
  stackPids: Pids;
  /** Cores for what is not Qdrant (a taskset list); undefined: leave affinities alone. */
  restCores?: string;
  scale: number;
}

export const unique = (what: string): string => `bench_${what}_${randomUUID().slice(0, 8)}`;
const silent = pino({ level: 'silent' });
const defaults = loadConfig({});

/** A fresh collection with the consumer's settings; `use` runs with its name, then it is dropped. */
export async function withCollection<T>(ctx: PaceContext, what: string, use: (collection: string) => Promise<T>): Promise<T> {
  const client = new QdrantClient({ url: ctx.qdrantUrl, checkCompatibility: false });
  const collection = unique(what);
  await ensureCollection(client, { collection, dim: defaults.embeddingDim, logger: silent, options: defaults.qdrant.collectionOptions });
  try {
    return await use(collection);
  } finally {
    await client.deleteCollection(collection).catch(() => {});
  }
}

export interface CeilingFigure {
  protocol: string;
  inFlight: number;
  rate: number;
  /** µs of Qdrant CPU per point. */
  qdrantCpu: number;
}

export async function measureCeiling(ctx: PaceContext, protocol: CeilingProtocol, inFlight: number, perRequest = 100): Promise<CeilingFigure> {
  return withCollection(ctx, 'ceiling', async (collection) => {
    const requests = protocol.prepare(collection, inBatches(ctx.points, perRequest));
    const before = cpuSnapshot(ctx.stackPids);
    const { rate } = await runCeiling(requests, ctx.points.length, inFlight);
    const cpu = cpuPerEntry(before, cpuSnapshot(ctx.stackPids), ctx.points.length);
    return { protocol: protocol.label, inFlight, rate, qdrantCpu: cpu.qdrant ?? Number.NaN };
  });
}

const TIME_BOX_MS = (ctx: PaceContext) => 60_000 * Math.max(1, ctx.scale);

/** Our witness-consumer process from the start of `topic` until every point is visible. */
export async function measureOurs(ctx: PaceContext, topic: string, env: Record<string, string>, profileDir?: string): Promise<IngestFigures> {
  return withCollection(ctx, 'ours', async (collection) => {
    const child = await startConsumerChild({ brokers: ctx.brokers, qdrantUrl: ctx.qdrantUrl, topic, group: unique('ours_group'), collection, env, ...(profileDir ? { profileDir } : {}) });
    try {
      if (ctx.restCores) pin(child.pid, ctx.restCores);
      return await measureIngest({ url: ctx.qdrantUrl, collection, total: ctx.points.length, pids: { consumer: child.pid, ...ctx.stackPids }, timeoutMs: TIME_BOX_MS(ctx), alive: child.alive });
    } finally {
      await child.stop();
    }
  });
}

/** qdrant-kafka in its own Connect JVM, reading the JSON topic from its start. */
export async function measureQdrantKafka(ctx: PaceContext, home: string, topic: string): Promise<IngestFigures> {
  return withCollection(ctx, 'qdrant_kafka', async (collection) => {
    const sink = await startQdrantKafka({ home, brokers: ctx.brokers, topic, grpcUrl: ctx.grpcUrl, collection });
    try {
      if (ctx.restCores) pin(sink.pid, ctx.restCores);
      // The clock starts at its first visible point, so the JVM's start is not counted; it is slow, hence the long time box.
      const figures = await measureIngest({ url: ctx.qdrantUrl, collection, total: ctx.points.length, pids: { consumer: sink.pid, ...ctx.stackPids }, timeoutMs: TIME_BOX_MS(ctx), alive: sink.alive });
      // errors.tolerance=all skips what the sink cannot write: a short count is worth its log.
      if (!figures.complete) process.stderr.write(`[pace] qdrant-kafka stored ${figures.visible} of ${ctx.points.length}; the end of its log:\n${readFileSync(sink.logFile, 'utf8').slice(-3000)}\n`);
      return figures;
    } finally {
      await sink.stop();
    }
  });
}

export async function measureNaive(ctx: PaceContext, topic: string, seconds: number): Promise<IngestFigures> {
  return withCollection(ctx, 'naive', async (collection) => {
    const before = cpuSnapshot(ctx.stackPids);
    const t0 = performance.now();
    const run = await runNaiveConsumer({ kafka: ctx.kafka, codec: ctx.codec, topic, groupId: unique('naive_group'), url: ctx.qdrantUrl, collection, maxEntries: ctx.points.length, seconds });
    const stack = cpuPerEntry(before, cpuSnapshot(ctx.stackPids), run.entries);
    return { visible: run.entries, rate: run.rate, seconds: (performance.now() - t0) / 1000, cpu: { consumer: run.cpuUsPerEntry, ...stack }, complete: true };
  });
}
