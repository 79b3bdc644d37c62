// The demo load generator of docker-compose's `demo` profile, run as the program it
// is: it records at its rate into the real broker, serves the SDK's metrics, stops on
// its own after DEMO_DURATION_S, and everything it recorded is in the topic.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../../../local/services.js';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { demoLoadOptions } from '../../demo/demo-load.js';
import { consumeAll, deleteTopics, entryCount } from '../../../test/support/producer-kafka.js';
import { freePort } from '../../../test/support/net.js';

const topic = uniqueName('demo-load');
after(() => deleteTopics(brokers, [topic]));

test('the demo load records at its rate, exposes its metrics, and delivers everything it recorded', { timeout: 90_000 }, async () => {
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ['--conditions=witnesslog-src', '--import', 'tsx', join(repoRoot, 'producer/demo/demo-load.ts')], {
    cwd: repoRoot,
    env: { ...process.env, WITNESS_KAFKA_BROKERS: brokers.join(','), WITNESS_TOPIC: topic, DEMO_RATE: '200', DEMO_ERROR_RATE: '0.2', DEMO_DURATION_S: '4', DEMO_METRICS_PORT: String(metricsPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = once(child, 'exit');

  // Scraped while it runs, as Prometheus would.
  let metrics = '';
  for (let i = 0; i < 60 && !/witness_producer_entries_delivered_total \d*[1-9]/.test(metrics); i++) {
    await new Promise((r) => setTimeout(r, 250));
    metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), () => '');
  }
  assert.match(metrics, /^witness_producer_entries_delivered_total [1-9]/m, 'the demo load serves the SDK metrics with deliveries');

  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, `exit code; stderr: ${stderr}`);
  const final = JSON.parse(stdout.trim().split('\n').at(-1)!) as { msg: string; delivered: number; total: number; error: number; pending: number };
  assert.equal(final.msg, 'witness demo load stopped');
  assert.equal(final.pending, 0);
  assert.equal(final.delivered, final.total, 'nothing dropped at this rate');
  // 200/s for 4 s, with the start-up in between: roughly 800, never far more.
  assert.ok(final.total >= 400 && final.total <= 850, `recorded ${final.total} entries in 4 s at 200/s`);
  assert.ok(final.error > 0 && final.error < final.total / 2, `error entries: ${final.error} of ${final.total} at an error rate of 0.2`);

  assert.equal(await entryCount(brokers, topic), final.delivered, 'entries on the topic (the checkpoints left out)');
  const consumed = await consumeAll(brokers, topic, final.delivered);
  assert.equal(consumed.filter((c) => c.entry.error !== null).length, final.error);
  assert.ok(consumed.every((c) => c.entry.tags.includes('demo') && c.entry.query_embedding.length === 768));
});

test('a bad demo variable is refused, naming it and its value', () => {
  assert.throws(() => demoLoadOptions({ DEMO_RATE: 'fast' }), /DEMO_RATE="fast": expected a number/);
  assert.throws(() => demoLoadOptions({ DEMO_ERROR_RATE: '2' }), /DEMO_ERROR_RATE="2"/);
  assert.equal(demoLoadOptions({}).rate, 50);
});
