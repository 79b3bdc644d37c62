// witness-consumer: the service. Configured by environment variables (see
// README.md), it serves /metrics, /healthz and /readyz, consumes until SIGTERM
// or SIGINT, then drains within WITNESS_SHUTDOWN_TIMEOUT_MS and exits 0. A
// second signal exits at once: uncommitted entries are simply delivered again.
//
// Exit codes: 0 drained and committed; 1 could not start, crashed, or stopped
// with entries left uncommitted; 2 bad configuration; 128+n a second signal n.
import { QdrantClient } from '@qdrant/js-client-rest';
import { pino } from 'pino';
import { deprecationMessage, type Deprecation } from '@witnesslog/core';
import { Registry } from 'prom-client';
import { loadConfig, type ConsumerConfig } from '../config.js';
import { createWitnessConsumer } from '../ingest/consumer.js';
import { ConfigError } from '../errors.js';
import { startHttpServer } from './http.js';
import { createRetention, retentionConfig, type Retention } from '../ops/retention.js';
import { startAuditMetric, type AuditMetric } from './start-audit-metric.js';
import { auditMetricConfig } from './audit-metric.js';

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

async function main(): Promise<number> {
  let config: ConsumerConfig;
  let retention: Retention | undefined;
  let retentionWindow: ReturnType<typeof retentionConfig>;
  let auditSchedule: ReturnType<typeof auditMetricConfig>;
  let audit: AuditMetric | undefined;
  // Old variable names (KAFKA_*, QDRANT_*) read: logged once each when the logger exists.
  const deprecations: Deprecation[] = [];
  try {
    config = loadConfig(process.env, (d) => deprecations.push(d));
    retentionWindow = retentionConfig(process.env);
    auditSchedule = auditMetricConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`witness-consumer: ${err.message}\n`);
    return 2;
  }

  const logger = pino({
    level: config.logLevel,
    base: { service: 'witness-consumer', pid: process.pid },
    // A safety net: configuration is logged through redactConfig already.
    redact: { paths: ['password', 'apiKey', '*.password', '*.apiKey', 'sasl.password', 'config.kafka.sasl.password', 'config.qdrant.apiKey'], censor: '<redacted>' },
  });
  for (const d of deprecations) logger.warn({ variable: d.old, replacement: d.replacement, ignored: d.ignored }, deprecationMessage(d));
  const registry = new Registry();
  const consumer = createWitnessConsumer({ config, registry, logger, processMetrics: true });

  let http: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    http = await startHttpServer({ host: config.metrics.host, port: config.metrics.port, registry, consumer, logger });
  } catch (err) {
    logger.fatal({ err }, `cannot listen on ${config.metrics.host}:${config.metrics.port} (METRICS_HOST/METRICS_PORT)`);
    return 1;
  }

  let stopping: Promise<number> | undefined;
  const stop = (code: number, why: string): Promise<number> => {
    stopping ??= (async () => {
      logger.info({ why }, 'shutting down');
      await retention?.stop();
      await audit?.stop();
      const { drained } = await consumer.close();
      await http.close();
      return drained ? code : Math.max(code, 1);
    })();
    return stopping;
  };

  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now; uncommitted entries will be delivered again');
        process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 1));
      }
      void stop(0, signal).then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    consumer.on('fatal', (err) => {
      logger.fatal({ err }, 'fatal error');
      void stop(1, 'fatal error').then(resolve);
    });
  });

  try {
    await consumer.start();
    // WITNESS_RETENTION: delete entries older than the window, once the collection exists.
    if (retentionWindow && !stopping) {
      const { url, apiKey, timeoutMs, collection } = config.qdrant;
      const client = new QdrantClient({ url, ...(apiKey ? { apiKey } : {}), timeout: timeoutMs, checkCompatibility: false });
      retention = createRetention({ client, collection, ...retentionWindow, registry, logger: logger.child({ component: 'retention' }) });
      retention.start();
    }
    // WITNESS_AUDIT_INTERVAL: witness_entries_unaccounted{service} from a scheduled audit.
    if (auditSchedule && !stopping) audit = startAuditMetric({ config, schedule: auditSchedule, registry, logger });
  } catch (err) {
    if (!stopping) {
      logger.fatal({ err }, `could not start: ${(err as Error).message}`);
      await stop(1, 'start failed');
      return 1;
    }
  }
  return stopped;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`witness-consumer: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
