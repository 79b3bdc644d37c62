// A Kafka broker of the test's own (not the shared one at 9092), on free ports and in
// a temporary run folder, that the test may kill and restart. Built with the repo's
// stack code, so it is the same Kafka 4.4.0 with the same configuration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaService, loadToolchain, stackConfig, type KafkaServiceOptions, type Service } from '../../local/services.js';
import { freePort } from './net.js';

export interface OwnBroker {
  /** The PLAINTEXT listener. */
  brokers: string[];
  service: Service;
  /** The broker's run folder (data, logs), deleted by cleanup(). */
  runDir: string;
  /** Stops the broker (if running) and deletes its folder. */
  cleanup(): Promise<void>;
}

export interface OwnBrokerOptions {
  /** Builds the extra server.properties once the ports are known (e.g. a SASL_SSL listener on a port of its own). */
  extraProperties?: (ports: { kafkaPort: number; controllerPort: number; runDir: string }) => string;
  scramCredentials?: KafkaServiceOptions['scramCredentials'];
  heap?: string;
}

/** Free ports, all different from each other. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export async function startOwnBroker({ extraProperties, scramCredentials, heap = '384m' }: OwnBrokerOptions = {}): Promise<OwnBroker> {
  const runDir = mkdtempSync(join(tmpdir(), 'witness-own-broker-'));
  const [kafkaPort, controllerPort] = (await freePorts(2)) as [number, number];
  const cfg = stackConfig({
    ...process.env,
    KAFKA_PORT: String(kafkaPort),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_HEAP: heap,
    WITNESSLOG_RUN_DIR: runDir,
  });
  const service = kafkaService(cfg, loadToolchain(), {
    extraProperties: extraProperties?.({ kafkaPort, controllerPort, runDir }) ?? '',
    scramCredentials: scramCredentials ?? [],
  });
  const cleanup = async () => {
    await service.kill().catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
  };
  try {
    await service.start();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { brokers: [`127.0.0.1:${kafkaPort}`], service, runDir, cleanup };
}
