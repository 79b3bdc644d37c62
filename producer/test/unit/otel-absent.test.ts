// Without @opentelemetry/api the SDK works and tries nothing more; with it, the
// SDK looks it up not at import time but when the first producer is created, once
// per process. Each case in a child process (test/support/otel-absent-host.ts),
// whose module cache is its own; the package is installed here, so the host hides it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

const host = new URL('../../../test/support/otel-absent-host.ts', import.meta.url).pathname;

function run(mode: 'hidden' | 'present'): { resolvable: boolean; afterImport: number; afterCreate: number; accepted: boolean; trace: unknown; delivered: number } {
  const out = execFileSync(process.execPath, ['--conditions=witnesslog-src', '--import', 'tsx', host, mode], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

test('@opentelemetry/api not installed: looked up once, found absent, and entries are written with trace null', () => {
  const r = run('hidden');
  assert.equal(r.resolvable, false, 'the host hid the package');
  assert.deepStrictEqual([r.afterImport, r.afterCreate], [0, 1], 'one lookup for two producers: the absence is kept');
  assert.deepStrictEqual([r.accepted, r.delivered, r.trace], [true, 1, null]);
});

test('@opentelemetry/api installed: importing the SDK looks nothing up; creating the first producer does, once', () => {
  const r = run('present');
  assert.equal(r.resolvable, true);
  assert.deepStrictEqual([r.afterImport, r.afterCreate], [0, 1]);
  // No span is active (no context manager registered): no trace.
  assert.deepStrictEqual([r.accepted, r.delivered, r.trace], [true, 1, null]);
});
