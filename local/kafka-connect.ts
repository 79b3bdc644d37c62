// Apache Kafka Connect's worker, for the benchmark that measures qdrant-kafka
// (Qdrant's official sink, a Connect plugin) beside our consumer. Its jars come
// from Maven Central the way local/setup.sh fetches the broker's: `mvn
// dependency:copy-dependencies` of local/kafka-connect/pom.xml into the shared
// cache, once per version of that pom. Only the benchmark needs them, so they
// are fetched on first use, not by setup.sh.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { kafkaJvmOptions } from './kafka-service.js';
import { repoRoot, type Toolchain } from './service.js';

const POM = join(repoRoot, 'local/kafka-connect/pom.xml');

/** The folder holding Connect's runtime jars, fetched with Maven when missing. */
export function kafkaConnectLibs(env: NodeJS.ProcessEnv = process.env): string {
  const pom = readFileSync(POM, 'utf8');
  const version = /<kafka.version>(.+)<\/kafka.version>/.exec(pom)?.[1] ?? 'unknown';
  const cache = env.WITNESSLOG_CACHE ?? join(homedir(), '.cache', 'witnesslog');
  const libs = join(cache, `kafka-connect-${version}-${createHash('sha256').update(pom).digest('hex').slice(0, 12)}`, 'libs');
  if (existsSync(join(libs, '.complete'))) return libs;
  rmSync(libs, { recursive: true, force: true });
  try {
    execFileSync('mvn', ['-q', '-B', '-Dstyle.color=never', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libs}`], { stdio: 'pipe' });
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
    throw new Error(`mvn could not fetch Kafka Connect ${version} from Maven Central (local/kafka-connect/pom.xml): ${out.slice(-2000)}`);
  }
  writeFileSync(join(libs, '.complete'), '');
  return libs;
}

export interface ConnectStandaloneOptions {
  tools: Pick<Toolchain, 'java'>;
  libs: string;
  /** A folder of its own: properties, offsets, log. */
  dir: string;
  worker: Record<string, string>;
  connector: Record<string, string>;
  heap?: string;
}

const properties = (p: Record<string, string>) => `${Object.entries(p).map(([k, v]) => `${k}=${v}`).join('\n')}\n`;

/** A standalone Connect worker running one connector; its output goes to <dir>/connect.log. */
export function startConnectStandalone({ tools, libs, dir, worker, connector, heap = '512m' }: ConnectStandaloneOptions): ChildProcess {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'worker.properties'), properties({ 'offset.storage.file.filename': join(dir, 'offsets'), ...worker }));
  writeFileSync(join(dir, 'sink.properties'), properties(connector));
  const log = openSync(join(dir, 'connect.log'), 'a');
  return spawn(
    tools.java,
    [...kafkaJvmOptions(heap), '-cp', join(libs, '*'), 'org.apache.kafka.connect.cli.ConnectStandalone', join(dir, 'worker.properties'), join(dir, 'sink.properties')],
    { stdio: ['ignore', log, log] },
  );
}
