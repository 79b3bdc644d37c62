// One pass over an entry that stops at the first broken rule and names it. It
// runs on every encode (the serving path) and every decode, so the success path
// builds no strings and allocates nothing; field paths are built on failure.
import type { WitnessEntryInput } from './entry.js';
import { InvalidEntryError } from './errors.js';
import { InvalidOptionError, LOWERCASE_UUID_PATTERN } from '@witnesslog/core';
import { parseTimestamp } from './timestamp.js';
import { fill, reasons as R } from './reasons.js';
import { validationTable } from './generated/validation-table.js';

/**
 * Size limits, from the validation table (validation.json, which says why each
 * is what it is; the Python SDK reads the same table). With every one at its
 * maximum an encoded entry stays below Kafka's default 1 MiB message.max.bytes,
 * so the broker never refuses a valid entry. Lengths count UTF-16 code units
 * (String#length).
 */
export const limits = Object.freeze({ ...validationTable.limits });

export const DEFAULT_DIM = validationTable.defaultDim;

// One probability per model size.
const MODEL_SIZES: ReadonlySet<unknown> = new Set(validationTable.modelSizes);
const MODEL_COUNT = validationTable.modelSizes.length;

export interface ValidateOptions {
  /** Dimension of query_embedding (and of response_embedding when not empty). Default 768. */
  dim?: number;
  /**
   * Who filled the entry in. `caller` (the default): what record() is given, where
   * `producer` belongs to the SDK and is refused unless absent or null. `sdk`: an
   * entry the SDK completed, or a decoded one, whose `producer` is checked like any
   * other field (the codec validates this way).
   */
  origin?: 'caller' | 'sdk';
}

// W3C Trace Context: lowercase hex, and all zeros is the spec's "invalid" id.
const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;
const SPAN_ID = /^(?!0{16})[0-9a-f]{16}$/;
// Avro int.
const TOKEN_MAX = 2_147_483_647;

/** Throws an error when `dim` is not a usable dimension. */
export function checkDim(dim: unknown, option = 'dim'): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1 || dim > limits.embeddingMaxDim) {
    throw new InvalidOptionError(option, dim, fill(R.dim, { max: limits.embeddingMaxDim }));
  }
  return dim;
}

/**
 * Throws InvalidEntryError for the first field that breaks a rule of the
 * schema or of `limits`: wrong type, missing, non-finite, out of range,
 * malformed UUID or timestamp, wrong embedding dimension, too long or too many.
 * Fields with a schema default may be left out (see WitnessEntryInput).
 * `producer` given by the caller is refused unless `origin` is `sdk`.
 */
