// The consumer's configuration: read from environment variables once, at start,
// validated against one table, then frozen. Every problem is reported at once,
// each naming the variable, the value it had and what was expected, so a bad
// deployment fails in its first second with a message an operator can act on.
//
// The Kafka connection (WITNESS_KAFKA_*) is core's parser, the producer SDKs' too;
// the names before it (KAFKA_*, QDRANT_*) still work, reported through `onDeprecated`.
import {
  InvalidOptionError,
  TOPIC_NAME_RULE,
  consumerLegacyKafkaNames,
  deepFreeze,
  envReader,
  isTopicName,
  kafkaConnectionFromEnv,
  parseInteger,
  type Deprecation,
  type EnvReader,
  type SaslMechanism,
  type SaslOptions,
} from '@witnesslog/core';
import { ConfigError } from './errors.js';
import { parseCollectionOptions, type CollectionOptions } from './store/collection-options.js';
import type { WriteProtocol } from './store/qdrant.js';

// The SASL types are the core's, shared with the producer's `sasl` option.
export type { SaslMechanism, SaslOptions };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** TLS to the brokers: `ca` (PEM) from WITNESS_KAFKA_SSL_CA_FILE or _CA, the system's CAs otherwise. */
export interface SslOptions {
  readonly ca?: string;
  readonly rejectUnauthorized?: boolean;
}

export interface ConsumerConfig {
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    /** false, or TLS options (`ca` when a CA is set). */
    readonly ssl: false | SslOptions;
    readonly sasl?: SaslOptions;
  };
  readonly topic: string;
  readonly groupId: string;
  readonly dlqTopic: string;
  /** Group session timeout; a member silent this long (crashed, SIGKILLed) loses its partitions. */
  readonly sessionTimeoutMs: number;
  readonly qdrant: {
    readonly url: string;
    readonly apiKey?: string;
    readonly collection: string;
    /** Per request; a write that takes longer is retried. */
    readonly timeoutMs: number;
    /** How upserts travel, and where gRPC listens (store/qdrant.ts createQdrantWriter). */
    readonly writeProtocol: WriteProtocol;
    readonly grpcUrl: string;
    /** Storage settings applied when the collection is created (collection-options.ts). */
    readonly collectionOptions?: CollectionOptions;
  };
  readonly embeddingDim: number;
  readonly batch: {
    readonly maxEntries: number;
    readonly maxWaitMs: number;
    /** Entries held in memory (buffered plus being written) before fetching pauses. */
    readonly maxBufferedEntries: number;
  };
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
  readonly shutdownTimeoutMs: number;
  readonly metrics: { readonly host: string; readonly port: number };
  readonly logLevel: LogLevel;
}

/** Every variable with its default, in the order the README documents them. */
export const CONFIG_DEFAULTS = Object.freeze({
  WITNESS_KAFKA_BROKERS: '127.0.0.1:9092',
  WITNESS_KAFKA_CLIENT_ID: 'witness-consumer',
  WITNESS_KAFKA_SSL: 'false',
  WITNESS_KAFKA_SSL_CA_FILE: '',
  WITNESS_KAFKA_SSL_CA: '',
  WITNESS_KAFKA_SSL_REJECT_UNAUTHORIZED: 'true',
  WITNESS_KAFKA_SASL_MECHANISM: '',
  WITNESS_KAFKA_SASL_USERNAME: '',
  WITNESS_KAFKA_SASL_PASSWORD: '',
  WITNESS_TOPIC: 'witness.entries',
  WITNESS_GROUP_ID: 'witness-consumer',
  WITNESS_DLQ_TOPIC: 'witness.entries.dlq',
  WITNESS_SESSION_TIMEOUT_MS: '30000',
  WITNESS_QDRANT_URL: 'http://127.0.0.1:6333',
  WITNESS_QDRANT_API_KEY: '',
  WITNESS_QDRANT_TIMEOUT_MS: '30000',
  WITNESS_QDRANT_WRITE_PROTOCOL: 'auto',
  WITNESS_QDRANT_GRPC_URL: '',
  WITNESS_COLLECTION: 'witness_log',
  WITNESS_EMBEDDING_DIM: '768',
  WITNESS_BATCH_MAX_ENTRIES: '100',
  WITNESS_BATCH_MAX_WAIT_MS: '1000',
  WITNESS_MAX_BUFFERED_ENTRIES: '1000',
  WITNESS_RETRY_INITIAL_MS: '100',
  WITNESS_RETRY_MAX_MS: '5000',
  WITNESS_SHUTDOWN_TIMEOUT_MS: '30000',
  METRICS_HOST: '127.0.0.1',
  METRICS_PORT: '9464',
  LOG_LEVEL: 'info',
} as const);

export type ConfigVariable = keyof typeof CONFIG_DEFAULTS;
export type ConfigEnv = Partial<Record<string, string | undefined>>;

