// The whole pipeline of one reliability test file, on its own: a Kafka broker and a
// Qdrant server on free ports (never the shared stack at 9092/6333, which other
// people use while these tests kill things), consumer services as real processes
// (local/services.ts, as `npm start` runs them), and producers in this process.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QdrantClient } from '@qdrant/js-client-rest';
import { createWitnessProducer, type WitnessProducer, type WitnessProducerOptions } from '@witnesslog/producer';
import kafkajs, { type Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { loadToolchain, qdrantService, stackConfig, type Service } from '../../../local/services.js';
import { consumerProcess } from '../consumer-process.js';
import { startOwnBroker, type OwnBroker, type OwnBrokerOptions } from '../broker.js';
import { uniqueConsumerNames } from '../env.js';
import { sample } from '../metrics.js';
import { freePort } from '../net.js';
import { DIM, type Ledger, type ProducerReport, type Tally } from './ledger.js';
import type { KafkaAccess } from '../topic.js';

export { readTopic, type KafkaAccess } from '../topic.js';

export interface Names {
  topic: string;
  dlqTopic: string;
  groupId: string;
  collection: string;
}

export interface OwnConsumer {
  service: Service;
  url: string;
  logFile: string;
  start(): Promise<void>;
  /** SIGKILL, no goodbye. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for the exit (SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<void>;
  metrics(): Promise<string>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  log(): string;
}

export interface OwnPipeline {
  broker: OwnBroker;
  qdrant: Service;
  qdrantUrl: string;
  qdrantClient: QdrantClient;
  admin(): Promise<Admin>;
  names(prefix: string): Names;
  createTopic(names: Names, partitions: number): Promise<void>;
  /** A consumer service process for `names` (not started). */
  consumer(names: Names, env?: Record<string, string>): Promise<OwnConsumer>;
  producer(names: Names, options?: Partial<WitnessProducerOptions>): { producer: WitnessProducer; registry: Registry };
  /** Another Qdrant server of this file's, for a scenario that stops it or needs its throughput to itself. */
  ownQdrant(env?: Record<string, string>): Promise<{ service: Service; url: string; client: QdrantClient }>;
  /** Sum over partitions of end offset minus committed offset. */
  lag(names: Names): Promise<number>;
  endOffsets(topic: string): Promise<number>;
  /** Waits until the group has committed everything the topic holds. */
  waitDrained(names: Names, timeoutMs?: number): Promise<void>;
  /**
   * The end of every scenario: every id the ledger saw accounted for, in Qdrant
   * (this pipeline's unless `qdrant` is given), in the dead-letter topic or in a
   * producer's drop counts (Ledger.verify).
   */
  verify(ledger: Ledger, names: Names, options: VerifyOptions): Promise<Tally>;
  cleanup(): Promise<void>;
}

export interface VerifyOptions {
  /** In-process producers (name defaults to 'producer'), or reports taken earlier. */
  producers: Array<{ name?: string; producer: WitnessProducer; registry: Registry } | ProducerReport>;
  qdrant?: QdrantClient;
  /** How to read the dead-letter topic; default this pipeline's broker, plaintext. */
  kafka?: KafkaAccess;
  print?: (line: string) => void;
}

export interface OwnPipelineOptions {
  broker?: OwnBrokerOptions;
  qdrantEnv?: Record<string, string>;
}

const tools = loadToolchain();

// After a SIGKILL the restarted node waits for its old registration to expire
// (broker.session.timeout.ms, 9 s by default) before it serves: 3 s keeps the
// restarts of broker.test.ts short, and is still far above a heartbeat every 0.5 s.
const FAST_RESTART = '\n# reliability tests: quick restart after SIGKILL\nbroker.session.timeout.ms=3000\nbroker.heartbeat.interval.ms=500\n';

/** Polls `check` until true; the error says what was awaited and the last value seen. */
export async function waitUntil(what: string | (() => string), check: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `witness-rel-${prefix}-`));
}

