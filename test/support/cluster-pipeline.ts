// The running cluster profile (started by `npm run test:cluster`) as the reliability
// suite's pipeline: its nodes as services a scenario can SIGKILL and restart, consumer
// service processes pointed at all three brokers, producers in this process, and the
// ledger's id-by-id verification against the Qdrant cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QdrantClient } from '@qdrant/js-client-rest';
import { createWitnessProducer, type WitnessProducer } from '@witnesslog/producer';
import kafkajs, { type Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { clusterBrokers, clusterConfig, clusterEnv, clusterQdrantUrls, clusterServices } from '../../local/cluster.js';
import { consumerService, loadToolchain, stackConfig, type Service } from '../../local/services.js';
import { uniqueConsumerNames } from './env.js';
import { httpGet } from './http.js';
import { sample } from './metrics.js';
import { freePort } from './net.js';
import { DIM, type Ledger, type Tally } from './reliability/ledger.js';
import type { NamedProducer } from './reliability/load.js';
import { producerReport, waitUntil, type Names } from './reliability/pipeline.js';

export interface ClusterConsumer {
  service: Service;
  metric(name: string): Promise<number>;
}

export interface ClusterPipeline {
  brokers: string[];
  kafkaNodes: Service[];
  qdrantPeers: Service[];
  qdrantUrls: string[];
  /** The peer the consumers write to and the ledger reads from (a scenario kills another). */
  qdrant: QdrantClient;
  admin(): Promise<Admin>;
  names(prefix: string): Names;
  createTopic(names: Names, partitions: number): Promise<void>;
  consumer(names: Names, env?: Record<string, string>): Promise<ClusterConsumer>;
  producer(names: Names): { name: string; producer: WitnessProducer; registry: Registry };
  lag(names: Names): Promise<number>;
  waitDrained(names: Names, timeoutMs?: number): Promise<void>;
  /** Every node of the cluster up and every partition's replicas in sync again. */
  waitHealthy(names: Names, timeoutMs?: number): Promise<void>;
  /** Deletes a scenario's collection and topics (the cluster's data outlives the run). */
  drop(names: Names): Promise<void>;
  /** The ledger's verification, with the producers of this scenario. */
  verify(ledger: Ledger, names: Names, producers: NamedProducer[], print: (line: string) => void): Promise<Tally>;
  cleanup(): Promise<void>;
}

export async function clusterPipeline(): Promise<ClusterPipeline> {
  const cfg = stackConfig();
  const tools = loadToolchain();
  const cc = clusterConfig(cfg);
  const nodes = clusterServices(cfg, tools, cc);
  const brokers = clusterBrokers(cc);
  const qdrantUrls = clusterQdrantUrls(cc);
  const qdrant = new QdrantClient({ url: qdrantUrls[0]!, checkCompatibility: false });
  const kafka = new kafkajs.Kafka({ brokers, clientId: 'cluster-admin', logLevel: kafkajs.logLevel.NOTHING });
  const dirs: string[] = [];
  const consumers: Service[] = [];
  const producers: Array<{ name: string; producer: WitnessProducer; registry: Registry }> = [];
  let adminPromise: Promise<Admin> | undefined;
  // A fresh client after a node died: kafkajs's admin keeps a dead connection for a while.
  const admin = () =>
    (adminPromise ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })());
  const lag = async (names: Names) => {
    const a = await admin();
    const ends = await a.fetchTopicOffsets(names.topic);
    const [group] = await a.fetchOffsets({ groupId: names.groupId, topics: [names.topic] });
    const committed = new Map(group!.partitions.map((p) => [p.partition, Number(p.offset)]));
    return ends.reduce((sum, p) => sum + Number(p.high) - Math.max(Number(p.low), committed.get(p.partition) ?? -1), 0);
  };
  const pipeline: ClusterPipeline = {
    brokers,
    kafkaNodes: nodes.slice(0, cc.nodes.length),
    qdrantPeers: nodes.slice(cc.nodes.length),
    qdrantUrls,
    qdrant,
    admin,
    names: uniqueConsumerNames,
    async createTopic(names, partitions) {
      const a = await admin();
      // No replication factor given: the cluster's default (3) and min.insync.replicas (2) apply,
      // as they do to the topics the producer and consumer create by first use.
      const topics = [
        { topic: names.topic, numPartitions: partitions },
        { topic: names.dlqTopic, numPartitions: 1 },
      ];
      // Leaders awaited here, not by kafkajs (its wait asks the controller broker, whose metadata
      // may not know the new topic yet: UNKNOWN_TOPIC_OR_PARTITION), tolerating that error.
      await a.createTopics({ topics, waitForLeaders: false });
      await waitUntil(`leaders of ${names.topic}`, async () => {
        const { topics: meta } = await a.fetchTopicMetadata({ topics: topics.map((x) => x.topic) }).catch(() => ({ topics: [] }));
        return meta.length === topics.length && meta.every((m, i) => m.partitions.length === topics[i]!.numPartitions && m.partitions.every((p) => p.leader >= 0));
      }, 60_000);
    },
    async consumer(names, env = {}) {
      const port = await freePort();
      const runDir = mkdtempSync(join(tmpdir(), 'witness-cluster-consumer-'));
      dirs.push(runDir);
      const service = consumerService(stackConfig({ ...process.env, METRICS_PORT: String(port), WITNESSLOG_RUN_DIR: runDir }), tools, {
        ...clusterEnv(cc),
        WITNESS_TOPIC: names.topic,
        WITNESS_DLQ_TOPIC: names.dlqTopic,
        WITNESS_GROUP_ID: names.groupId,
        WITNESS_COLLECTION: names.collection,
        WITNESS_EMBEDDING_DIM: String(DIM),
        WITNESS_BATCH_MAX_WAIT_MS: '200',
        WITNESS_SESSION_TIMEOUT_MS: '6000',
        WITNESS_RETRY_INITIAL_MS: '50',
        WITNESS_RETRY_MAX_MS: '1000',
        LOG_LEVEL: 'info',
        ...env,
      });
      consumers.push(service);
      const url = `http://127.0.0.1:${port}`;
      return { service, metric: async (name) => sample((await httpGet(`${url}/metrics`)).text, name, {}) };
    },
    producer(names) {
      const registry = new Registry();
      const name = `producer-${producers.length + 1}`;
      const producer = createWitnessProducer({ brokers, topic: names.topic, embeddingDim: DIM, registry, requestTimeoutMs: 3_000, retryMaxMs: 1_000, flushTimeoutMs: 120_000 });
      producers.push({ name, producer, registry });
      return { name, producer, registry };
    },
    lag,
    async waitDrained(names, timeoutMs = 180_000) {
      let last = NaN;
      await waitUntil(() => `group ${names.groupId} to commit all of ${names.topic} (lag ${last})`, async () => (last = await lag(names).catch(() => NaN)) === 0, timeoutMs, 250);
    },
    async waitHealthy(names, timeoutMs = 180_000) {
      await waitUntil('every cluster node to be ready', async () => (await Promise.all(nodes.map((n) => n.ready().catch(() => false)))).every(Boolean), timeoutMs, 500);
      await waitUntil(`every replica of ${names.topic} in sync`, async () => {
        const { topics } = await (await admin()).fetchTopicMetadata({ topics: [names.topic] }).catch(() => ({ topics: [] }));
        return topics.length === 1 && topics[0]!.partitions.every((p) => p.isr.length === p.replicas.length);
      }, timeoutMs, 500);
    },
    async drop(names) {
      await qdrant.deleteCollection(names.collection);
      // kafkajs's admin goes on asking for the metadata of every topic it has seen, deleted
      // ones too (and fails): the next scenario gets a new one.
      const a = await admin();
      adminPromise = undefined;
      try {
        await a.deleteTopics({ topics: [names.topic, names.dlqTopic] });
      } finally {
        await a.disconnect();
      }
    },
    async verify(ledger, names, used, print) {
      const reports = await Promise.all(producers.filter((p) => used.some((u) => u.producer === p.producer)).map((p) => producerReport(p.name, p.producer, p.registry)));
      return ledger.verify({ qdrant, collection: names.collection, kafka: { brokers }, dlqTopic: names.dlqTopic, producers: reports, print });
    },
    async cleanup() {
      await Promise.allSettled(producers.map((p) => p.producer.close()));
      await Promise.allSettled(consumers.map((c) => c.kill()));
      await (await adminPromise?.catch(() => undefined))?.disconnect().catch(() => {});
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
  return pipeline;
}
