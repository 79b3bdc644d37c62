// The consumer's configuration: read from environment variables once, at start,
// validated against one table, then frozen. Every problem is reported at once,
// each naming the variable, the value it had and what was expected, so a bad
// deployment fails in its first second with a message an operator can act on.
import { readFileSync } from 'node:fs';
import { TOPIC_NAME_PATTERN, deepFreeze, saslMechanisms as SASL_MECHANISMS, type SaslMechanism, type SaslOptions } from '@witnesslog/core';
import { ConfigError } from './errors.js';
import { parseCollectionOptions, type CollectionOptions } from './store/collection-options.js';

// The SASL types are the core's, shared with the producer's `sasl` option.
export type { SaslMechanism, SaslOptions };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** TLS to the brokers: `ca` (PEM) when KAFKA_SSL_CA_FILE is set, the system's CAs otherwise. */
export interface SslOptions {
  readonly ca?: string;
}

export interface ConsumerConfig {
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    /** false, or TLS options (`ca` when KAFKA_SSL_CA_FILE is set). */
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
  KAFKA_BROKERS: '127.0.0.1:9092',
  KAFKA_CLIENT_ID: 'witness-consumer',
  KAFKA_SSL: 'false',
  KAFKA_SSL_CA_FILE: '',
  KAFKA_SASL_MECHANISM: '',
  KAFKA_SASL_USERNAME: '',
  KAFKA_SASL_PASSWORD: '',
  WITNESS_TOPIC: 'witness.entries',
  WITNESS_GROUP_ID: 'witness-consumer',
  WITNESS_DLQ_TOPIC: 'witness.entries.dlq',
  WITNESS_SESSION_TIMEOUT_MS: '30000',
  QDRANT_URL: 'http://127.0.0.1:6333',
  QDRANT_API_KEY: '',
  QDRANT_TIMEOUT_MS: '30000',
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

const SECRET_VARIABLES: ReadonlySet<string> = new Set(['KAFKA_SASL_PASSWORD', 'QDRANT_API_KEY']);
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
// Kafka's own rule for topic names.
const TOPIC_NAME = TOPIC_NAME_PATTERN;

/**
 * Reads and validates the configuration from `env` (process.env by default).
 * Empty strings count as unset. Throws a ConfigError listing every bad variable.
 */
export function loadConfig(env: ConfigEnv = process.env): ConsumerConfig {
  const problems: string[] = [];
  const raw = (name: ConfigVariable): string => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? CONFIG_DEFAULTS[name] : value.trim();
  };
  const bad = (name: ConfigVariable, expected: string) => {
    const shown = SECRET_VARIABLES.has(name) ? '<redacted>' : JSON.stringify(env[name] ?? '');
    problems.push(`${name}=${shown}: expected ${expected}`);
  };
  const int = (name: ConfigVariable, min: number, max: number): number => {
    const text = raw(name);
    const n = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
      bad(name, `an integer from ${min} to ${max}`);
      return Number(CONFIG_DEFAULTS[name]);
    }
    return n;
  };
  const bool = (name: ConfigVariable): boolean => {
    const text = raw(name).toLowerCase();
    if (['true', '1', 'yes'].includes(text)) return true;
    if (['false', '0', 'no'].includes(text)) return false;
    bad(name, 'true or false');
    return false;
  };
  const topic = (name: ConfigVariable): string => {
    const text = raw(name);
    if (!TOPIC_NAME.test(text) || text === '.' || text === '..') bad(name, 'a Kafka topic name (letters, digits, ".", "_", "-"; at most 249)');
    return text;
  };

  const brokers = raw('KAFKA_BROKERS')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (brokers.length === 0 || !brokers.every(isHostPort)) bad('KAFKA_BROKERS', 'a comma-separated list of host:port (e.g. 10.0.0.1:9092,10.0.0.2:9092)');

  const sslEnabled = bool('KAFKA_SSL');
  const caFile = raw('KAFKA_SSL_CA_FILE');
  let ca: string | undefined;
  if (caFile !== '') {
    if (!sslEnabled) bad('KAFKA_SSL_CA_FILE', 'to be set only together with KAFKA_SSL=true');
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (err) {
      bad('KAFKA_SSL_CA_FILE', `a readable PEM file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }

  let sasl: ConsumerConfig['kafka']['sasl'];
  const mechanism = raw('KAFKA_SASL_MECHANISM').toLowerCase();
  if (mechanism !== '') {
    if (!SASL_MECHANISMS.includes(mechanism as SaslMechanism)) bad('KAFKA_SASL_MECHANISM', `one of ${SASL_MECHANISMS.join(', ')}`);
    const username = raw('KAFKA_SASL_USERNAME');
    const password = raw('KAFKA_SASL_PASSWORD');
    if (username === '') bad('KAFKA_SASL_USERNAME', 'a user name when KAFKA_SASL_MECHANISM is set');
    if (password === '') bad('KAFKA_SASL_PASSWORD', 'a password when KAFKA_SASL_MECHANISM is set');
    sasl = { mechanism: mechanism as SaslMechanism, username, password };
  } else if (raw('KAFKA_SASL_USERNAME') !== '' || raw('KAFKA_SASL_PASSWORD') !== '') {
    bad('KAFKA_SASL_MECHANISM', `one of ${SASL_MECHANISMS.join(', ')} when KAFKA_SASL_USERNAME/PASSWORD are set`);
  }

  const witnessTopic = topic('WITNESS_TOPIC');
  const dlqTopic = topic('WITNESS_DLQ_TOPIC');
  if (dlqTopic === witnessTopic) bad('WITNESS_DLQ_TOPIC', 'a topic other than WITNESS_TOPIC (dead letters would be consumed again)');
  const groupId = raw('WITNESS_GROUP_ID');

  const qdrantUrl = raw('QDRANT_URL');
  if (!isHttpUrl(qdrantUrl)) bad('QDRANT_URL', 'an http:// or https:// URL (e.g. http://qdrant:6333)');
  const apiKey = raw('QDRANT_API_KEY');
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
    kafka: {
      brokers,
      clientId: raw('KAFKA_CLIENT_ID'),
      ssl: sslEnabled ? (ca === undefined ? {} : { ca }) : false,
      ...(sasl ? { sasl } : {}),
    },
    topic: witnessTopic,
    groupId,
    dlqTopic,
    // The broker's default bounds (group.min/max.session.timeout.ms).
    sessionTimeoutMs: int('WITNESS_SESSION_TIMEOUT_MS', 6_000, 1_800_000),
    qdrant: {
      url: qdrantUrl.replace(/\/+$/, ''),
      ...(apiKey !== '' ? { apiKey } : {}),
      collection,
      timeoutMs: int('QDRANT_TIMEOUT_MS', 100, 600_000),
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
  return deepFreeze(config);
}

/** What the witness CLI reads from the environment: Qdrant and the live collection and group (queries need no Kafka). */
export interface CliSettings {
  qdrantUrl: string;
  apiKey: string | undefined;
  collection: string;
  groupId: string;
}

/**
 * The CLI's variables, with the service's defaults. Checked by the CLI where a
 * flag may override them (--url, --collection); replay reads the rest through loadConfig.
 */
export function loadCliSettings(env: ConfigEnv = process.env): CliSettings {
  const value = (name: keyof typeof CONFIG_DEFAULTS) => env[name]?.trim() || CONFIG_DEFAULTS[name];
  return {
    qdrantUrl: value('QDRANT_URL'),
    apiKey: env.QDRANT_API_KEY?.trim() || undefined,
    collection: value('WITNESS_COLLECTION'),
    groupId: value('WITNESS_GROUP_ID'),
  };
}

/** The configuration as it may be logged: secrets replaced. */
export function redactConfig(config: ConsumerConfig): unknown {
  return {
    ...config,
    kafka: {
      ...config.kafka,
      ssl: config.kafka.ssl === false ? false : { ca: config.kafka.ssl.ca === undefined ? undefined : '<pem>' },
      sasl: config.kafka.sasl ? { ...config.kafka.sasl, password: '<redacted>' } : undefined,
    },
    qdrant: { ...config.qdrant, apiKey: config.qdrant.apiKey === undefined ? undefined : '<redacted>' },
  };
}

function isHostPort(text: string): boolean {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  if (!match) return false;
  const port = Number(match[2]);
  return port >= 1 && port <= 65_535;
}

/** An http(s) URL with a host: what QDRANT_URL and the CLI's --url must be. */
export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}
