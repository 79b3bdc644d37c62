// The pieces of the local stack (no Docker): the real Kafka broker, the
// Qdrant-compatible server, Prometheus, Alertmanager and the consumer service. Each
// one can be started, stopped, killed and checked for readiness on its own, so the
// reliability tests can inject real faults (SIGKILL the broker, stop Qdrant). One
// file per service; this one is the index the stack and the tests import, plus the
// consumer and the environment that points a client at the stack.
import { join } from 'node:path';
import { type ProcessSpec } from './process.js';
import { qdrantEngine } from './qdrant-engine.js';
import { repoRoot, service, httpOk, type StackConfig, type Toolchain, type Service } from './service.js';
export * from './service.js';
export * from './kafka-service.js';
export * from './qdrant-service.js';
export * from './prometheus-service.js';

/** Environment that points a client (the consumer, a test) at this stack. */
export function stackEnv(cfg: StackConfig, tools: Toolchain): Record<string, string> {
  return {
    WITNESS_KAFKA_BROKERS: `127.0.0.1:${cfg.kafkaPort}`,
    WITNESS_QDRANT_URL: `http://127.0.0.1:${cfg.qdrantPort}`,
    PROMETHEUS_URL: `http://127.0.0.1:${cfg.prometheusPort}`,
    METRICS_PORT: String(cfg.metricsPort),
    WITNESSLOG_PYTHON: tools.python,
    // 'server' or 'embedded': which Qdrant the stack runs, for tests that say what they checked against.
    WITNESSLOG_QDRANT_ENGINE: qdrantEngine(repoRoot, process.env).kind,
    WITNESSLOG_PROMTOOL: tools.promtool,
    ...(tools.amtool ? { WITNESSLOG_AMTOOL: tools.amtool } : {}),
    WITNESSLOG_DOCKER_COMPOSE: tools.dockerCompose,
    WITNESSLOG_RUN_DIR: cfg.runDir,
  };
}

/** The consumer service (consumer/src/service/main.ts), run from source through tsx. */
export function consumerService(cfg: StackConfig, tools: Toolchain, env: Record<string, string> = {}): Service {
  const spec: ProcessSpec = {
    name: 'consumer',
    command: process.execPath,
    args: ['--conditions=witnesslog-src', '--import', 'tsx', join(repoRoot, 'consumer/src/service/main.ts')],
    cwd: repoRoot,
    env: { ...stackEnv(cfg, tools), ...env },
    logFile: join(cfg.runDir, 'logs', 'consumer.log'),
    pidFile: join(cfg.runDir, 'pids', 'consumer.pid'),
    ports: [cfg.metricsPort],
  };
  const url = `http://127.0.0.1:${cfg.metricsPort}`;
  return service('consumer', `${url}/metrics`, spec, () => httpOk(`${url}/readyz`));
}
