// The Prometheus config the local stack runs is one promtool accepts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prometheusConfig, stackConfig } from '../local/services.js';

const promtool = process.env.WITNESSLOG_PROMTOOL ?? 'promtool';

test('promtool check config accepts the local Prometheus config', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'prom-')), 'prometheus.yml');
  writeFileSync(file, prometheusConfig(stackConfig()));
  const out = execFileSync(promtool, ['check', 'config', file], { encoding: 'utf8' });
  assert.match(out, /SUCCESS/);
});

test('promtool rejects a broken config (the check can fail)', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'prom-')), 'prometheus.yml');
  writeFileSync(file, prometheusConfig(stackConfig()).replace('scrape_interval: 5s', 'scrape_interval: five'));
  assert.throws(() => execFileSync(promtool, ['check', 'config', file], { stdio: 'pipe' }));
});
