// The producer's options: their defaults, and the one validation pass at creation.
// createWitnessProducer is the only place the SDK throws: a bad value is a deployment bug, and failing at boot with its name beats dropping entries at 3 a.m.
import type { ConnectionOptions } from 'node:tls';
import type { Registry } from 'prom-client';
import { type WitnessEntry, type WitnessEntryInput } from '@witnesslog/schemas';
import { BROKER_LIST_RULE, TOPIC_NAME_RULE, deprecationMessage, isBrokerAddress, isTopicName, type ProducerSaslOptions } from '@witnesslog/core';
import { InvalidOptionError } from './errors.js';
import { readEnv, type WitnessEnv } from './env.js';
import { createLog } from './log.js';
import { resolveService } from './identity.js';
/** pino-compatible; the SDK logs through it only, and is silent without one. */
export interface ProducerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Compression of the Kafka record batches: only what kafkajs supports without extra codecs. */
export type ProducerCompression = 'none' | 'gzip';

/**
 * The redact hook: given a private copy of the entry (with defaults applied), returns
 * the entry to send. It may change the copy in place and return it, or return a new
 * one. Run after sampling, before validation and encoding, on the caller's path.
 */
export type RedactHook = (entry: WitnessEntry) => WitnessEntryInput;

export interface WitnessProducerOptions {
  /** Seed brokers, `host:port` (IPv6 in brackets). Required, here or in WITNESS_KAFKA_BROKERS (comma-separated). */
  brokers?: readonly string[];
  /** Default `witness.entries` (or WITNESS_TOPIC). */
  topic?: string;
  /** Default `witnesslog-producer`. */
  clientId?: string;
  /** TLS to the brokers: true, or Node's TLS options (`ca`, `cert`, `key`…); handed to the Kafka client as they are. */
  ssl?: boolean | ConnectionOptions;
  /** SASL credentials (plain, scram-sha-256, scram-sha-512); the password is never logged. */
  sasl?: ProducerSaslOptions;
  /** Length of query_embedding and response_embedding; default 768. */
  embeddingDim?: number;
  /** Entries held (queued or in flight) before record() drops with reason queue_full; default 10,000. */
  maxQueueDepth?: number;
  /** Bytes of encoded entries held before dropping; default 64 MiB (~10,000 entries of 6 KB). */
  maxQueueBytes?: number;
  /** How long the send loop waits for more entries before sending a batch; default 5 ms. */
  lingerMs?: number;
  checkpointIntervalMs?: number; // ms between checkpoints (issue 26, checkpoint.ts); default 10 s, or WITNESS_CHECKPOINT_INTERVAL_MS
  /** Entries per produce request; default 500. */
  maxBatchEntries?: number;
  /**
   * Encoded bytes per produce request; default 960 KiB, under the broker's default
   * message.max.bytes (1 MiB) even if all entries land on one partition. An entry larger
   * than this is refused as invalid.
   */
  maxBatchBytes?: number;
  /** Default `none`: see COMPRESSION_DEFAULT for the measurement. */
  compression?: ProducerCompression;
  /** How long recordCritical() waits for the broker's acknowledgement; default 10 s. */
  criticalTimeoutMs?: number;
  /** How long flush() and close() wait for pending entries; default 30 s. */
  flushTimeoutMs?: number;
  /** How long one produce request may take before it is retried; default 10 s. */
  requestTimeoutMs?: number;
  /** First delay before reconnecting / resending after a failure; default 100 ms. */
  retryInitialMs?: number;
  /** Cap of that delay as it doubles; default 5 s. */
  retryMaxMs?: number;
  /** Where the metrics go; without one the SDK registers nothing (stats() still counts). */
  registry?: Registry;
  logger?: ProducerLogger;
  /**
   * Share of record() entries kept, 0..1; default 1 (or WITNESS_SAMPLE_RATE). Entries with
   * an error are always kept, and recordCritical() is never sampled. Entries sampled out
   * are counted as dropped with reason `sampled_out`.
   */
  sampleRate?: number;
  /** Strips what must not leave the node (PII in tags, stack traces, session ids); see RedactHook. A hook that throws drops the entry (`redact_failed`). */
  redact?: RedactHook;
  /**
   * Give kafkajs the SDK's CRC-32C (about 3x faster, BENCHMARKS.md). Default false.
   * PROCESS-WIDE: kafkajs has one module for it, so every kafkajs client in the process
   * uses it from then on, the host's own included. It only takes effect if no kafkajs
   * client has produced yet; stats().fast_crc32c and one log line say whether it did.
   */
  fastCrc32c?: boolean;
  /**
   * The service this process is, written into every entry as producer.service (schema
   * v2; OpenTelemetry's service.name). Default WITNESS_SERVICE, else the process's name
   * (the script's file name, or the executable's). 1..256 characters.
   */
  service?: string;
  /**
   * Where WITNESS_* variables are read from, at creation; default process.env. Pass {} to
   * ignore the environment. Explicit options always win over variables. An old variable
   * name (WITNESS_BROKERS…) still works, with one warning through `logger`.
   */
  env?: WitnessEnv;
}

