// The dead-letter topic: where a message goes when it can never become a point
// (undecodable, unknown schema, invalid entry, refused by Qdrant, a conflicting
// request_id). It keeps the original key, bytes and headers, and says why and
// where it came from in headers, so it can be inspected, fixed and replayed. A
// dead letter counts as handled only once the broker acknowledged it with
// acks=all; until then the source offset does not move past it.
//
// Issue 13 finding 2: a letter the DLQ topic cannot take whole (the source topic
// accepts a 1 MB message; our headers make it larger than the DLQ's limit) used
// to be retried forever in one request, silently. Now:
// - a letter larger than the budget is written reduced: our headers and reason,
//   the original value replaced by a reference (its size, and the source
//   topic/partition/offset already in the headers), then the original headers,
//   then the key, dropped in that order until it fits;
// - a flush's letters go in requests of at most `maxRequestBytes` each;
// - a broker that still answers MESSAGE_TOO_LARGE (a DLQ topic configured below
//   the default) halves the budget, down to a floor, and the letters are reduced
//   again;
// - after `stallAfterAttempts` failed attempts the writer reports itself stalled
//   (readiness answers 503, a gauge carries the reason, a log line says it) and
//   keeps retrying: a letter is never skipped. The next acknowledged write clears it.
import type { Logger } from 'pino';
import { DeadLetterError } from '../errors.js';
import type { OutgoingRecord, RecordHeaders, RecordProducer } from './kafka.js';
import type { ConsumerMetrics } from './metrics.js';
import { errorChain, type Retry } from '@witnesslog/core';

/** Header names on every dead letter. */
export const DLQ_HEADERS = Object.freeze({
  reason: 'witness-dlq-reason',
  error: 'witness-dlq-error',
  sourceTopic: 'witness-source-topic',
  sourcePartition: 'witness-source-partition',
  sourceOffset: 'witness-source-offset',
  consumerGroup: 'witness-dlq-group',
  timestamp: 'witness-dlq-timestamp',
  /** Set when the value was left out to fit the DLQ topic: the original size in bytes. */
  valueOmitted: 'witness-dlq-value-omitted-bytes',
  /** Set when the original headers were left out: their total size in bytes. */
  headersOmitted: 'witness-dlq-headers-omitted-bytes',
  /** Set when the key was left out: its size in bytes. */
  keyOmitted: 'witness-dlq-key-omitted-bytes',
});

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders | undefined;
  /** A stable error code, e.g. WITNESS_BAD_MARKER; also the metric label. */
  reason: string;
  error: string;
}

export interface DeadLetterWriter {
  /** Resolves once every letter is acknowledged; retries until then unless `signal` aborts. */
  send(letters: readonly DeadLetter[], signal?: AbortSignal): Promise<void>;
  /** Why writes have been failing past the bound (the error's type), or undefined while they succeed. */
  readonly stalled: string | undefined;
}

// The broker's default message.max.bytes (and a topic's max.message.bytes) is
// 1 MiB + 12 bytes, and it applies to a whole record batch: all letters of one
// request for one partition. We assume the default rather than ask the broker
// (describeConfigs needs DescribeConfigs rights a consumer may not have), keep
// 64 KiB of headroom for record and batch framing, and learn a smaller limit
// from MESSAGE_TOO_LARGE.
export const DEFAULT_DLQ_MAX_REQUEST_BYTES = 1024 * 1024 - 64 * 1024;
// Below this the budget stops shrinking: our own headers always fit in it.
const MIN_REQUEST_BYTES = 16 * 1024;
// Retries before the writer says it is stalled: about 10 s with the default backoff.
export const DEFAULT_DLQ_STALL_AFTER_ATTEMPTS = 8;
// Per record: varints, attributes, timestamp and offset deltas, header counts.
const RECORD_OVERHEAD_BYTES = 64;
// An error message is for a person reading the letter; a stack of 32 KiB is not.
const MAX_ERROR_CHARS = 2000;

function headerBytes(headers: RecordHeaders | undefined): number {
  let n = 0;
  for (const [name, value] of Object.entries(headers ?? {})) {
    n += Buffer.byteLength(name);
    for (const v of Array.isArray(value) ? value : [value]) n += v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  }
  return n;
}

export function recordBytes(r: OutgoingRecord): number {
  return RECORD_OVERHEAD_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0) + headerBytes(r.headers);
}

/** The letter as written, reduced to `budget` bytes if it is larger; `reduced` says whether it was. */
export function toRecord(l: DeadLetter, groupId: string, budget: number): { record: OutgoingRecord; reduced: boolean } {
  const ours: Record<string, string> = {
    [DLQ_HEADERS.reason]: l.reason,
    [DLQ_HEADERS.error]: l.error.length > MAX_ERROR_CHARS ? `${l.error.slice(0, MAX_ERROR_CHARS - 1)}…` : l.error,
    [DLQ_HEADERS.sourceTopic]: l.topic,
    [DLQ_HEADERS.sourcePartition]: String(l.partition),
    [DLQ_HEADERS.sourceOffset]: l.offset,
    [DLQ_HEADERS.consumerGroup]: groupId,
    [DLQ_HEADERS.timestamp]: new Date().toISOString(),
  };
  const record: OutgoingRecord = { key: l.key, value: l.value, headers: { ...l.headers, ...ours } };
  if (recordBytes(record) <= budget) return { record, reduced: false };
  const reducedHeaders: RecordHeaders = { ...l.headers, ...ours };
  if (l.value) reducedHeaders[DLQ_HEADERS.valueOmitted] = String(l.value.length);
  let reduced: OutgoingRecord = { key: l.key, value: null, headers: reducedHeaders };
  if (recordBytes(reduced) > budget) {
    reduced = { key: l.key, value: null, headers: { ...ours, [DLQ_HEADERS.headersOmitted]: String(headerBytes(l.headers)), ...pick(reducedHeaders, DLQ_HEADERS.valueOmitted) } };
  }
  if (recordBytes(reduced) > budget && l.key) {
    reduced = { key: null, value: null, headers: { ...reduced.headers, [DLQ_HEADERS.keyOmitted]: String(l.key.length) } };
  }
  return { record: reduced, reduced: true };
}

