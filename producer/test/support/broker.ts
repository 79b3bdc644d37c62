// A Kafka broker of the test's own (not the shared one at 9092), on free ports and in
// a temporary run folder, that the test may kill and restart. Built with the repo's
// stack code, so it is the same Kafka 4.4.0 with the same configuration.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaService, loadToolchain, stackConfig, type Service } from '../../../local/services.js';
import { freePort } from './net.js';

export interface OwnBroker {
  brokers: string[];
  service: Service;
  /** Stops the broker (if running) and deletes its folder. */
  cleanup(): Promise<void>;
}

export async function startOwnBroker(): Promise<OwnBroker> {
  const runDir = mkdtempSync(join(tmpdir(), 'witness-producer-broker-'));
  const kafkaPort = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === kafkaPort) controllerPort = await freePort();
  const cfg = stackConfig({
    ...process.env,
    KAFKA_PORT: String(kafkaPort),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_HEAP: '384m',
    WITNESSLOG_RUN_DIR: runDir,
  });
  const service = kafkaService(cfg, loadToolchain());
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
  return { brokers: [`127.0.0.1:${kafkaPort}`], service, cleanup };
}