/** Options after defaults and validation; frozen. */
export interface ResolvedOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId: string;
  readonly ssl: boolean | ConnectionOptions | undefined;
  readonly sasl: ProducerSaslOptions | undefined;
  readonly embeddingDim: number;
  readonly maxQueueDepth: number;
  readonly maxQueueBytes: number;
  readonly lingerMs: number;
  readonly checkpointIntervalMs: number;
  readonly maxBatchEntries: number;
  readonly maxBatchBytes: number;
  readonly compression: ProducerCompression;
  readonly criticalTimeoutMs: number;
  readonly flushTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly registry: Registry | undefined;
  readonly logger: ProducerLogger | undefined;
  readonly sampleRate: number;
  readonly redact: RedactHook | undefined;
  readonly fastCrc32c: boolean;
  readonly service: string;
}

// Measured by bench/producer.bench.ts (figures in the report of that change): see
// the comment in sender.ts where the codec is applied.
export const COMPRESSION_DEFAULT: ProducerCompression = 'none';

export const producerDefaults = Object.freeze({
  topic: 'witness.entries',
  clientId: 'witnesslog-producer',
  embeddingDim: 768,
  maxQueueDepth: 10_000,
  maxQueueBytes: 64 * 1024 * 1024,
  lingerMs: 5,
  checkpointIntervalMs: 10_000,
  maxBatchEntries: 500,
  maxBatchBytes: 960 * 1024,
  compression: COMPRESSION_DEFAULT,
  criticalTimeoutMs: 10_000,
  flushTimeoutMs: 30_000,
  requestTimeoutMs: 10_000,
  retryInitialMs: 100,
  retryMaxMs: 5_000,
  sampleRate: 1,
  fastCrc32c: false,
});

const known = new Set<string>([
  'brokers',
  'topic',
  'clientId',
  'ssl',
  'sasl',
  'registry',
  'logger',
  'redact',
  'env',
  'service',
  ...Object.keys(producerDefaults),
]);

const LOG_METHODS = ['debug', 'info', 'warn', 'error'] as const;

