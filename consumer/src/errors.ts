// Every error the consumer raises. `code` is stable and safe as a metric label or
// a dead-letter reason; `retriable` is the one flag the retry policy and the
// dead-letter decision read, so "try again" versus "give up on this entry" is
// decided in exactly one place: where the error is classified. The base is the
// one of every witnesslog package (WitnessError, from @witnesslog/schemas), so
// `instanceof WitnessError` catches consumer errors too.
import { WitnessError, describeValue, errorChain, type WitnessErrorOptions } from '@witnesslog/core';

export type ConsumerErrorCode =
  | 'WITNESS_CONFIG_INVALID'
  | 'WITNESS_COLLECTION_MISMATCH'
  | 'WITNESS_QDRANT_UNAVAILABLE'
  | 'WITNESS_QDRANT_REJECTED'
  | 'WITNESS_DEAD_LETTER_FAILED'
  | 'WITNESS_ABORTED'
  | 'WITNESS_EMPTY_MESSAGE'
  | 'WITNESS_QUERY_INVALID'
  | 'WITNESS_UNKNOWN_COLLECTION'
  | 'WITNESS_VECTOR_DIMENSION'
  | 'WITNESS_UNKNOWN_TOPIC';

export type ConsumerErrorOptions = WitnessErrorOptions;

/** Base of the consumer's errors: a WitnessError whose code is one of ConsumerErrorCode. */
export class WitnessConsumerError extends WitnessError<ConsumerErrorCode> {}

/** One or more environment variables (or options) are unusable; the message names each. */
export class ConfigError extends WitnessConsumerError {
  /** One line per bad variable: `NAME="value": expected ...`. */
  readonly problems: readonly string[];

  constructor(problems: string[]) {
    super('WITNESS_CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = Object.freeze([...problems]);
  }
}

/** The collection exists with vectors we did not ask for; writing into it would corrupt it. */
export class CollectionMismatchError extends WitnessConsumerError {
  readonly collection: string;
  readonly differences: readonly string[];

  constructor(collection: string, differences: string[]) {
    super(
      'WITNESS_COLLECTION_MISMATCH',
      `collection "${collection}" exists with a different vector configuration: ${differences.join('; ')}. ` +
        'Use another WITNESS_COLLECTION, or fix WITNESS_EMBEDDING_DIM, or delete the collection.',
    );
    this.collection = collection;
    this.differences = Object.freeze([...differences]);
  }
}

/**
 * Why a Qdrant request failed, as a metric label:
 * - network: refused, reset, DNS; timeout: no answer in time; server: 5xx;
 * - throttled: 429; unauthorized: 401/403; collection_missing: 404 (someone deleted it);
 * - rejected: 400/413/422, the request itself is wrong and will fail again as is.
 */
export type QdrantErrorKind =
  | 'network'
  | 'timeout'
  | 'server'
  | 'throttled'
  | 'unauthorized'
  | 'collection_missing'
  | 'rejected';

/**
 * Qdrant is down, slow, overloaded, or not letting us in. Retried without limit:
 * giving up here would mean dropping or dead-lettering entries that are fine.
 * 401/403 and 404 are retried too, because they describe the deployment (wrong
 * key, deleted collection), not an entry, and an operator can fix them.
 */
export class QdrantUnavailableError extends WitnessConsumerError {
  readonly kind: Exclude<QdrantErrorKind, 'rejected'>;
  readonly status: number | undefined;

  constructor(kind: Exclude<QdrantErrorKind, 'rejected'>, message: string, status?: number, cause?: unknown) {
    super('WITNESS_QDRANT_UNAVAILABLE', message, { retriable: true, cause });
    this.kind = kind;
    this.status = status;
  }
}

/** Qdrant refused the request as malformed (4xx): the same points will be refused again. */
export class QdrantRejectedError extends WitnessConsumerError {
  readonly kind = 'rejected' as const;
  readonly status: number;

  constructor(message: string, status: number, cause?: unknown) {
    super('WITNESS_QDRANT_REJECTED', message, { retriable: false, cause });
    this.status = status;
  }
}

export type QdrantError = QdrantUnavailableError | QdrantRejectedError;

/** The dead-letter topic did not acknowledge a write; the source offset must not move past it. */
export class DeadLetterError extends WitnessConsumerError {
  constructor(message: string, cause?: unknown) {
    super('WITNESS_DEAD_LETTER_FAILED', message, { retriable: true, cause });
  }
}

/** Work stopped because the consumer is shutting down past its deadline or handing over partitions. */
export class AbortedError extends WitnessConsumerError {
  constructor(message = 'aborted') {
    super('WITNESS_ABORTED', message, { retriable: false });
  }
}

/** A record with no value (a tombstone): there is nothing to decode, so it is dead-lettered. */
export class EmptyMessageError extends WitnessConsumerError {
  constructor() {
    super('WITNESS_EMPTY_MESSAGE', 'message has no value');
  }
}

/** A query argument is unusable; the message names the field, the value and what was expected. */
export class QueryInputError extends WitnessConsumerError {
  readonly field: string;

