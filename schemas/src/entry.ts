// The witness entry: one per LLM request served. Field names are snake_case and
// identical in the Avro record, this type and the Qdrant payload, so no layer
// maps between them.
import { randomUUID } from 'node:crypto';
import { nowTimestamp } from './timestamp.js';

/** Model sizes in the order `model_probs` uses. */
export const modelSizes = ['tiny', 'small', 'medium', 'large'] as const;
export type ModelSize = (typeof modelSizes)[number];

/**
 * A float32 vector. Either form is accepted on input; decoding always gives a
 * Float32Array (little-endian on the wire, one copy out of the message).
 */
export type Embedding = Float32Array | number[];

export interface RoutingDecision {
  model: ModelSize;
  context_size: number;
  temperature: number;
  top_p: number;
  /** 0..1 */
  confidence: number;
  /** Exactly four probabilities, 0..1 each: tiny, small, medium, large. */
  model_probs: number[];
}

/** Milliseconds; `total_ms` is end to end and may exceed the sum of the parts (queueing, I/O). */
export interface LatencyBreakdown {
  embedding_ms: number;
  retrieval_ms: number;
  routing_ms: number;
  attention_ms: number;
  generation_ms: number;
  total_ms: number;
}

export type LatencyComponent = 'embedding' | 'retrieval' | 'routing' | 'attention' | 'generation';

export interface ErrorInfo {
  code: string;
  message: string;
  stack_trace: string | null;
  recovery_attempted: boolean;
}

/** All 0..1. */
export interface QualityMetrics {
  overall_score: number;
  relevance: number;
  coherence: number;
  factuality: number;
}

/** Which SDK instance wrote an entry (schema v2); set by the SDK, never by the caller. */
export interface ProducerIdentity {
  /** Lowercase UUID, new for each SDK instance. */
  id: string;
  /** The entries that instance accepted, numbered from 0 without gaps, in acceptance order. */
  seq: number;
  /** The SDK's `service` option, WITNESS_SERVICE, or the process's name; 1..256 characters. */
  service: string;
  /** os.hostname(); 1..256 characters. */
  host: string;
}

/** W3C Trace Context ids (schema v2): OpenTelemetry's span context. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zeros. */
  trace_id: string;
  /** 16 lowercase hex digits, not all zeros. */
  span_id: string;
}

/** Tokens a request cost (schema v2): OpenTelemetry GenAI's gen_ai.usage.input_tokens / output_tokens. */
export interface TokenUsage {
  /** 0..2^31-1 (Avro int). */
  prompt_tokens: number;
  /** 0..2^31-1 (Avro int). */
  completion_tokens: number;
}

export interface WitnessEntry {
  /** Lowercase UUID, e.g. from crypto.randomUUID(). */
  request_id: string;
  session_id: string;
  /** Exactly `dim` values (768 by default). */
  query_embedding: Embedding;
  routing_decision: RoutingDecision;
  model_used: ModelSize;
  /** 0..1 */
  quality_score: number;
  latency: LatencyBreakdown;
  /**
   * The documents retrieved into the context, as **lowercase UUIDs** (the Avro
   * schema's `logicalType: uuid`), at most 256. Any other id is refused and the
   * whole entry dropped as `invalid`: map your store's document ids to UUIDs
   * first (e.g. a v5 UUID of the id, or the UUID your vector store keys them by).
   * (A template-literal type would catch a plain string at compile time, but it
   * also refuses every `string[]` built at run time, so the check is validateEntry's.)
   */
  context_doc_ids: string[];
  /** Empty, or exactly `dim` values. */
  response_embedding: Embedding;
  /** RFC 3339 UTC with microseconds, e.g. `2026-11-23T21:57:52.123456Z`; see timestamp.ts. */
  timestamp: string;
  error: ErrorInfo | null;
  quality_metrics: QualityMetrics | null;
  tags: string[];
  /** Null in entries written before schema v2. */
  producer: ProducerIdentity | null;
  trace: TraceContext | null;
  usage: TokenUsage | null;
}

/**
 * What a producer may be given: a WitnessEntry in which the fields that have a
 * default in the Avro schema may be left out (`error`, `error.stack_trace`,
 * `quality_metrics`, `trace`, `usage`: null; `tags`: []). The validator and the
 * encoder apply the default, as any Avro reader would; every other field is
 * required. `producer` is not the caller's to give: the SDK sets it, and
 * validateEntry refuses one given by the caller. WitnessEntry (what is stored and
 * decoded) keeps them all present.
 */
export type WitnessEntryInput = Omit<WitnessEntry, 'error' | 'quality_metrics' | 'tags' | 'producer' | 'trace' | 'usage'> & {
  error?: ErrorInfoInput | null;
  quality_metrics?: QualityMetrics | null;
  tags?: string[];
  trace?: TraceContext | null;
  usage?: TokenUsage | null;
};

