// The pieces of the local stack (no Docker): the real Kafka broker, the
// Qdrant-compatible server, Prometheus and the consumer service. Each one can be
// started, stopped, killed and checked for readiness on its own, so the
// reliability tests can inject real faults (SIGKILL the broker, stop Qdrant).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { createServer } from 'node:net';
import { startProcess, stopProcess, waitFor, readPid, portInUse, type ProcessSpec } from './process.js';
import { qdrantEngine, serverEnv, type QdrantEngine } from './qdrant-engine.js';

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

/** A SCRAM user of the broker (SASL/SCRAM-SHA-256 or -512). */
export interface ScramCredential {
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  name: string;
  password: string;
}

export interface KafkaServiceOptions {
  /**
   * Appended to local/kafka/server.properties as filled in: a key given again
   * replaces the template's (java.util.Properties keeps the last one), which is
   * how a test adds a SASL_SSL listener.
   */
  extraProperties?: string;
  /** SCRAM users, written into the metadata when the storage is formatted (KRaft's way; there is no ZooKeeper to add them to). */
  scramCredentials?: readonly ScramCredential[];
}

export function kafkaService(cfg: StackConfig, tools: Toolchain, { extraProperties = '', scramCredentials = [] }: KafkaServiceOptions = {}): Service {
  const dir = join(cfg.runDir, 'kafka');
  const dataDir = join(dir, 'data');
  const props = join(dir, 'server.properties');
  const brokers = [`127.0.0.1:${cfg.kafkaPort}`];
  const spec: ProcessSpec = {
    name: 'kafka',
    command: tools.java,
    args: kafkaJavaArgs(tools, cfg.kafkaHeap, props),
    logFile: join(cfg.runDir, 'logs', 'kafka.log'),
    pidFile: join(cfg.runDir, 'pids', 'kafka.pid'),
    ports: [cfg.kafkaPort, cfg.kafkaControllerPort],
  };
  const prepare = async () => {
    mkdirSync(dataDir, { recursive: true });
    const template = readFileSync(join(repoRoot, 'local/kafka/server.properties'), 'utf8');
    writeFileSync(
      props,
      fill(template, { KAFKA_PORT: cfg.kafkaPort, KAFKA_CONTROLLER_PORT: cfg.kafkaControllerPort, KAFKA_DATA_DIR: dataDir }) +
        extraProperties,
    );
    if (!existsSync(join(dataDir, 'meta.properties'))) await formatKafkaStorage(tools, props, scramCredentials);
  };
  return service('kafka', `PLAINTEXT://127.0.0.1:${cfg.kafkaPort}`, spec, () => kafkaReady(brokers), prepare);
}