/** The names before WITNESS_KAFKA_* and WITNESS_QDRANT_* (new -> old): still read, each reported once. */
export const LEGACY_VARIABLES: Readonly<Record<string, string>> = Object.freeze({
  ...consumerLegacyKafkaNames,
  WITNESS_QDRANT_URL: 'QDRANT_URL',
  WITNESS_QDRANT_API_KEY: 'QDRANT_API_KEY',
  WITNESS_QDRANT_TIMEOUT_MS: 'QDRANT_TIMEOUT_MS',
});

const SECRET_VARIABLES: ReadonlySet<string> = new Set(['WITNESS_KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD', 'WITNESS_QDRANT_API_KEY', 'QDRANT_API_KEY']);
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads and validates the configuration from `env` (process.env by default).
 * Empty strings count as unset. Throws a ConfigError listing every bad variable.
 * Each old variable name read is passed to `onDeprecated` once, for the caller's log.
 */
export function loadConfig(env: ConfigEnv = process.env, onDeprecated?: (d: Deprecation) => void): ConsumerConfig {
  const problems: string[] = [];
  const reader = envReader(env, LEGACY_VARIABLES);
  const raw = (name: ConfigVariable): string => reader.get(name)?.value ?? CONFIG_DEFAULTS[name];
  const report = (name: string, value: unknown, expected: string) => {
    const shown = SECRET_VARIABLES.has(name) ? '<redacted>' : JSON.stringify(value ?? '');
    problems.push(`${name}=${shown}: expected ${expected}`);
  };
  // Named as set: an old name's value is reported under the old name.
  const bad = (name: ConfigVariable, expected: string) => {
    const found = reader.get(name);
    report(found?.name ?? name, found?.value, expected);
  };
  const int = (name: ConfigVariable, min: number, max: number): number => {
    try {
      return parseInteger(reader.get(name) ?? { name, value: CONFIG_DEFAULTS[name] }, min, max);
    } catch (err) {
      if (!(err instanceof InvalidOptionError)) throw err;
      bad(name, err.expected);
      return Number(CONFIG_DEFAULTS[name]);
    }
  };
  const topic = (name: ConfigVariable): string => {
    const text = raw(name);
    if (!isTopicName(text)) bad(name, TOPIC_NAME_RULE);
    return text;
  };

  const kafka = kafkaFromEnv(reader, report);

  const witnessTopic = topic('WITNESS_TOPIC');
  const dlqTopic = topic('WITNESS_DLQ_TOPIC');
  if (dlqTopic === witnessTopic) bad('WITNESS_DLQ_TOPIC', 'a topic other than WITNESS_TOPIC (dead letters would be consumed again)');
  const groupId = raw('WITNESS_GROUP_ID');

  const qdrantUrl = raw('WITNESS_QDRANT_URL');
  if (!isHttpUrl(qdrantUrl)) bad('WITNESS_QDRANT_URL', 'an http:// or https:// URL (e.g. http://qdrant:6333)');
  const apiKey = raw('WITNESS_QDRANT_API_KEY');
  const writeProtocol = raw('WITNESS_QDRANT_WRITE_PROTOCOL').toLowerCase();
  if (!['auto', 'grpc', 'rest'].includes(writeProtocol)) bad('WITNESS_QDRANT_WRITE_PROTOCOL', 'auto, grpc or rest');
  const grpcUrl = raw('WITNESS_QDRANT_GRPC_URL') || defaultGrpcUrl(qdrantUrl);
  if (raw('WITNESS_QDRANT_GRPC_URL') && !isHttpUrl(grpcUrl)) bad('WITNESS_QDRANT_GRPC_URL', 'an http:// or https:// URL (e.g. http://qdrant:6334)');
  const collection = raw('WITNESS_COLLECTION');
  if (!/^[a-zA-Z0-9_.-]{1,255}$/.test(collection)) bad('WITNESS_COLLECTION', 'a collection name (letters, digits, "_", ".", "-"; at most 255)');

  const collectionOptions = parseCollectionOptions(env);
  problems.push(...collectionOptions.problems);
  const maxEntries = int('WITNESS_BATCH_MAX_ENTRIES', 1, 10_000);
  const maxBuffered = int('WITNESS_MAX_BUFFERED_ENTRIES', 1, 10_000_000);
  if (maxBuffered < maxEntries) bad('WITNESS_MAX_BUFFERED_ENTRIES', `at least WITNESS_BATCH_MAX_ENTRIES (${maxEntries})`);
  const retryInitial = int('WITNESS_RETRY_INITIAL_MS', 1, 600_000);
  const retryMax = int('WITNESS_RETRY_MAX_MS', 1, 3_600_000);
  if (retryMax < retryInitial) bad('WITNESS_RETRY_MAX_MS', `at least WITNESS_RETRY_INITIAL_MS (${retryInitial})`);

  const level = raw('LOG_LEVEL').toLowerCase();
  if (!LOG_LEVELS.includes(level as LogLevel)) bad('LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`);

  const config: ConsumerConfig = {
    kafka,
    topic: witnessTopic,
    groupId,
    dlqTopic,
    // The broker's default bounds (group.min/max.session.timeout.ms).
    sessionTimeoutMs: int('WITNESS_SESSION_TIMEOUT_MS', 6_000, 1_800_000),
    qdrant: {
      url: qdrantUrl.replace(/\/+$/, ''),
      ...(apiKey !== '' ? { apiKey } : {}),
      collection,
      timeoutMs: int('WITNESS_QDRANT_TIMEOUT_MS', 100, 600_000),
      writeProtocol: writeProtocol as WriteProtocol,
      grpcUrl: grpcUrl.replace(/\/+$/, ''),
      collectionOptions: collectionOptions.options,
    },
    embeddingDim: int('WITNESS_EMBEDDING_DIM', 1, 65_536),
    batch: { maxEntries, maxWaitMs: int('WITNESS_BATCH_MAX_WAIT_MS', 0, 600_000), maxBufferedEntries: maxBuffered },
    retry: { initialMs: retryInitial, maxMs: retryMax },
    shutdownTimeoutMs: int('WITNESS_SHUTDOWN_TIMEOUT_MS', 1000, 3_600_000),
    metrics: { host: raw('METRICS_HOST'), port: int('METRICS_PORT', 0, 65_535) },
    logLevel: level as LogLevel,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  if (onDeprecated) for (const d of reader.deprecations) onDeprecated(d);
  return deepFreeze(config);
}

// Qdrant listens for gRPC one port above REST (6333 -> 6334; the local stack keeps that pair too).
function defaultGrpcUrl(restUrl: string): string {
  if (!isHttpUrl(restUrl)) return restUrl;
  const url = new URL(restUrl);
  url.port = url.port ? String(Number(url.port) + 1) : '6334';
  url.pathname = '';
  return url.toString();
}

/** The Kafka connection through core's parser, with the consumer's defaults; a bad variable becomes a problem. */
function kafkaFromEnv(reader: EnvReader, report: (name: string, value: unknown, expected: string) => void): ConsumerConfig['kafka'] {
  const defaults = { brokers: [CONFIG_DEFAULTS.WITNESS_KAFKA_BROKERS], clientId: CONFIG_DEFAULTS.WITNESS_KAFKA_CLIENT_ID, ssl: false as const };
  try {
    const k = kafkaConnectionFromEnv(reader);
    const tls = { ...(k.ca === undefined ? {} : { ca: k.ca }), ...(k.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: k.rejectUnauthorized }) };
    return {
      brokers: k.brokers ?? defaults.brokers,
      clientId: k.clientId ?? defaults.clientId,
      ssl: k.ssl === true ? tls : false,
      ...(k.sasl ? { sasl: k.sasl } : {}),
    };
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    report(err.option, err.value, err.expected);
    return defaults;
  }
}

/** What the witness CLI reads from the environment: Qdrant and the live collection and group (queries need no Kafka). */
export interface CliSettings {
  qdrantUrl: string;
  apiKey: string | undefined;
  collection: string;
  groupId: string;
  /** Old variable names read (QDRANT_URL…), for the CLI to warn about once. */
  deprecations: readonly Deprecation[];
}

/**
 * The CLI's variables, with the service's defaults. Checked by the CLI where a
 * flag may override them (--url, --collection); replay reads the rest through loadConfig.
 * Without WITNESS_QDRANT_URL, QDRANT_PORT (how local/services.ts picks the local
 * stack's Qdrant port) points it at that stack: http://127.0.0.1:$QDRANT_PORT.
 * Throws InvalidOptionError for a QDRANT_PORT that is not a port.
 */
export function loadCliSettings(env: ConfigEnv = process.env): CliSettings {
  const reader = envReader(env, LEGACY_VARIABLES);
  const value = (name: ConfigVariable) => reader.get(name)?.value ?? CONFIG_DEFAULTS[name];
  const localPort = reader.get('QDRANT_PORT');
  const localUrl = localPort === undefined ? undefined : `http://127.0.0.1:${parseInteger(localPort, 1, 65_535)}`;
  return {
    qdrantUrl: reader.get('WITNESS_QDRANT_URL')?.value ?? localUrl ?? CONFIG_DEFAULTS.WITNESS_QDRANT_URL,
    apiKey: reader.get('WITNESS_QDRANT_API_KEY')?.value,
    collection: value('WITNESS_COLLECTION'),
    groupId: value('WITNESS_GROUP_ID'),
    deprecations: reader.deprecations,
  };
}

/** The configuration as it may be logged: secrets replaced. */
export function redactConfig(config: ConsumerConfig): unknown {
  return {
    ...config,
    kafka: {
      ...config.kafka,
      ssl: config.kafka.ssl === false ? false : { ...config.kafka.ssl, ca: config.kafka.ssl.ca === undefined ? undefined : '<pem>' },
      sasl: config.kafka.sasl ? { ...config.kafka.sasl, password: '<redacted>' } : undefined,
    },
    qdrant: { ...config.qdrant, apiKey: config.qdrant.apiKey === undefined ? undefined : '<redacted>' },
  };
}

/** An http(s) URL with a host: what WITNESS_QDRANT_URL and the CLI's --url must be. */
export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}