  constructor(field: string, value: unknown, expected: string) {
    super('WITNESS_QUERY_INVALID', `${field} ${describeValue(value)}: expected ${expected}`);
    this.field = field;
  }
}

/** The collection asked for does not exist: a typo, or nothing was ever written there. */
export class UnknownCollectionError extends WitnessConsumerError {
  readonly collection: string;

  constructor(collection: string, cause?: unknown) {
    super('WITNESS_UNKNOWN_COLLECTION', `collection "${collection}" does not exist (check WITNESS_COLLECTION / --collection)`, { cause });
    this.collection = collection;
  }
}

/** A search vector whose length is not the collection's: Qdrant would refuse it. */
export class VectorDimensionError extends WitnessConsumerError {
  readonly expected: number;
  readonly actual: number;

  constructor(vector: string, expected: number, actual: number) {
    super('WITNESS_VECTOR_DIMENSION', `vector "${vector}" of the collection has dimension ${expected}, the search vector has ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A topic to read from does not exist. */
export class UnknownTopicError extends WitnessConsumerError {
  readonly topic: string;

  constructor(topic: string) {
    super('WITNESS_UNKNOWN_TOPIC', `topic "${topic}" does not exist (check WITNESS_TOPIC / --topic)`);
    this.topic = topic;
  }
}

const REJECTED_STATUS = new Set([400, 413, 422]);

/** What a 403 means for us, and which key is needed instead. */
export const READ_ONLY_HINT =
  "WITNESS_QDRANT_API_KEY holds a key that may only read (Qdrant's read_only_api_key); writing (the consumer, witness prune, witness replay) needs the read-write key (Qdrant's api_key, QDRANT_API_KEY in docker-compose.yml)";

/**
 * Turns whatever the Qdrant client threw into a QdrantError. The client throws
 * `ApiError`-like objects with `status` and `data` for HTTP errors, its own
 * `QdrantClientTimeoutError` / `QdrantClientResourceExhaustedError`, and fetch's
 * `TypeError('fetch failed')` for network failures.
 */
export function classifyQdrantError(err: unknown): QdrantError {
  if (err instanceof QdrantUnavailableError || err instanceof QdrantRejectedError) return err;
  const e = err as { name?: unknown; status?: unknown; data?: unknown; message?: unknown } | null | undefined;
  const name = typeof e?.name === 'string' ? e.name : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (name === 'QdrantClientTimeoutError' || name === 'AbortError' || name === 'TimeoutError') {
    return new QdrantUnavailableError('timeout', `Qdrant did not answer in time: ${message}`, undefined, err);
  }
  if (name === 'QdrantClientResourceExhaustedError') {
    return new QdrantUnavailableError('throttled', `Qdrant is throttling: ${message}`, 429, err);
  }
  const status = typeof e?.status === 'number' ? e.status : undefined;
  if (status !== undefined) {
    const detail = describeQdrantData(e?.data) ?? message;
    if (REJECTED_STATUS.has(status)) return new QdrantRejectedError(`Qdrant rejected the request (${status}): ${detail}`, status, err);
    if (status === 429) return new QdrantUnavailableError('throttled', `Qdrant is throttling (429): ${detail}`, status, err);
    if (status === 401) {
      return new QdrantUnavailableError('unauthorized', `Qdrant refused our credentials (${status}): check WITNESS_QDRANT_API_KEY`, status, err);
    }
    // 403: the key is valid but may not do this, i.e. Qdrant's read-only key where a write was asked.
    if (status === 403) return new QdrantUnavailableError('unauthorized', `Qdrant refused this request (403, ${detail}): ${READ_ONLY_HINT}`, status, err);
    if (status === 404) return new QdrantUnavailableError('collection_missing', `Qdrant: not found (404): ${detail}`, status, err);
    if (status >= 500) return new QdrantUnavailableError('server', `Qdrant server error (${status}): ${detail}`, status, err);
    // Other 4xx (405, 409, ...) say nothing about a single point; treat them as a deployment
    // problem an operator must see rather than dead-lettering every entry.
    return new QdrantUnavailableError('server', `Qdrant answered ${status}: ${detail}`, status, err);
  }
  return new QdrantUnavailableError('network', `Qdrant unreachable: ${networkDetail(err) ?? message}`, undefined, err);
}

function describeQdrantData(data: unknown): string | undefined {
  if (data == null) return undefined;
  if (typeof data === 'string') return data.slice(0, 500);
  const status = (data as { status?: { error?: unknown } }).status;
  if (status && typeof status.error === 'string') return status.error.slice(0, 500);
  try {
    return JSON.stringify(data).slice(0, 500);
  } catch {
    return undefined;
  }
}

// fetch hides the useful part (ECONNREFUSED 127.0.0.1:6333) in `cause` (errorChain walks it).
function networkDetail(err: unknown): string | undefined {
  const c = errorChain(err).find((e) => typeof (e as { code?: unknown }).code === 'string') as { code: string; message?: unknown } | undefined;
  return c === undefined ? undefined : `${c.code}${typeof c.message === 'string' ? ` (${c.message})` : ''}`;
}
