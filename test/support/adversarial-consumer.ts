// The adversarial tests' consumer: test/support's consumer process (as `npm start`
// runs it), started at once and stopped with SIGTERM when the file's tests end.
import { after } from 'node:test';
import type { Service } from '../../local/services.js';
import { disconnectShared, type testNames } from './pipeline.js';
import { consumerProcess } from './consumer-process.js';

export async function startConsumer(
  names: ReturnType<typeof testNames>,
  dim: number,
  cleanups: Array<() => Promise<unknown>>,
  env: Record<string, string> = {},
): Promise<{ service: Service; url: string }> {
  const consumer = await consumerProcess(names, { dim, env });
  cleanups.push(async () => {
    await consumer.service.stop({ signal: 'SIGTERM', graceMs: 20_000 });
    await consumer.cleanup();
  });
  await consumer.service.start();
  return consumer;
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
