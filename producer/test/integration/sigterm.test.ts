// The README's shutdown pattern (issue 14, point 8): on SIGTERM, close() delivers
// what is pending and the process then exits; the old `process.on('SIGTERM', () =>
// witness.close())` kept it running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { deleteTopics, messageCount } from '../../../test/support/producer-kafka.js';

const app = (topic: string) => `
import { createWitnessProducer } from '@witnesslog/producer';
import { createWitnessEntry } from '@witnesslog/schemas';
const witness = createWitnessProducer({ brokers: ${JSON.stringify(brokers)}, topic: ${JSON.stringify(topic)}, env: {} });
process.once('SIGTERM', () => {
  void witness.close().finally(() => process.exit(0));
});
for (let i = 0; i < 10; i++) witness.record(createWitnessEntry('s', new Float32Array(768)));
setInterval(() => {}, 1_000); // a server keeps the loop alive
console.log('ready');
`;

test('on SIGTERM the documented handler delivers what is pending and the process exits', { timeout: 120_000 }, async (t) => {
  const topic = uniqueName('producer-sigterm');
  t.after(() => deleteTopics(brokers, [topic]));
  const child = spawn(process.execPath, ['--conditions=witnesslog-src', '--import', 'tsx', '--input-type=module', '-e', app(topic)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await once(child.stdout, 'data');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  assert.equal(signal, null, 'exited by itself, not killed');
  assert.equal(code, 0);
  assert.equal(await messageCount(brokers, topic), 11, 'the 10 entries and close()\'s final checkpoint (issue 26)');
});