export async function startOwnPipeline({ broker: brokerOptions, qdrantEnv = {} }: OwnPipelineOptions = {}): Promise<OwnPipeline> {
  const dirs: string[] = [];
  const consumers: OwnConsumer[] = [];
  const producers: WitnessProducer[] = [];
  const qdrantDir = tempDir('qdrant');
  dirs.push(qdrantDir);
  const qdrantPort = await freePort();
  const qdrant = qdrantService(stackConfig({ ...process.env, QDRANT_PORT: String(qdrantPort), WITNESSLOG_RUN_DIR: qdrantDir }), tools, qdrantEnv);
  // Both at once: the broker takes ~10 s, Qdrant ~2 s.
  const [brokerStart, qdrantStart] = await Promise.allSettled([
    startOwnBroker({ ...brokerOptions, extraProperties: (ports) => `${FAST_RESTART}${brokerOptions?.extraProperties?.(ports) ?? ''}` }),
    qdrant.start(),
  ]);
  if (brokerStart.status === 'rejected' || qdrantStart.status === 'rejected') {
    // Leave nothing behind: the one that did start would outlive the test file.
    if (brokerStart.status === 'fulfilled') await brokerStart.value.cleanup();
    await qdrant.kill().catch(() => {});
    rmSync(qdrantDir, { recursive: true, force: true });
    throw brokerStart.status === 'rejected' ? brokerStart.reason : (qdrantStart as PromiseRejectedResult).reason;
  }
  const broker = brokerStart.value;
  const qdrants: Service[] = [qdrant];
  const qdrantUrl = qdrant.address;
  const qdrantClient = new QdrantClient({ url: qdrantUrl, checkCompatibility: false, ...(qdrantEnv.QDRANT_API_KEY ? { apiKey: qdrantEnv.QDRANT_API_KEY } : {}) });
  const kafka = new kafkajs.Kafka({ brokers: broker.brokers, clientId: 'reliability-admin', logLevel: kafkajs.logLevel.NOTHING });
  let adminPromise: Promise<Admin> | undefined;
  const admin = () =>
    (adminPromise ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })());

  const endOffsets = async (topic: string) => (await (await admin()).fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  const lag = async (names: Names) => {
    const a = await admin();
    const ends = await a.fetchTopicOffsets(names.topic);
    const [group] = await a.fetchOffsets({ groupId: names.groupId, topics: [names.topic] });
    const committed = new Map(group!.partitions.map((p) => [p.partition, Number(p.offset)]));
    return ends.reduce((sum, p) => sum + Number(p.high) - Math.max(Number(p.low), committed.get(p.partition) ?? -1), 0);
  };

  let topicCreation: Promise<void> = Promise.resolve();
  const pipeline: OwnPipeline = {
    broker,
    qdrant,
    qdrantUrl,
    qdrantClient,
    admin,
    names: uniqueConsumerNames,
    async createTopic(names, partitions) {
      const a = await admin();
      const topics = [
        { topic: names.topic, numPartitions: partitions },
        { topic: names.dlqTopic, numPartitions: 1 },
      ];
      // Scenarios that start together create topics together, and kafkajs's metadata refresh
      // inside createTopics then fails now and then with UNKNOWN_TOPIC_OR_PARTITION: one at a
      // time, tried again on that error, and the leaders awaited here rather than by kafkajs.
      const create = topicCreation.then(() =>
        waitUntil(`creation of ${names.topic}`, async () => {
          try {
            await a.createTopics({ topics });
            return true;
          } catch (err) {
            // Created by the attempt that failed afterwards: kafkajs says so per topic.
            const e = err as { type?: string; errors?: Array<{ type?: string }> };
            return e.type === 'TOPIC_ALREADY_EXISTS' || (e.errors !== undefined && e.errors.every((x) => x.type === 'TOPIC_ALREADY_EXISTS'));
          }
        }, 30_000),
      );
      topicCreation = create.catch(() => {});
      await create;
      await waitUntil(`leaders of ${names.topic}`, async () => {
        try {
          const { topics: meta } = await a.fetchTopicMetadata({ topics: topics.map((x) => x.topic) });
          return meta.every((m, i) => m.partitions.length === topics[i]!.numPartitions && m.partitions.every((p) => p.leader >= 0));
        } catch {
          return false;
        }
      }, 30_000);
    },
    async consumer(names, env = {}) {
      const proc = await consumerProcess(names, {
        brokers: broker.brokers,
        qdrantUrl,
        dim: DIM,
        env: {
          // A killed member holds its partitions until this runs out; 6 s is the broker's minimum.
          WITNESS_SESSION_TIMEOUT_MS: '6000',
          WITNESS_RETRY_INITIAL_MS: '50',
          WITNESS_RETRY_MAX_MS: '1000',
          ...env,
        },
      });
      dirs.push(proc.runDir);
      const { service } = proc;
      const own: OwnConsumer = {
        service,
        url: proc.url,
        logFile: service.spec.logFile,
        start: () => service.start(),
        kill: () => service.kill(),
        stop: (graceMs = 30_000) => service.stop({ signal: 'SIGTERM', graceMs }),
        metrics: proc.metrics,
        metric: proc.metric,
        log: () => (existsSync(service.spec.logFile) ? readFileSync(service.spec.logFile, 'utf8') : ''),
      };
      consumers.push(own);
      return own;
    },
    producer(names, options = {}) {
      const registry = new Registry();
      const producer = createWitnessProducer({
        brokers: broker.brokers,
        topic: names.topic,
        embeddingDim: DIM,
        registry,
        // A failed request is noticed within seconds and the drain starts soon after the broker returns.
        requestTimeoutMs: 3_000,
        retryMaxMs: 1_000,
        flushTimeoutMs: 90_000,
        ...options,
      });
      producers.push(producer);
      return { producer, registry };
    },
    async ownQdrant(env = {}) {
      const dir = tempDir('qdrant');
      dirs.push(dir);
      const service = qdrantService(stackConfig({ ...process.env, QDRANT_PORT: String(await freePort()), WITNESSLOG_RUN_DIR: dir }), tools, env);
      qdrants.push(service);
      await service.start();
      const client = new QdrantClient({ url: service.address, checkCompatibility: false, ...(env.QDRANT_API_KEY ? { apiKey: env.QDRANT_API_KEY } : {}) });
      return { service, url: service.address, client };
    },
    lag,
    endOffsets,
    async waitDrained(names, timeoutMs = 120_000) {
      let last = NaN;
      await waitUntil(
        () => `group ${names.groupId} to commit all of ${names.topic} (lag ${last})`,
        async () => (last = await lag(names).catch(() => NaN)) === 0,
        timeoutMs,
        250,
      );
    },
    async verify(ledger, names, { producers: reports, qdrant, kafka, print }) {
      return ledger.verify({
        qdrant: qdrant ?? pipeline.qdrantClient,
        collection: names.collection,
        kafka: kafka ?? { brokers: broker.brokers },
        dlqTopic: names.dlqTopic,
        producers: await Promise.all(reports.map((p) => ('stats' in p ? p : producerReport(p.name ?? 'producer', p.producer, p.registry)))),
        ...(print ? { print } : {}),
      });
    },
    async cleanup() {
      await Promise.allSettled(producers.map((p) => p.close()));
      await Promise.allSettled(consumers.map((c) => c.kill()));
      await (await adminPromise?.catch(() => undefined))?.disconnect().catch(() => {});
      await Promise.allSettled(qdrants.map((q) => q.kill()));
      await broker.cleanup();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
  return pipeline;
}

/** RSS and heap of a consumer process, from its /metrics. */
export async function memoryOf(consumer: OwnConsumer): Promise<{ rss: number; heap: number } | undefined> {
  const text = await consumer.metrics();
  if (text === '') return undefined;
  return { rss: sample(text, 'process_resident_memory_bytes'), heap: sample(text, 'nodejs_heap_size_used_bytes') };
}

export const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** What the ledger checks of an in-process producer: its stats and its metrics. */
export async function producerReport(name: string, producer: WitnessProducer, registry: Registry): Promise<ProducerReport> {
  return { name, stats: producer.stats(), metrics: await registry.metrics() };
}