export function validateEntry(entry: unknown, options?: ValidateOptions): asserts entry is WitnessEntryInput {
  const dim = options?.dim === undefined ? DEFAULT_DIM : checkDim(options.dim);
  const e = object(entry, 'entry');

  uuid(e.request_id, 'request_id');
  string(e.session_id, 'session_id', 1, limits.sessionIdMaxChars);
  embedding(e.query_embedding, 'query_embedding', dim, false);

  const routing = object(e.routing_decision, 'routing_decision');
  modelSize(routing.model, 'routing_decision.model');
  const contextSize = number(routing.context_size, 'routing_decision.context_size');
  if (!Number.isInteger(contextSize) || contextSize < 0 || contextSize > limits.contextSizeMax) {
    fail('routing_decision.context_size', contextSize, fill(R.contextSize, { max: limits.contextSizeMax }));
  }
  nonNegative(routing.temperature, 'routing_decision.temperature');
  unit(routing.top_p, 'routing_decision.top_p');
  unit(routing.confidence, 'routing_decision.confidence');
  const probs = routing.model_probs;
  if (!Array.isArray(probs)) fail('routing_decision.model_probs', probs, missingOr(probs, R.modelProbsArray));
  if (probs.length !== MODEL_COUNT) fail('routing_decision.model_probs', probs, R.modelProbsCount);
  for (let i = 0; i < MODEL_COUNT; i++) unit(probs[i], 'routing_decision.model_probs', i);

  modelSize(e.model_used, 'model_used');
  unit(e.quality_score, 'quality_score');

  const latency = object(e.latency, 'latency');
  nonNegative(latency.embedding_ms, 'latency.embedding_ms');
  nonNegative(latency.retrieval_ms, 'latency.retrieval_ms');
  nonNegative(latency.routing_ms, 'latency.routing_ms');
  nonNegative(latency.attention_ms, 'latency.attention_ms');
  nonNegative(latency.generation_ms, 'latency.generation_ms');
  nonNegative(latency.total_ms, 'latency.total_ms');

  const docs = array(e.context_doc_ids, 'context_doc_ids', limits.contextDocIdsMaxCount);
  for (let i = 0; i < docs.length; i++) uuid(docs[i], 'context_doc_ids', i);

  embedding(e.response_embedding, 'response_embedding', dim, true);

  const micros = parseTimestamp(e.timestamp);
  if (typeof micros === 'string') fail('timestamp', e.timestamp, missingOr(e.timestamp, micros));

  // error, error.stack_trace, quality_metrics and tags have a default in the
  // schema (null, null, null, []): left out (undefined) is the default, as Avro
  // readers and avsc's writer treat it. Any other value is checked.
  if (e.error != null) {
    const error = object(e.error, 'error', true);
    string(error.code, 'error.code', 1, limits.errorCodeMaxChars);
    string(error.message, 'error.message', 0, limits.errorMessageMaxChars);
    if (error.stack_trace != null) string(error.stack_trace, 'error.stack_trace', 0, limits.stackTraceMaxChars, true);
    if (typeof error.recovery_attempted !== 'boolean') {
      fail('error.recovery_attempted', error.recovery_attempted, missingOr(error.recovery_attempted, R.boolean));
    }
  }

  if (e.quality_metrics != null) {
    const metrics = object(e.quality_metrics, 'quality_metrics', true);
    unit(metrics.overall_score, 'quality_metrics.overall_score');
    unit(metrics.relevance, 'quality_metrics.relevance');
    unit(metrics.coherence, 'quality_metrics.coherence');
    unit(metrics.factuality, 'quality_metrics.factuality');
  }

  if (e.producer != null) producer(e.producer, options?.origin === 'sdk');
  if (e.trace != null) {
    const trace = object(e.trace, 'trace', true);
    hexId(trace.trace_id, 'trace.trace_id', TRACE_ID, R.traceId);
    hexId(trace.span_id, 'trace.span_id', SPAN_ID, R.spanId);
  }
  if (e.usage != null) {
    const usage = object(e.usage, 'usage', true);
    tokenCount(usage.prompt_tokens, 'usage.prompt_tokens');
    tokenCount(usage.completion_tokens, 'usage.completion_tokens');
  }

  if (e.tags === undefined) return;
  const tags = array(e.tags, 'tags', limits.tagsMaxCount);
  for (let i = 0; i < tags.length; i++) string(tags[i], 'tags', 1, limits.tagMaxChars, false, i);
}

/** Schema v2's producer identity: the SDK's alone (see ValidateOptions.origin). */
function producer(value: unknown, fromSdk: boolean): void {
  if (!fromSdk) fail('producer', value, R.setBySdk);
  const p = object(value, 'producer', true);
  uuid(p.id, 'producer.id');
  const seq = number(p.seq, 'producer.seq');
  // An Avro long, kept in a JS number: a safe integer, 0 or more.
  if (!Number.isSafeInteger(seq) || seq < 0) fail('producer.seq', seq, fill(R.contextSize, { max: Number.MAX_SAFE_INTEGER }));
  string(p.service, 'producer.service', 1, limits.producerServiceMaxChars);
  string(p.host, 'producer.host', 1, limits.producerHostMaxChars);
}

function hexId(value: unknown, field: string, pattern: RegExp, reason: string): void {
  if (typeof value !== 'string' || !pattern.test(value)) fail(field, value, missingOr(value, reason));
}

