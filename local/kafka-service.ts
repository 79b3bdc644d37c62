// The real Kafka broker of the local stack (KRaft, one node; local/cluster.ts runs
// three), its JVM arguments, storage formatting with SCRAM users, and readiness as a
// real metadata request plus a group-coordinator lookup.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs, { type KafkaConfig } from 'kafkajs';
import { type ProcessSpec } from './process.js';
import { repoRoot, service, fill, type StackConfig, type Toolchain, type Service } from './service.js';

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
  return [...kafkaJvmOptions(heap), '-cp', join(tools.kafkaLibs, '*'), 'kafka.Kafka', props];
}

/** The JVM options of the stack's Kafka processes (the broker; Connect, local/kafka-connect.ts): heap, G1, the broker's log4j2 setup. */
export function kafkaJvmOptions(heap: string): string[] {
  return [`-Xms${heap}`, `-Xmx${heap}`, '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${join(repoRoot, 'local/kafka/log4j2.properties')}`];
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
// `access`: a login for a broker without an anonymous listener (test/reliability/compose-kafka.test.ts).
export async function kafkaReady(brokers: string[], access: Pick<KafkaConfig, 'sasl' | 'ssl'> = {}): Promise<boolean> {
  const kafka = new kafkajs.Kafka({
    ...access,
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
