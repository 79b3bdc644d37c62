// What every piece of the local stack shares: where the repo and the run folder are,
// the ports (each overridable by a variable), the toolchain setup.sh found, and a
// Service: a process that can be started, stopped, killed and checked for readiness.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, stopProcess, waitFor, readPid, type ProcessSpec } from './process.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Toolchain {
  kafkaVersion: string;
  kafkaLibs: string;
  java: string;
  python: string;
  prometheus: string;
  promtool: string;
  dockerCompose: string;
  /** Absent from a toolchain.json written before Alertmanager was added (setup.sh rewrites it). */
  alertmanager?: string;
  amtool?: string;
}

export interface StackConfig {
  runDir: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  kafkaHeap: string;
  qdrantPort: number;
  /** The real server's gRPC port (the embedded engine has none). */
  qdrantGrpcPort: number;
  prometheusPort: number;
  metricsPort: number;
  alertmanagerPort: number;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not a valid port (expected an integer 1..65535)`);
  }
  return n;
}

export function stackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  return Object.freeze({
    runDir: resolve(env.WITNESSLOG_RUN_DIR ?? join(repoRoot, '.run')),
    kafkaPort: port(env, 'KAFKA_PORT', 9092),
    kafkaControllerPort: port(env, 'KAFKA_CONTROLLER_PORT', 9093),
    kafkaHeap: env.KAFKA_HEAP ?? '512m',
    qdrantPort: port(env, 'QDRANT_PORT', 6333),
    qdrantGrpcPort: port(env, 'QDRANT_GRPC_PORT', port(env, 'QDRANT_PORT', 6333) + 1),
    prometheusPort: port(env, 'PROMETHEUS_PORT', 9090),
    metricsPort: port(env, 'METRICS_PORT', 9464),
    // Not Alertmanager's usual 9093: that is the Kafka controller's here.
    alertmanagerPort: port(env, 'ALERTMANAGER_PORT', 9193),
  });
}

export function loadToolchain(): Toolchain {
  const file = join(repoRoot, '.run', 'toolchain.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: run 'bash local/setup.sh' first (npm start and npm test do)`);
  return JSON.parse(readFileSync(file, 'utf8')) as Toolchain;
}

export interface Service {
  name: string;
  /** Where it listens, for people. */
  address: string;
  /** What runs, for people (which Qdrant engine, where its console is). */
  note?: string;
  spec: ProcessSpec;
  start(): Promise<void>;
  stop(opts?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;
  /** SIGKILL, no grace: for fault-injection tests. */
  kill(): Promise<void>;
  ready(): Promise<boolean>;
  running(): boolean;
}

export function service(
  name: string,
  address: string,
  spec: ProcessSpec,
  ready: () => Promise<boolean>,
  prepare: () => Promise<void> = async () => {},
  readyTimeoutMs = 90_000,
): Service {
  return {
    name,
    address,
    spec,
    ready,
    async start() {
      await prepare();
      const pid = await startProcess(spec);
      await waitFor(name, ready, { timeoutMs: readyTimeoutMs, logFile: spec.logFile, pid });
    },
    stop: (opts) => stopProcess(spec, opts),
    kill: () => stopProcess(spec, { signal: 'SIGKILL', graceMs: 0 }),
    running: () => readPid(spec.pidFile) !== undefined,
  };
}

export async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`no value for {{${key}}}`);
    return String(values[key]);
  });
}