export function resolveOptions(given: WitnessProducerOptions): ResolvedOptions {
  if (typeof given !== 'object' || given === null) {
    throw new InvalidOptionError('options', given, 'an object with at least `brokers`');
  }
  for (const key of Object.keys(given)) {
    // A misspelt option (maxQueueSize) would otherwise be ignored in silence.
    // Only the type is echoed: an unknown key may well hold a secret.
    const value: unknown = (given as unknown as Record<string, unknown>)[key];
    if (!known.has(key)) throw new InvalidOptionError(key, `(a ${typeof value})`, `a known option: ${[...known].join(', ')}`);
  }
  // The environment fills in what the options leave out; an explicit option wins.
  const { options: fromEnv, deprecations } = readEnv(given.env === undefined ? process.env : given.env);
  const options: WitnessProducerOptions = { ...fromEnv };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) (options as Record<string, unknown>)[key] = value;

  const { brokers } = options;
  if (!Array.isArray(brokers) || brokers.length === 0) {
    throw new InvalidOptionError('brokers', brokers, 'a non-empty array of "host:port" strings (or WITNESS_KAFKA_BROKERS)');
  }
  // The same rule as WITNESS_KAFKA_BROKERS (core's isBrokerAddress): [::1]:9092 is a broker.
  brokers.forEach((b: unknown, i) => {
    if (!isBrokerAddress(b)) throw new InvalidOptionError(`brokers[${i}]`, b, `a "host:port" string (${BROKER_LIST_RULE})`);
  });

  const topic = options.topic ?? producerDefaults.topic;
  if (!isTopicName(topic)) throw new InvalidOptionError('topic', topic, TOPIC_NAME_RULE);
  const clientId = options.clientId ?? producerDefaults.clientId;
  if (typeof clientId !== 'string' || clientId === '') throw new InvalidOptionError('clientId', clientId, 'a non-empty string');

  const { ssl, sasl } = options;
  if (ssl !== undefined && typeof ssl !== 'boolean' && (typeof ssl !== 'object' || ssl === null)) {
    throw new InvalidOptionError('ssl', ssl, 'a boolean or tls.ConnectionOptions');
  }
  if (sasl !== undefined) {
    // The value itself is never echoed: it holds the password.
    const mechanism = typeof sasl === 'object' && sasl !== null ? (sasl as { mechanism?: unknown }).mechanism : undefined;
    if (typeof mechanism !== 'string' || mechanism === '') {
      throw new InvalidOptionError('sasl', '[redacted]', 'an object with a `mechanism` (plain, scram-sha-256, scram-sha-512, aws, oauthbearer)');
    }
  }

  const maxBatchBytes = integer(options, 'maxBatchBytes', 1024, 64 * 1024 * 1024);
  const resolved: ResolvedOptions = {
    brokers: Object.freeze([...brokers]),
    topic,
    clientId,
    ssl,
    sasl,
    embeddingDim: integer(options, 'embeddingDim', 1, 65_536),
    maxQueueDepth: integer(options, 'maxQueueDepth', 1, 10_000_000),
    maxQueueBytes: integer(options, 'maxQueueBytes', maxBatchBytes, Number.MAX_SAFE_INTEGER, 'at least maxBatchBytes'),
    lingerMs: integer(options, 'lingerMs', 0, 60_000),
    checkpointIntervalMs: integer(options, 'checkpointIntervalMs', 10, 3_600_000),
    maxBatchEntries: integer(options, 'maxBatchEntries', 1, 100_000),
    maxBatchBytes,
    compression: compression(options.compression),
    criticalTimeoutMs: integer(options, 'criticalTimeoutMs', 1, 3_600_000),
    flushTimeoutMs: integer(options, 'flushTimeoutMs', 1, 3_600_000),
    requestTimeoutMs: integer(options, 'requestTimeoutMs', 100, 600_000),
    retryInitialMs: integer(options, 'retryInitialMs', 1, 600_000),
    retryMaxMs: integer(options, 'retryMaxMs', 1, 3_600_000),
    registry: registry(options.registry),
    logger: logger(options.logger),
    sampleRate: sampleRate(options.sampleRate),
    redact: redact(options.redact),
    fastCrc32c: flag(options.fastCrc32c, 'fastCrc32c', producerDefaults.fastCrc32c),
    service: resolveService(options.service),
  };
  if (resolved.retryMaxMs < resolved.retryInitialMs) {
    throw new InvalidOptionError('retryMaxMs', resolved.retryMaxMs, `at least retryInitialMs (${resolved.retryInitialMs})`);
  }
  // Once per producer, at creation: the host sees which variables to rename.
  const log = createLog(resolved.logger, { component: 'witness-producer' });
  for (const d of deprecations) log.warn({ variable: d.old, replacement: d.replacement, ignored: d.ignored }, deprecationMessage(d));
  return Object.freeze(resolved);
}

type IntegerOption = Exclude<keyof typeof producerDefaults & keyof WitnessProducerOptions, 'sampleRate' | 'fastCrc32c' | 'compression' | 'topic' | 'clientId'>;

function integer(options: WitnessProducerOptions, name: IntegerOption, min: number, max: number, expected?: string): number {
  const value: unknown = options[name] ?? producerDefaults[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, value, expected ?? `an integer from ${min} to ${max}`);
  }
  return value;
}

function compression(value: unknown): ProducerCompression {
  const v = value ?? producerDefaults.compression;
  if (v !== 'none' && v !== 'gzip') {
    // snappy, lz4 and zstd need codecs kafkajs does not ship.
    throw new InvalidOptionError('compression', v, '"none" or "gzip"');
  }
  return v;
}

function registry(value: unknown): Registry | undefined {
  if (value === undefined) return undefined;
  const r = value as Partial<Registry> | null;
  if (typeof r !== 'object' || r === null || typeof r.registerMetric !== 'function' || typeof r.getSingleMetric !== 'function') {
    throw new InvalidOptionError('registry', value, 'a prom-client Registry');
  }
  return value as Registry;
}

function logger(value: unknown): ProducerLogger | undefined {
  if (value === undefined) return undefined;
  const l = value as Record<string, unknown> | null;
  if (typeof l !== 'object' || l === null) throw new InvalidOptionError('logger', value, 'an object with debug, info, warn and error methods');
  for (const m of LOG_METHODS) {
    if (typeof l[m] !== 'function') throw new InvalidOptionError(`logger.${m}`, l[m], 'a function');
  }
  return value as ProducerLogger;
}

function sampleRate(value: unknown): number {
  const v = value ?? producerDefaults.sampleRate;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new InvalidOptionError('sampleRate', v, 'a number from 0 to 1');
  return v;
}

function redact(value: unknown): RedactHook | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidOptionError('redact', value, 'a function (entry) => entry');
  return value as RedactHook | undefined;
}

function flag(value: unknown, name: string, fallback: boolean): boolean {
  const v = value ?? fallback;
  if (typeof v !== 'boolean') throw new InvalidOptionError(name, v, 'true or false');
  return v;
}