function pick(headers: RecordHeaders, name: string): Record<string, string> {
  return typeof headers[name] === 'string' ? { [name]: headers[name] as string } : {};
}

/** Consecutive records whose sizes add up to at most `maxBytes` (a record larger than that goes alone). */
export function chunkByBytes(records: readonly OutgoingRecord[], maxBytes: number): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let chunk: OutgoingRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

// kafkajs's protocol errors carry a `type`; its retrier may wrap one (in `cause`,
// `originalError` or an aggregate's `errors`) and keep only the message.
function errorType(err: unknown): string {
  const chain = errorChain(err) as Array<{ type?: unknown; message?: unknown }>;
  const typed = chain.find((e) => typeof e.type === 'string' && /^[A-Z_]{1,64}$/.test(e.type));
  if (typed) return typed.type as string;
  if (chain.some((e) => typeof e.message === 'string' && /larger than the max message size/i.test(e.message))) return 'MESSAGE_TOO_LARGE';
  return 'UNKNOWN';
}

export function createDeadLetterWriter({
  producer,
  topic,
  groupId,
  retry,
  metrics,
  logger,
  maxRequestBytes = DEFAULT_DLQ_MAX_REQUEST_BYTES,
  stallAfterAttempts = DEFAULT_DLQ_STALL_AFTER_ATTEMPTS,
}: {
  producer: RecordProducer;
  topic: string;
  groupId: string;
  retry: Retry;
  metrics: ConsumerMetrics;
  logger: Logger;
  /** Bytes per produce request (and so per letter at most). Default: the broker's default limit minus 64 KiB. */
  maxRequestBytes?: number;
  /** Failed attempts of one request before the writer reports itself stalled (and keeps retrying). */
  stallAfterAttempts?: number;
}): DeadLetterWriter {
  const log = logger.child({ component: 'dead-letter', topic });
  let budget = maxRequestBytes;
  let stalled: string | undefined;

  function stall(err: unknown, attempt: number): void {
    const reason = errorType(err);
    if (stalled !== reason) {
      metrics.deadLetterStalled.reset();
      metrics.deadLetterStalled.set({ reason }, 1);
      log.error(
        { reason, attempt, err: (err as Error).message },
        'dead letters cannot be written; nothing is committed past them and the consumer reports itself unready until a write succeeds',
      );
    }
    stalled = reason;
  }

  function unstall(): void {
    if (stalled === undefined) return;
    log.info({ reason: stalled }, 'dead letters are written again; ready');
    stalled = undefined;
    metrics.deadLetterStalled.reset();
  }

  async function sendChunk(records: OutgoingRecord[], signal: AbortSignal | undefined): Promise<'ok' | 'too_large'> {
    let tooLarge = false;
    await retry(
      async () => {
        try {
          await producer.send(topic, records);
        } catch (err) {
          metrics.deadLetterErrors.inc();
          // The broker's limit is below our budget: re-plan with a smaller one rather than resend the same bytes.
          if (errorType(err) === 'MESSAGE_TOO_LARGE' && budget > MIN_REQUEST_BYTES) {
            tooLarge = true;
            return;
          }
          // Every other failure is retried: a dead letter that is not written must not be skipped.
          throw new DeadLetterError(`could not write ${records.length} dead letter(s) to ${topic}: ${(err as Error).message}`, err);
        }
      },
      {
        signal,
        onRetry: (err, attempt, delayMs) => {
          if (attempt >= stallAfterAttempts) stall(err, attempt);
          if (attempt === 1 || attempt % 10 === 0) log.warn({ attempt, retryInMs: delayMs, err: (err as Error).message }, 'dead-letter write failed; retrying');
        },
      },
    );
    return tooLarge ? 'too_large' : 'ok';
  }

  return {
    get stalled() {
      return stalled;
    },
    async send(letters, signal) {
      if (letters.length === 0) return;
      let pending = letters;
      while (pending.length > 0) {
        const planned = pending.map((l) => ({ letter: l, ...toRecord(l, groupId, budget) }));
        let done = 0;
        let shrunk = false;
        for (const chunk of chunkByBytes(planned.map((p) => p.record), budget)) {
          if ((await sendChunk(chunk, signal)) === 'too_large') {
            budget = Math.max(MIN_REQUEST_BYTES, Math.floor(budget / 2));
            log.warn({ budget }, 'the dead-letter topic refused a request as too large; writing smaller requests and letters');
            shrunk = true;
            break;
          }
          for (const p of planned.slice(done, done + chunk.length)) {
            metrics.entriesDeadLettered.inc({ reason: p.letter.reason });
            if (p.reduced) metrics.deadLettersReduced.inc({ reason: p.letter.reason });
            log.warn(
              { reason: p.letter.reason, sourceTopic: p.letter.topic, partition: p.letter.partition, offset: p.letter.offset, reduced: p.reduced, err: p.letter.error },
              'dead-lettered a message',
            );
          }
          done += chunk.length;
          unstall();
        }
        pending = shrunk ? pending.slice(done) : [];
      }
    },
  };
}
