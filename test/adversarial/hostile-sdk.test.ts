// Hostile objects handed to the producer SDK in a real host process (issue 13,
// findings 5-8; hostile-sdk-host.ts), through the broker and a consumer process
// into Qdrant: the host never sees a throw, survives every critical timeout, and
// exits 0 after close(); every entry it had to accept is stored, once; nothing
// hostile reaches the topic (so the DLQ stays empty); the consumer stays ready.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { brokers, committedOffsets, createTopics, deleteTopics, dropCollection, readPoints, testNames, waitFor } from '../support/pipeline.js';
import { httpGet } from '../support/http.js';
import { countByKind, messageCount } from '../support/topic.js';
import { cleanupsAfterAll, startConsumer } from '../support/adversarial-consumer.js';

const DIM = 32;
const cleanups = cleanupsAfterAll();

interface HostReport {
  threw: string[];
  mustStore: string[];
  criticalOutcomes: unknown[];
  stats: { dropped: Record<string, number>; delivered: number };
}

function runHost(topic: string): Promise<{ code: number | null; report: HostReport | undefined; stderr: string }> {
  const host = fileURLToPath(new URL('../support/hostile-sdk-host.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=witnesslog-src', '--import', 'tsx', host], {
    env: { ...process.env, BROKERS: brokers.join(','), TOPIC: topic, DIM: String(DIM) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      const line = stdout.trim().split('\n').at(-1);
      let report: HostReport | undefined;
      try {
        report = line ? (JSON.parse(line) as HostReport) : undefined;
      } catch {
        report = undefined;
      }
      resolve({ code, report, stderr });
    });
  });
}

test('hostile objects never throw into the host or end it; every entry it accepted is stored once', { timeout: 120_000 }, async (t) => {
  const names = testNames('adversarial-sdk');
  await createTopics({ topic: names.topic, partitions: 2 }, { topic: names.dlqTopic });
  cleanups.push(() => deleteTopics(names.topic, names.dlqTopic), () => dropCollection(names.collection));
  const consumer = await startConsumer(names, DIM, cleanups);

  const { code, report, stderr } = await runHost(names.topic);
  assert.equal(code, 0, `the host exited with ${code}: ${stderr.slice(-2000)}`);
  assert.ok(report, 'the host reported');
  t.diagnostic(`host: threw ${report.threw.length}, critical outcomes ${JSON.stringify(report.criticalOutcomes)}, dropped ${JSON.stringify(report.stats.dropped)}, delivered ${report.stats.delivered}`);
  assert.deepEqual(report.threw, [], 'nothing thrown into the caller');
  assert.deepEqual(report.criticalOutcomes, ['rejected'], 'the hostile recordCritical rejected, and was not left to reject unhandled');
  assert.equal(report.stats.delivered, report.mustStore.length, 'exactly the entries it had to accept were sent');

  const { entries, checkpoints } = await countByKind({ brokers }, names.topic);
  assert.equal(entries, report.mustStore.length, 'nothing hostile reached the topic (its checkpoints aside)');
  await waitFor('everything committed', async () => (await committedOffsets(names.groupId, names.topic)) === entries + checkpoints, 60_000);
  const stored = new Set((await readPoints(names.collection)).map((p) => String(p.id)));
  assert.equal(stored.size, report.mustStore.length);
  for (const id of report.mustStore) assert.ok(stored.has(id), `${id} stored`);
  assert.equal(await messageCount({ brokers }, names.dlqTopic), 0, 'no dead letters');
  assert.equal((await httpGet(`${consumer.url}/readyz`)).status, 200);
});
