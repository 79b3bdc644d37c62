// A consumer service process as `npm start` runs it, for the adversarial tests:
// its own metrics port and run folder, stopped with SIGTERM at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerService, loadToolchain, stackConfig, type Service } from '../../local/services.js';
import { after } from 'node:test';
import { brokers, disconnectShared, freePort, qdrantUrl, type testNames } from '../../consumer/test/support.js';

export async function startConsumer(
  names: ReturnType<typeof testNames>,
  dim: number,
  cleanups: Array<() => Promise<unknown>>,
  env: Record<string, string> = {},
): Promise<{ service: Service; url: string }> {
  const port = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'witness-adversarial-'));
  const service = consumerService(stackConfig({ ...process.env, METRICS_PORT: String(port), WITNESSLOG_RUN_DIR: runDir }), loadToolchain(), {
    KAFKA_BROKERS: brokers.join(','),
    QDRANT_URL: qdrantUrl,
    WITNESS_TOPIC: names.topic,
    WITNESS_DLQ_TOPIC: names.dlqTopic,
    WITNESS_GROUP_ID: names.groupId,
    WITNESS_COLLECTION: names.collection,
    WITNESS_EMBEDDING_DIM: String(dim),
    WITNESS_BATCH_MAX_WAIT_MS: '100',
    LOG_LEVEL: 'info',
    ...env,
  });
  cleanups.push(async () => {
    await service.stop({ signal: 'SIGTERM', graceMs: 20_000 });
    rmSync(runDir, { recursive: true, force: true });
  });
  await service.start();
  return { service, url: `http://127.0.0.1:${port}` };
}

/** Things to undo after the file's tests, last first; the shared Kafka and Qdrant clients disconnect last. */
export function cleanupsAfterAll(): Array<() => Promise<unknown>> {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await disconnectShared();
  });
  return cleanups;
}