// base64url of 16 random bytes, as Kafka's own ids; like Kafka's Uuid.randomUuid, never
// one that starts with '-': StorageTool would read it as an option and refuse to format
// ("argument --cluster-id/-t: expected one argument"), which failed one start in 64.
/** The JVM arguments of one Kafka node (broker and controller) reading `props`. */
export function kafkaJavaArgs(tools: Toolchain, heap: string, props: string): string[] {
  return [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(repoRoot, 'local/kafka/log4j2.properties')}`,
    '-cp',
    join(tools.kafkaLibs, '*'),
    'kafka.Kafka',
    props,
  ];
}

export function newKafkaClusterId(): string {
  let id: string;
  do id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
  while (id.startsWith('-'));
  return id;
}

// KRaft needs its log directory formatted with a cluster id before the first start
// (the nodes of one cluster share theirs: local/cluster.ts passes it).
export async function formatKafkaStorage(tools: Toolchain, props: string, scram: readonly ScramCredential[], sharedId?: string): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const clusterId = sharedId ?? newKafkaClusterId();
  const users = scram.flatMap((c) => ['--add-scram', `${c.mechanism}=[name=${c.name},password=${c.password}]`]);
  try {
    execFileSync(
      tools.java,
      ['-cp', join(tools.kafkaLibs, '*'), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, ...users],
      { stdio: 'pipe' },
    );
  } catch (err) {
    // The failed command line would carry the SCRAM passwords into the error: name the tool's output only.
    const e = err as { status?: number; stderr?: Buffer; stdout?: Buffer };
    const output = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim();
    const redacted = scram.reduce((text, c) => text.split(c.password).join('<redacted>'), output);
    throw new Error(`kafka.tools.StorageTool format failed (exit ${e.status ?? '?'}): ${redacted}`);
  }
}

// Ready means a real metadata request succeeds and the group coordinator answers:
// the first consumer group would otherwise wait for __consumer_offsets to be created.
export async function kafkaReady(brokers: string[]): Promise<boolean> {
  const kafka = new kafkajs.Kafka({
    brokers,
    clientId: 'witnesslog-readiness',
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 2, initialRetryTime: 200 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [] });
    await admin.describeGroups(['witnesslog-readiness']);
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Qdrant: the real server when a binary is at hand, else the embedded engine
 * (see local/qdrant-engine.ts). `env` is added to the process environment for
 * the choice and the process: QDRANT_API_KEY, QDRANT_LOCAL, QDRANT_BIN.
 */
export function qdrantService(cfg: StackConfig, tools: Toolchain, env: NodeJS.ProcessEnv = {}): Service {
  const engine = qdrantEngine(repoRoot, { ...process.env, ...env });
  return engine.kind === 'server' ? qdrantServer(cfg, engine, env) : qdrantEmbedded(cfg, tools, env, engine.why);
}

function qdrantEmbedded(cfg: StackConfig, tools: Toolchain, env: NodeJS.ProcessEnv, why: string): Service {
  const dataDir = join(cfg.runDir, 'qdrant', 'data');
  const spec: ProcessSpec = {
    name: 'qdrant',
    command: tools.python,
    args: [join(repoRoot, 'local/qdrant/server.py'), '--host', '127.0.0.1', '--port', String(cfg.qdrantPort), '--data', dataDir],
    env,
    logFile: join(cfg.runDir, 'logs', 'qdrant.log'),
    pidFile: join(cfg.runDir, 'pids', 'qdrant.pid'),
    ports: [cfg.qdrantPort],
  };
  const url = `http://127.0.0.1:${cfg.qdrantPort}`;
  const s = service('qdrant', url, spec, () => httpOk(`${url}/readyz`), async () => {
    mkdirSync(dataDir, { recursive: true });
  });
  return { ...s, note: `embedded engine, local/qdrant/server.py (${why})` };
}

