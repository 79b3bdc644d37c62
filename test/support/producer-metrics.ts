// The producer's registry agrees with its stats() (reading the registry: test/support/metrics.ts).
import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import { producerMetricNames, type WitnessProducerStats } from '@witnesslog/producer';
import { samples } from './metrics.js';

/** The registry says what stats() says; call it when the producer is quiet (nothing in flight changes). */
export async function assertMetricsMatch(registry: Registry, stats: WitnessProducerStats): Promise<void> {
  const m = await samples(registry);
  const n = producerMetricNames;
  assert.equal(m.get(n.entriesRecorded), stats.total, 'recorded');
  assert.equal(m.get(n.entriesDelivered), stats.delivered, 'delivered');
  // Summed over the `model` label: per model they add up to what stats() says.
  const witnessed = (outcome: string) =>
    [...m].filter(([k]) => k.startsWith(`${n.requestsWitnessed}{outcome="${outcome}",model="`)).reduce((sum, [, v]) => sum + v, 0);
  assert.equal(witnessed('success'), stats.success, 'success');
  assert.equal(witnessed('error'), stats.error, 'error');
  for (const reason of ['queue_full', 'invalid', 'send_failed', 'closed'] as const) {
    assert.equal(m.get(`${n.entriesDropped}{reason="${reason}"}`), stats.dropped[reason], `dropped ${reason}`);
  }
  assert.equal(m.get(n.queueEntries), stats.pending, 'queue entries');
  assert.equal(m.get(n.queueBytes), stats.pending_bytes, 'queue bytes');
  assert.equal(m.get(n.connected), stats.connected ? 1 : 0, 'connected');
}
