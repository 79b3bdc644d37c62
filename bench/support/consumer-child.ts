// The witness-consumer service (consumer/src/service/main.ts) as users run it:
// its own node process, default settings but for what names this run's topic,
// group and collection, plus the extra variables a row compares (a write
// protocol, seals). With `profileDir` it runs under --cpu-prof, and the profile
// is written there when it exits on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/support/net.js';

const mainTs = fileURLToPath(new URL('../../consumer/src/service/main.ts', import.meta.url));

export interface ConsumerChild {
  child: ChildProcess;
  pid: number;
  metricsUrl: string;
  alive(): boolean;
  /** Resolves once /readyz answers 200 (joined its group, Qdrant reachable). */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then waits for the drained exit (and the profile, if any). */
  stop(): Promise<void>;
}

export interface ConsumerChildOptions {
  brokers: readonly string[];
  qdrantUrl: string;
  topic: string;
  group: string;
  collection: string;
  env?: Record<string, string>;
  profileDir?: string;
}

export async function startConsumerChild(o: ConsumerChildOptions): Promise<ConsumerChild> {
  const port = await freePort();
  const prof = o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : [];
  const child = spawn(process.execPath, [...prof, '--conditions=witnesslog-src', '--import', 'tsx', mainTs], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      WITNESS_KAFKA_BROKERS: o.brokers.join(','),
      WITNESS_QDRANT_URL: o.qdrantUrl,
      WITNESS_TOPIC: o.topic,
      WITNESS_DLQ_TOPIC: `${o.topic}.dlq`,
      WITNESS_GROUP_ID: o.group,
      WITNESS_COLLECTION: o.collection,
      METRICS_PORT: String(port),
      LOG_LEVEL: 'warn',
      ...o.env,
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  // It starts consuming as soon as it has joined; a caller that times from a pre-filled topic starts its clock at the first visible point.
  if (!child.pid) throw new Error('witness-consumer did not start');
  return {
    child,
    pid: child.pid,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    alive,
    ready: async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false))) {
        if (!alive()) throw new Error(`witness-consumer exited with ${child.exitCode ?? child.signalCode} before it was ready`);
        if (Date.now() > deadline) throw new Error(`witness-consumer not ready within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    stop: async () => {
      if (alive()) child.kill('SIGTERM');
      await exited;
    },
  };
}