function qdrantServer(cfg: StackConfig, engine: Extract<QdrantEngine, { kind: 'server' }>, env: NodeJS.ProcessEnv): Service {
  const dir = join(cfg.runDir, 'qdrant-server');
  const apiKey = env.QDRANT_API_KEY ?? process.env.QDRANT_API_KEY;
  const spec: ProcessSpec = {
    name: 'qdrant',
    command: engine.bin,
    args: [],
    // Its working directory is its own: the server reads ./config/*.yaml from it.
    cwd: dir,
    env: {},
    logFile: join(cfg.runDir, 'logs', 'qdrant.log'),
    pidFile: join(cfg.runDir, 'pids', 'qdrant.pid'),
    ports: [cfg.qdrantPort],
  };
  const url = `http://127.0.0.1:${cfg.qdrantPort}`;
  const prepare = async () => {
    mkdirSync(dir, { recursive: true });
    // Nothing of ours speaks gRPC; a test that starts its own server beside the
    // stack's (same QDRANT_GRPC_PORT in its environment) gets a free one instead.
    const grpcPort = (await portInUse(cfg.qdrantGrpcPort)) ? await freePort() : cfg.qdrantGrpcPort;
    spec.env = { ...env, ...serverEnv(engine, { dir, httpPort: cfg.qdrantPort, grpcPort, apiKey }) };
    spec.ports = [cfg.qdrantPort, grpcPort];
  };
  const s = service('qdrant', url, spec, () => httpOk(`${url}/readyz`), prepare);
  const dashboard = engine.staticDir ? `; web console ${url}/dashboard/` : '';
  return { ...s, note: `Qdrant server ${engine.bin} (${engine.why === 'QDRANT_BIN' ? 'QDRANT_BIN' : 'shared build'}; gRPC :${cfg.qdrantGrpcPort}${dashboard})` };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

export function prometheusService(cfg: StackConfig, tools: Toolchain): Service {
  const dir = join(cfg.runDir, 'prometheus');
  const config = join(dir, 'prometheus.yml');
  const spec: ProcessSpec = {
    name: 'prometheus',
    command: tools.prometheus,
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${cfg.prometheusPort}`,
      '--storage.tsdb.retention.time=2d',
      '--web.enable-lifecycle',
    ],
    logFile: join(cfg.runDir, 'logs', 'prometheus.log'),
    pidFile: join(cfg.runDir, 'pids', 'prometheus.pid'),
    ports: [cfg.prometheusPort],
  };
  const url = `http://127.0.0.1:${cfg.prometheusPort}`;
  const prepare = async () => {
    writePrometheusFiles(cfg);
    writeFileSync(config, prometheusConfig(cfg));
  };
  return service('prometheus', url, spec, () => httpOk(`${url}/-/ready`), prepare);
}

/** Where the local Prometheus reads its rules and its serving-node (producer) targets. */
export function prometheusPaths(cfg: StackConfig): { rulesDir: string; producerTargets: string } {
  const dir = join(cfg.runDir, 'prometheus');
  return { rulesDir: join(dir, 'rules'), producerTargets: join(dir, 'producers.json') };
}

/** The local Prometheus config: local/prometheus.yml with this stack's ports and paths filled in. */
export function prometheusConfig(cfg: StackConfig): string {
  const template = readFileSync(join(repoRoot, 'local/prometheus.yml'), 'utf8');
  const { rulesDir, producerTargets } = prometheusPaths(cfg);
  return fill(template, {
    METRICS_PORT: cfg.metricsPort,
    PROMETHEUS_PORT: cfg.prometheusPort,
    ALERTMANAGER_PORT: cfg.alertmanagerPort,
    RULES_DIR: rulesDir,
    PRODUCER_TARGETS: producerTargets,
  });
}

/** How much shorter every `for:` is locally: 5m -> 15s, so a test sees an alert fire within a minute. */
export const LOCAL_FOR_DIVISOR = 20;

/** A rules file with every `for:` divided by LOCAL_FOR_DIVISOR; expressions and thresholds unchanged. */
export function localRules(text: string): string {
  const seconds = { s: 1, m: 60, h: 3600 } as const;
  return text.replace(/^(\s+for: )(\d+)([smh])[ \t]*$/gm, (_, lead: string, n: string, unit: keyof typeof seconds) => {
    return `${lead}${Math.max(1, Math.ceil((Number(n) * seconds[unit]) / LOCAL_FOR_DIVISOR))}s`;
  });
}

/** The local copies of prometheus/rules/*.yml, and an empty producer target list unless one exists. */
function writePrometheusFiles(cfg: StackConfig): void {
  const { rulesDir, producerTargets } = prometheusPaths(cfg);
  mkdirSync(rulesDir, { recursive: true });
  for (const f of readdirSync(join(repoRoot, 'prometheus/rules')).filter((f) => f.endsWith('.yml'))) {
    writeFileSync(join(rulesDir, f), localRules(readFileSync(join(repoRoot, 'prometheus/rules', f), 'utf8')));
  }
  if (!existsSync(producerTargets)) writeFileSync(producerTargets, '[]\n');
}

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

export interface AlertmanagerOptions {
  /** Where Alertmanager posts notifications (its webhook receiver); without one, alerts are only shown (web UI, amtool). */
  webhookUrl?: string;
}

/**
 * Alertmanager (Debian's prometheus-alertmanager), which the local Prometheus sends
 * its alerts to. Grouping waits are seconds here, minutes in prometheus/alertmanager.yml.
 */
export function alertmanagerService(cfg: StackConfig, tools: Toolchain, { webhookUrl }: AlertmanagerOptions = {}): Service {
  const dir = join(cfg.runDir, 'alertmanager');
  const config = join(dir, 'alertmanager.yml');
  const spec: ProcessSpec = {
    name: 'alertmanager',
    command: tools.alertmanager ?? 'prometheus-alertmanager',
    args: [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${cfg.alertmanagerPort}`,
      // No cluster gossip: it would listen on 9094 for every instance on the machine.
      '--cluster.listen-address=',
    ],
    logFile: join(cfg.runDir, 'logs', 'alertmanager.log'),
    pidFile: join(cfg.runDir, 'pids', 'alertmanager.pid'),
    ports: [cfg.alertmanagerPort],
  };
  const url = `http://127.0.0.1:${cfg.alertmanagerPort}`;
  const receiver = webhookUrl ? `    webhook_configs:\n      - url: ${JSON.stringify(webhookUrl)}\n        send_resolved: true\n` : '';
  const prepare = async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      config,
      `route:\n  receiver: local\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 5s\n  repeat_interval: 1h\nreceivers:\n  - name: local\n${receiver}`,
    );
  };
  return service('alertmanager', url, spec, () => httpOk(`${url}/-/ready`), prepare);
}