/** An ErrorInfo whose `stack_trace` (default null) may be left out. */
export type ErrorInfoInput = Omit<ErrorInfo, 'stack_trace'> & { stack_trace?: string | null };

/** What `decodeEntry` returns: the same shape, with the embeddings always Float32Array. */
export interface DecodedWitnessEntry extends WitnessEntry {
  query_embedding: Float32Array;
  response_embedding: Float32Array;
}

/** small, 0, 0.7, 0.9, 0.5, uniform probabilities. */
export function defaultRoutingDecision(): RoutingDecision {
  return {
    model: 'small',
    context_size: 0,
    temperature: 0.7,
    top_p: 0.9,
    confidence: 0.5,
    model_probs: [0.25, 0.25, 0.25, 0.25],
  };
}

/**
 * A new entry for one request: random request id, timestamp now, `model_used`
 * taken from the routing decision, zero latency, no documents, tags, error or
 * metrics. `quality_score` starts at 0, meaning "not scored yet", so an
 * unscored entry never passes a quality threshold by accident.
 * The embedding is kept by reference, not copied: this runs on the serving path.
 */
export function createWitnessEntry(
  sessionId: string,
  queryEmbedding: Embedding,
  routingDecision: RoutingDecision = defaultRoutingDecision(),
): WitnessEntry {
  return {
    request_id: randomUUID(),
    session_id: sessionId,
    query_embedding: queryEmbedding,
    routing_decision: routingDecision,
    model_used: routingDecision.model,
    quality_score: 0,
    latency: { embedding_ms: 0, retrieval_ms: 0, routing_ms: 0, attention_ms: 0, generation_ms: 0, total_ms: 0 },
    context_doc_ids: [],
    response_embedding: [],
    timestamp: nowTimestamp(),
    error: null,
    quality_metrics: null,
    tags: [],
    producer: null,
    trace: null,
    usage: null,
  };
}

// The with* helpers return a new entry and leave their argument alone: an
// entry handed to the producer may still sit in its queue.

/** Sets `quality_score`, and `quality_metrics` when given (keeps the old metrics otherwise). */
export function withQuality(entry: WitnessEntry, score: number, metrics?: QualityMetrics | null): WitnessEntry {
  return { ...entry, quality_score: score, quality_metrics: metrics === undefined ? entry.quality_metrics : metrics };
}

/** Sets the latency breakdown; a missing `total_ms` becomes the sum of the five components. */
export function withLatency(
  entry: WitnessEntry,
  latency: Omit<LatencyBreakdown, 'total_ms'> & { total_ms?: number },
): WitnessEntry {
  const complete = { ...latency, total_ms: latency.total_ms ?? computeLatencyTotal(latency) };
  return { ...entry, latency: complete };
}

/** Sets the error; `stack_trace` defaults to null and `recovery_attempted` to false. */
export function withError(
  entry: WitnessEntry,
  error: Pick<ErrorInfo, 'code' | 'message'> & Partial<ErrorInfo>,
): WitnessEntry {
  return {
    ...entry,
    error: {
      code: error.code,
      message: error.message,
      stack_trace: error.stack_trace ?? null,
      recovery_attempted: error.recovery_attempted ?? false,
    },
  };
}

export function isSuccess(entry: WitnessEntryInput): boolean {
  return entry.error == null;
}

export function meetsQualityThreshold(entry: WitnessEntry, threshold: number): boolean {
  return entry.quality_score >= threshold;
}

/** Sum of the five components (not `total_ms`). */
export function computeLatencyTotal(latency: Omit<LatencyBreakdown, 'total_ms'>): number {
  return latency.embedding_ms + latency.retrieval_ms + latency.routing_ms + latency.attention_ms + latency.generation_ms;
}

/** The component that took longest; on a tie the earlier one in pipeline order. */
export function slowestComponent(latency: Omit<LatencyBreakdown, 'total_ms'>): LatencyComponent {
  let slowest: LatencyComponent = 'embedding';
  let max = latency.embedding_ms;
  if (latency.retrieval_ms > max) [slowest, max] = ['retrieval', latency.retrieval_ms];
  if (latency.routing_ms > max) [slowest, max] = ['routing', latency.routing_ms];
  if (latency.attention_ms > max) [slowest, max] = ['attention', latency.attention_ms];
  if (latency.generation_ms > max) slowest = 'generation';
  return slowest;
}

/** True when `total_ms` is strictly above the threshold. Takes a breakdown or a whole entry. */
export function exceedsLatencyThreshold(subject: LatencyBreakdown | WitnessEntry, thresholdMs: number): boolean {
  const latency = 'latency' in subject ? subject.latency : subject;
  return latency.total_ms > thresholdMs;
}
