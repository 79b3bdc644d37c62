// Plain wiring: the scheduled audit of main.ts over the service's own collection,
// setting the gauge the consumer registered (METRICS.entriesUnaccounted).
import type { Logger } from 'pino';
import type { Gauge, Registry } from 'prom-client';
import type { ConsumerConfig } from '../config.js';
import { METRICS } from '../ingest/metrics.js';
import { createWitnessQuery } from '../query/query.js';
import { createAuditMetric, type AuditMetric, type AuditMetricConfig } from './audit-metric.js';

export type { AuditMetric };

export function startAuditMetric({ config, schedule, registry, logger }: { config: ConsumerConfig; schedule: AuditMetricConfig; registry: Registry; logger: Logger }): AuditMetric {
  const { url, apiKey, timeoutMs, collection } = config.qdrant;
  const query = createWitnessQuery({ url, collection, timeoutMs, ...(apiKey ? { apiKey } : {}) });
  const gauge = registry.getSingleMetric(METRICS.entriesUnaccounted.name) as Gauge<'service'>;
  const metric = createAuditMetric({ query, gauge, config: schedule, logger: logger.child({ component: 'audit' }) });
  metric.start();
  return metric;
}
