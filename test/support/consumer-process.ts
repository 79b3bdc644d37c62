// The consumer service as its own process (consumer/src/service/main.ts through
// local/services.ts, as `npm start` runs it), for one test's topic, group and
// collection, on a metrics port and in a run folder of its own. Nothing starts
// at import or construction: the caller starts it (detached, Service.start) or
// runs it in the foreground to see its exit code and output.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumerService, loadToolchain, stackConfig, type Service } from '../../local/services.js';
import { brokers as stackBrokers, consumerEnv, qdrantUrl as stackQdrantUrl, type ConsumerNames } from './env.js';
import { httpGet } from './http.js';
import { sample } from './metrics.js';
import { freePort } from './net.js';

export interface ConsumerProcessOptions {
  /** Default: the local stack's broker. */
  brokers?: readonly string[];
  /** Default: the local stack's Qdrant. */
  qdrantUrl?: string;
  /** WITNESS_EMBEDDING_DIM. */
  dim: number;
  /** Variables on top of the defaults (topic, group, collection, a 100 ms batch wait, LOG_LEVEL info). */
  env?: Record<string, string>;
}

export interface ConsumerProcess {
  service: Service;
  /** Its HTTP server: /metrics, /healthz, /readyz. */
  url: string;
  runDir: string;
  /** The text of /metrics ('' when nothing answers). */
  metrics(): Promise<string>;
  /** One sample of /metrics (summed over the label sets that match `labels`). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Kills it if it still runs and deletes its run folder. */
  cleanup(): Promise<void>;
}

export async function consumerProcess(names: ConsumerNames, { brokers = stackBrokers, qdrantUrl = stackQdrantUrl, dim, env = {} }: ConsumerProcessOptions): Promise<ConsumerProcess> {
  const port = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'witness-consumer-'));
  const cfg = stackConfig({ ...process.env, METRICS_PORT: String(port), WITNESSLOG_RUN_DIR: runDir });
  const service = consumerService(cfg, loadToolchain(), {
    ...consumerEnv(names, { brokers, qdrant: qdrantUrl }),
    WITNESS_EMBEDDING_DIM: String(dim),
    WITNESS_BATCH_MAX_WAIT_MS: '100',
    LOG_LEVEL: 'info',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  const metrics = async () => (await httpGet(`${url}/metrics`)).text;
  return {
    service,
    url,
    runDir,
    metrics,
    metric: async (name, labels = {}) => sample(await metrics(), name, labels),
    cleanup: async () => {
      await service.kill().catch(() => {});
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

export interface ForegroundRun {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  /** SIGKILL if it still runs. */
  kill(): void;
}

/** Runs the service's command in the foreground of the test (not detached like Service.start), to see its exit code and output. */
export function runInForeground(service: Service): ForegroundRun {
  const { spec } = service;
  const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