function tokenCount(value: unknown, field: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > TOKEN_MAX) {
    fail(field, value, missingOr(value, R.tokenCount));
  }
}

function fail(field: string, value: unknown, reason: string, index?: number): never {
  throw new InvalidEntryError(index === undefined ? field : `${field}[${index}]`, value, reason);
}

function missingOr(value: unknown, reason: string, nullable = false): string {
  if (value === undefined) return nullable ? R.requiredOrNull : R.required;
  return reason;
}

function object(value: unknown, field: string, nullable = false): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(field, value, missingOr(value, nullable ? R.objectOrNull : R.object, nullable));
  }
  return value as Record<string, unknown>;
}

function array(value: unknown, field: string, maxCount: number): unknown[] {
  if (!Array.isArray(value)) fail(field, value, missingOr(value, R.array));
  if (value.length > maxCount) fail(field, value, fill(R.tooMany, { max: maxCount, count: value.length }));
  return value;
}

function string(value: unknown, field: string, min: number, max: number, nullable = false, index?: number): void {
  if (typeof value !== 'string') {
    fail(field, value, missingOr(value, nullable ? R.stringOrNull : R.string, nullable), index);
  }
  if (value.length < min) fail(field, value, R.empty, index);
  if (value.length > max) fail(field, value, fill(R.tooLong, { max, length: value.length }), index);
}

function uuid(value: unknown, field: string, index?: number): void {
  if (typeof value !== 'string' || !LOWERCASE_UUID_PATTERN.test(value)) fail(field, value, missingOr(value, R.uuid), index);
}

function modelSize(value: unknown, field: string): void {
  if (!MODEL_SIZES.has(value)) {
    fail(field, value, missingOr(value, R.model));
  }
}

function number(value: unknown, field: string, index?: number): number {
  if (typeof value !== 'number') fail(field, value, missingOr(value, R.number), index);
  // x - x is NaN exactly for NaN and ±Infinity.
  if (value - value !== 0) fail(field, value, R.finite, index);
  return value;
}

function unit(value: unknown, field: string, index?: number): void {
  const n = number(value, field, index);
  if (n < 0 || n > 1) fail(field, n, R.unit, index);
}

function nonNegative(value: unknown, field: string): void {
  if (number(value, field) < 0) fail(field, value, R.nonNegative);
}

function embedding(value: unknown, field: string, dim: number, mayBeEmpty: boolean): void {
  let length: number;
  if (value instanceof Float32Array) length = value.length;
  else if (Array.isArray(value)) length = value.length;
  else return fail(field, value, missingOr(value, R.embeddingType));

  if (length !== dim && !(mayBeEmpty && length === 0)) {
    fail(field, value, fill(mayBeEmpty ? R.embeddingLengthOrEmpty : R.embeddingLength, { dim, length }));
  }
  if (value instanceof Float32Array) {
    if (allFinite(value)) return;
    for (let i = 0; i < length; i++) {
      const x = value[i]!;
      if (x - x !== 0) fail(field, x, R.finite, i);
    }
  }
  for (let i = 0; i < length; i++) {
    const x: unknown = (value as unknown[])[i];
    if (typeof x !== 'number') fail(field, x, R.number, i);
    // Math.fround: a finite double past float32's range would become Infinity on the wire.
    const f = Math.fround(x);
    if (f - f !== 0) fail(field, x, Number.isFinite(x) ? R.float32 : R.finite, i);
  }
}

/**
 * x * 0 is 0 for a finite x and NaN for NaN and ±Infinity, so one sum answers
 * for the whole vector; unrolled by four, it is about 40% faster than a
 * per-element test (0.8 µs for 768 values on the bench machine).
 */
function allFinite(vector: Float32Array): boolean {
  const n = vector.length;
  let sum = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) sum += vector[i]! * 0 + vector[i + 1]! * 0 + vector[i + 2]! * 0 + vector[i + 3]! * 0;
  for (; i < n; i++) sum += vector[i]! * 0;
  return sum === 0;
}
