// The producer's only door to Kafka. The send loop (sender.ts) speaks the small
// interface below, so the client library (kafkajs, which is no longer released)
// can be swapped by editing this file alone. What is kafkajs-specific lives here:
// the client's construction and its retry settings, the codecs, the partitioner,
// its log lines routed into the SDK's logger, what its errors mean to the send
// loop (classifySendError) and what of them is logged (errorSummary), its
// disconnect bounded in time, and the faster CRC-32C put where kafkajs looks for
// its own (option fastCrc32c). Unit tests hand the send loop a fake KafkaClient
// (test/support/fake-kafka-producer.ts) instead of createKafka's.
import Module, { createRequire } from 'node:module';
import { clientLogSink } from '@witnesslog/core';
import kafkajs from 'kafkajs';
import { crc32c } from './crc32c.js';
import type { Log } from './log.js';
import type { ProducerCompression, ResolvedOptions } from './options.js';

const { Kafka, CompressionTypes, Partitioners, logLevel } = kafkajs;

// GZIP or nothing: the codecs for snappy, lz4 and zstd are not part of kafkajs.
// Why the default is what it is: see COMPRESSION_DEFAULT in options.ts.
const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP } as const;

// kafkajs's own retries stay short so a produce request fails within about a second
// when the broker is gone; the send loop then backs off on its own schedule (capped,
// jittered) and keeps the batch. kafkajs warns that limiting retries "may invalidate
// EoS guarantees": it does not here, because the loop resends the identical batch.
const KAFKAJS_RETRY = { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 };

/** A record as the send loop holds it; passed to the client as-is (no copy per entry). */
export interface OutgoingMessage {
  readonly key: string;
  readonly value: Buffer;
}

/** One idempotent producer (acks=all, one request in flight, murmur2 on the key). */
export interface BatchProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Resolves once every in-sync replica has the batch. */
  send(topic: string, messages: readonly OutgoingMessage[], compression: ProducerCompression, timeoutMs: number): Promise<void>;
}

export interface KafkaClient {
  /** A new producer: a new idempotent producer id once connected. */
  producer(): BatchProducer;
}

export function createKafka(options: ResolvedOptions, log: Log): KafkaClient {
  const kafka = new Kafka({
    brokers: [...options.brokers],
    clientId: options.clientId,
    ssl: options.ssl,
    // Our ProducerSaslOptions has the shapes kafkajs takes (password mechanisms, aws,
    // oauthbearer); only this file knows they are kafkajs's.
    sasl: options.sasl as kafkajs.SASLOptions | undefined,
    requestTimeout: options.requestTimeoutMs,
    enforceRequestTimeout: true,
    retry: KAFKAJS_RETRY,
    // kafkajs's own messages are detail (the loop logs the decisions); they go to
    // debug, and are not even formatted when no logger was given.
    logLevel: options.logger === undefined ? logLevel.NOTHING : logLevel.WARN,
    logCreator: () => clientLogSink(log, { level: 'debug' }),
  });
  return {
    producer() {
      const client = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        retry: KAFKAJS_RETRY,
        // Explicit, which also silences kafkajs's v2 partitioner notice: murmur2 on the
        // key, as the Java client does, so session_id picks the same partition everywhere.
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      client.on(client.events.REQUEST_TIMEOUT, ({ payload }) =>
        log.debug({ broker: payload.broker, apiName: payload.apiName }, 'kafka request timed out'),
      );
      return {
        connect: () => client.connect(),
        disconnect: () => client.disconnect(),
        async send(topic, messages, compression, timeoutMs) {
          await client.sendBatch({
            acks: -1,
            timeout: timeoutMs,
            compression: CODECS[compression],
            topicMessages: [{ topic, messages: messages as OutgoingMessage[] }],
          });
        },
      };
    },
  };
}

// kafkajs 2.2.4 (pinned, and no longer released) computes the CRC-32C of every
// record batch one byte at a time and has no option for another function, so
// installKafkajsCrc32c() puts crc32c() in Node's module cache under the path of
// kafkajs's own module, which kafkajs loads lazily with its first produce request.
// Were it wrong, the broker would refuse every batch with CORRUPT_MESSAGE (it
// checks the CRC), so every test that produces would fail. If some other kafkajs
// producer in the process has already sent (so the module is loaded), nothing
// changes: kafkajs keeps its own, slower, function. Only a producer created with
// fastCrc32c: true calls it, and that is process-wide (every kafkajs client in the
// process, the host's own included, then uses it).
const KAFKAJS_CRC32C = 'kafkajs/src/protocol/recordBatch/crc32C/crc32C.js';

/**
 * Makes kafkajs use crc32c(); true if it will (kafkajs had not loaded its own yet,
 * or already uses ours), false if it keeps its own (already loaded, or kafkajs
 * cannot be found on disk, as in a bundle).
 */
