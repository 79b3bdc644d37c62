// qdrant-kafka 1.4.1, Qdrant's official Kafka Connect sink, as the pace
// benchmark's peer: the plugin from ../shared/qdrant-kafka (present on developer
// machines and in CI, never on a user's: the row is skipped where it is absent),
// run in a standalone Connect worker (local/kafka-connect.ts) as its README says.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { WitnessPoint } from '@witnesslog/consumer';
import { kafkaConnectLibs, startConnectStandalone } from '../../local/kafka-connect.js';
import { loadToolchain, repoRoot } from '../../local/services.js';
import { freePort } from '../../test/support/net.js';

/** The folder that holds plugin/ (Connect's plugin.path), or undefined where it is absent. */
export function qdrantKafkaHome(): string | undefined {
  const home = resolve(process.env.WITNESS_QDRANT_KAFKA_HOME ?? join(repoRoot, '..', 'shared', 'qdrant-kafka'));
  return existsSync(join(home, 'plugin')) ? home : undefined;
}

/** A point in the sink's JSON message format: the same id, vectors and payload the consumer stores. */
export function toSinkMessage(point: WitnessPoint, collection: string): string {
  return JSON.stringify({ collection_name: collection, id: point.id, vector: point.vector, payload: point.payload });
}

export interface QdrantKafkaSink {
  pid: number;
  alive(): boolean;
  logFile: string;
  stop(): Promise<void>;
}

/** One Connect worker with the sink (tasks.max 1, as the README runs it) reading `topic` from its start. */
export async function startQdrantKafka(o: { home: string; brokers: readonly string[]; topic: string; grpcUrl: string; collection: string }): Promise<QdrantKafkaSink> {
  const libs = kafkaConnectLibs();
  const dir = mkdtempSync(join(tmpdir(), 'bench-connect-'));
  const child = startConnectStandalone({
    tools: loadToolchain(),
    libs,
    dir,
    worker: {
      'bootstrap.servers': o.brokers.join(','),
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'false',
      'plugin.path': o.home,
      'plugin.discovery': 'only_scan',
      listeners: `http://127.0.0.1:${await freePort()}`,
      'consumer.auto.offset.reset': 'earliest',
    },
    connector: {
      // A fresh name is a fresh consumer group (connect-<name>): every run reads the topic from its start.
      name: `qdrant-sink-${randomUUID().slice(0, 8)}`,
      'connector.class': 'io.qdrant.kafka.QdrantSinkConnector',
      'tasks.max': '1',
      topics: o.topic,
      'qdrant.grpc.url': o.grpcUrl,
      // Overrides each message's collection_name: one filled topic serves every run's collection.
      'qdrant.collection.name': o.collection,
      'errors.tolerance': 'all',
    },
  });
  if (!child.pid) throw new Error('the Kafka Connect worker did not start');
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid,
    alive,
    logFile: join(dir, 'connect.log'),
    stop: async () => {
      if (alive()) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
