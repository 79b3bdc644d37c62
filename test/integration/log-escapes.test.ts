// No terminal escape codes in a service log (.run/logs/*.log): they are files,
// read with less, grep and CI artefact viewers, where ESC[2m… is noise. The
// running stack's logs are checked as they are; then a Qdrant is started the way
// the stack starts one, from a shell that forces colour (CLICOLOR_FORCE=1 makes
// the real server colour every line, FORCE_COLOR does Node's), and its log must
// still be plain: local/process.ts tells every child not to colour.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadToolchain, qdrantService, stackConfig } from '../../local/services.js';
import { freePort } from '../support/net.js';

const ESC = '\x1b';

/** Every line with an ESC, as `file:line: text` with the ESC shown as \x1b (the first few). */
function escapes(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.includes(ESC) ? [`${file}:${i + 1}: ${line.replaceAll(ESC, '\\x1b').slice(0, 160)}`] : []))
    .slice(0, 5);
}

test('the running stack writes no escape codes into its logs', () => {
  const dir = join(process.env.WITNESSLOG_RUN_DIR ?? stackConfig().runDir, 'logs');
  const logs = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.log')) : [];
  // The stack runs (npm test starts it): Kafka's and Qdrant's logs at least are there to read.
  for (const name of ['kafka.log', 'qdrant.log']) assert.ok(logs.includes(name), `${dir} has ${name}`);
  assert.deepEqual(logs.flatMap((f) => escapes(join(dir, f))), []);
});

test('a Qdrant started from a shell forcing colour logs plain text', { timeout: 120_000 }, async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'witnesslog-log-escapes-'));
  t.after(() => rmSync(runDir, { recursive: true, force: true }));
  const cfg = stackConfig({ ...process.env, QDRANT_PORT: String(await freePort()), QDRANT_GRPC_PORT: String(await freePort()), WITNESSLOG_RUN_DIR: runDir });
  // The service's env is laid over the test's own, as a developer's shell would be.
  const qdrant = qdrantService(cfg, loadToolchain(), { CLICOLOR_FORCE: '1', FORCE_COLOR: '1' });
  t.after(() => qdrant.stop());
  await qdrant.start();
  // Requests that log (a collection created; a refusal), so there is more than the start to read.
  const res = await fetch(`${qdrant.address}/collections/escapes`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ vectors: { size: 4, distance: 'Cosine' } }),
  });
  assert.equal(res.status, 200, await res.text());
  const refused = await fetch(`${qdrant.address}/collections/absent/points/count`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(refused.status, 404, await refused.text());
  await qdrant.stop();
  const log = qdrant.spec.logFile;
  // The embedded engine logs little (its start line, refusals); the real server every step of its start.
  assert.ok(readFileSync(log, 'utf8').trim() !== '', `${log} has log lines`);
  assert.deepEqual(escapes(log), []);
});