export function installKafkajsCrc32c(): boolean {
  let path: string;
  let require: NodeJS.Require;
  try {
    require = createRequire(import.meta.url);
    path = require.resolve(KAFKAJS_CRC32C);
  } catch {
    return false;
  }
  const cached = require.cache[path];
  if (cached) return cached.exports === crc32c;
  const module = new Module(path);
  module.filename = path;
  module.loaded = true;
  module.exports = crc32c;
  require.cache[path] = module;
  return true;
}

/** The function kafkajs computes batch checksums with (loads kafkajs's own if none is yet). */
export function kafkajsCrc32c(): (buf: Uint8Array) => number {
  return createRequire(import.meta.url)(KAFKAJS_CRC32C) as (buf: Uint8Array) => number;
}

// What the send loop does with a failed produce request. The default is to keep the
// batch and retry it: while the broker is down or slow the entries are pending, not
// lost. Only errors that the same request can never get past drop the batch, and
// they are counted as send_failed with their Kafka error type.

export type SendAction =
  /** Connection lost, timeout, leader moving…: keep the batch at the head, back off, resend. */
  | 'retry'
  /** The broker forgot or fenced our producer id: start a new idempotent producer, resend. */
  | 'reset'
  /** Too large for the broker: resend as two halves; a single entry this large fails. */
  | 'split'
  /** Not authorised, invalid topic, a bug: retrying cannot help, drop and count. */
  | 'fail';

export interface SendFailure {
  action: SendAction;
  /** Bounded label: the Kafka error type (MESSAGE_TOO_LARGE) or the client error's name. */
  label: string;
}

const SPLIT = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const RESET = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'INVALID_PRODUCER_EPOCH', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_ID_MAPPING']);
const FAIL = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'UNSUPPORTED_VERSION',
  'POLICY_VIOLATION',
]);

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  type?: unknown;
  cause?: unknown;
}

/**
 * The error and the causes it wraps, outermost first: kafkajs wraps the broker's
 * answer (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError) with the
 * original in `cause`. Objects only; at most 8 deep, and a cycle ends it. The one
 * place the producer unwraps an error (classifySendError and errorSummary read it).
 */
function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let e: unknown = error;
  while (chain.length < 8 && typeof e === 'object' && e !== null && !chain.includes(e)) {
    chain.push(e);
    e = (e as ErrorLike).cause;
  }
  return chain;
}

export function classifySendError(error: unknown): SendFailure {
  // The innermost error decides; the first protocol type on the way is the broker's.
  const chain = errorChain(error);
  const innermost = chain.at(-1);
  const names = chain.flatMap((err) => (typeof err.name === 'string' ? [err.name] : []));
  const protocolType = chain.find((err) => typeof err.type === 'string')?.type as string | undefined;
  if (protocolType !== undefined) {
    if (SPLIT.has(protocolType)) return { action: 'split', label: protocolType };
    if (RESET.has(protocolType)) return { action: 'reset', label: protocolType };
    if (FAIL.has(protocolType)) return { action: 'fail', label: protocolType };
    return { action: 'retry', label: protocolType };
  }
  if (names.includes('KafkaJSSASLAuthenticationError')) return { action: 'fail', label: 'SASL_AUTHENTICATION_FAILED' };
  const name = typeof innermost?.name === 'string' ? innermost.name : 'Error';
  // kafkajs wraps every network and broker failure in its own classes; anything else
  // is a programming error that would fail the same way forever and block the queue.
  if (!names.some((n) => n.startsWith('KafkaJS'))) return { action: 'fail', label: name };
  return { action: 'retry', label: name };
}

/** What is worth logging of a kafkajs error: no request payloads, nothing from the options. */
export function errorSummary(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const [e, c] = errorChain(err) as [ErrorLike, ErrorLike | undefined];
  const out: Record<string, unknown> = { name: e.name, message: e.message };
  if (e.type !== undefined) out.type = e.type;
  if (c !== undefined) out.cause = { name: c.name, message: c.message, type: c.type };
  return out;
}

const DISCONNECT_TIMEOUT_MS = 5_000;

/** kafkajs disconnect can wait forever on a request that never times out (kafkajs#1167). */
export async function disconnectProducer(client: BatchProducer, log: Log): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), DISCONNECT_TIMEOUT_MS);
    timer.unref();
  });
  const done = client.disconnect().then(
    () => 'ok' as const,
    (err: unknown) => {
      log.debug({ err: errorSummary(err) }, 'kafka producer disconnect failed');
      return 'failed' as const;
    },
  );
  const outcome = await Promise.race([done, gaveUp]);
  clearTimeout(timer);
  if (outcome === 'timeout') log.warn({ timeoutMs: DISCONNECT_TIMEOUT_MS }, 'kafka producer did not disconnect in time; leaving it');
}
