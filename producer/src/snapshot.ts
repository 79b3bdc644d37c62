// The caller's entry, read once. Everything after this (sampling, the redact hook,
// validation, encoding, the message key, the byte count) works on the copy, so a
// getter that answers differently on each read, or a Proxy, cannot pass validation
// with one value and be encoded (or counted in pending_bytes) with another (issue 13,
// finding 8). Defaults of the schema (error, error.stack_trace, quality_metrics,
// trace, usage: null; tags: []) are applied here. `producer` is kept as given, for
// prepare.ts to refuse: it is the SDK's to set. Reading may throw: the caller counts it invalid.
import { InvalidEntryError, limits, type WitnessEntry } from '@witnesslog/schemas';

// The typed-array accessors themselves: a subclass or an own property cannot fake them.
const typedArray = Object.getPrototypeOf(Float32Array.prototype) as object;
const accessor = (name: string) => Object.getOwnPropertyDescriptor(typedArray, name)!.get! as (this: unknown) => unknown;
const bufferOf = accessor('buffer') as (this: unknown) => ArrayBufferLike;
const byteOffsetOf = accessor('byteOffset') as (this: unknown) => number;
const lengthOf = accessor('length') as (this: unknown) => number;
const tagOf = Object.getOwnPropertyDescriptor(typedArray, Symbol.toStringTag)!.get! as (this: unknown) => string | undefined;

type Fields = Record<string, unknown>;

/**
 * A plain copy of `value` shaped like a WitnessEntry; anything that is not an
 * object is returned as it is, for the validator to name.
 */
export function snapshotEntry(value: unknown): WitnessEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value as WitnessEntry;
  const e = value as Fields;
  return {
    request_id: e.request_id,
    session_id: e.session_id,
    query_embedding: vector(e.query_embedding, 'query_embedding'),
    routing_decision: record(e.routing_decision, routingFields),
    model_used: e.model_used,
    quality_score: e.quality_score,
    latency: record(e.latency, latencyFields),
    context_doc_ids: list(e.context_doc_ids, 'context_doc_ids', limits.contextDocIdsMaxCount),
    response_embedding: vector(e.response_embedding, 'response_embedding'),
    timestamp: e.timestamp,
    error: errorInfo(e.error),
    quality_metrics: e.quality_metrics === undefined ? null : record(e.quality_metrics, qualityFields),
    tags: e.tags === undefined ? [] : list(e.tags, 'tags', limits.tagsMaxCount),
    producer: e.producer,
    trace: e.trace == null ? null : record(e.trace, traceFields),
    usage: e.usage == null ? null : record(e.usage, usageFields),
  } as WitnessEntry;
}

const routingFields = ['model', 'context_size', 'temperature', 'top_p', 'confidence', 'model_probs'] as const;
const latencyFields = ['embedding_ms', 'retrieval_ms', 'routing_ms', 'attention_ms', 'generation_ms', 'total_ms'] as const;
const qualityFields = ['overall_score', 'relevance', 'coherence', 'factuality'] as const;
const traceFields = ['trace_id', 'span_id'] as const;
const usageFields = ['prompt_tokens', 'completion_tokens'] as const;

function record(value: unknown, fields: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const from = value as Fields;
  const out: Fields = {};
  for (const f of fields) out[f] = f === 'model_probs' ? list(from[f], 'routing_decision.model_probs', 4) : from[f];
  return out;
}

function errorInfo(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) return value;
  const e = value as Fields;
  const stack = e.stack_trace;
  return { code: e.code, message: e.message, stack_trace: stack === undefined ? null : stack, recovery_attempted: e.recovery_attempted };
}

/**
 * A copy of an array, its length read once. Past `max` the copy is a sparse
 * array of the same length: the validator then names the count without the
 * SDK copying (or a hostile length allocating) anything.
 */
function list(value: unknown, field: string, max: number): unknown {
  if (!Array.isArray(value)) return value;
  const n: unknown = value.length;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidEntryError(field, undefined, 'must be an array with a readable length');
  }
  if (n > max) {
    const sparse: unknown[] = [];
    sparse.length = Math.min(n, 2 ** 32 - 1);
    return sparse;
  }
  // slice reads each element once and returns an array of our own.
  return Array.prototype.slice.call(value, 0, n);
}

/** A Float32Array becomes a fresh view of the same memory (no copy); a number[] is copied. */
function vector(value: unknown, field: string): unknown {
  if (ArrayBuffer.isView(value)) {
    // isView is false for a Proxy, so the accessors below run on a real typed array.
    const tag = tagOf.call(value);
    if (tag !== 'Float32Array') throw new InvalidEntryError(field, `(a ${String(tag ?? 'DataView')})`, 'must be a Float32Array or an array of numbers');
    return new Float32Array(bufferOf.call(value), byteOffsetOf.call(value), lengthOf.call(value));
  }
  if (Array.isArray(value)) return list(value, field, limits.embeddingMaxDim);
  if (typeof value === 'object' && value !== null) {
    // Anything else that is an object (a Proxy of a Float32Array included) is refused
    // here, without reading it again to describe it.
    throw new InvalidEntryError(field, '(an object)', 'must be a Float32Array or an array of numbers');
  }
  return value;
}
