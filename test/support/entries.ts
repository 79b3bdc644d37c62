// Witness entries for tests, in one place: a factory with every field set (its
// index varies the optional parts), a minimal one as a serving node records it,
// the schemas' exact fixtures (every field set, every optional field absent),
// encoded messages, and a tolerant vector comparison for what comes back from
// Qdrant. No client, no I/O: unit tests import this too.
import { randomBytes, randomUUID } from 'node:crypto';
import { createCodec, createWitnessEntry, DEFAULT_DIM, withError, type WitnessEntry } from '@witnesslog/schemas';

/** A message as a test produces it, poison included. */
export interface RawMessage {
  key?: string | Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string | Buffer | undefined>;
  partition?: number;
}

const codecs = new Map<number, ReturnType<typeof createCodec>>();
export function codec(dim: number): ReturnType<typeof createCodec> {
  let c = codecs.get(dim);
  if (!c) codecs.set(dim, (c = createCodec({ dim })));
  return c;
}

function randomVector(dim: number, scale: number): Float32Array {
  // Not unit length on purpose: Qdrant normalizes cosine vectors, and we must give back the original.
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = (Math.random() * 2 - 1) * scale;
  return v;
}

/**
 * An entry with every field a caller sets; `i` varies the optional parts (response,
 * error, metrics, trace, usage). `producer` stays null: it is the SDK's to set
 * (withProducer sets it for tests that skip the SDK).
 */
export function testEntry(dim: number, i = 0, sessionId = 'session-test'): WitnessEntry {
  const entry = createWitnessEntry(sessionId, randomVector(dim, 3), {
    model: (['tiny', 'small', 'medium', 'large'] as const)[i % 4]!,
    context_size: 1024 * (i % 8),
    temperature: 0.7,
    top_p: 0.95,
    confidence: 0.8,
    model_probs: [0.1, 0.2, 0.3, 0.4],
  });
  return {
    ...entry,
    quality_score: (i % 10) / 10,
    latency: { embedding_ms: 1.5, retrieval_ms: 12.25, routing_ms: 0.5, attention_ms: 40, generation_ms: 300 + i, total_ms: 360 + i },
    context_doc_ids: [randomUUID(), randomUUID()],
    response_embedding: i % 2 === 0 ? randomVector(dim, 0.25) : [],
    error: i % 5 === 4 ? { code: 'CUDA_OOM', message: 'out of memory', stack_trace: i % 10 === 4 ? 'at generate()' : null, recovery_attempted: true } : null,
    quality_metrics: i % 3 === 0 ? { overall_score: 0.9, relevance: 0.8, coherence: 0.7, factuality: 0.6 } : null,
    tags: i % 2 === 0 ? ['test', `n${i % 7}`] : [],
    trace: i % 2 === 0 ? { trace_id: randomBytes(16).toString('hex'), span_id: randomBytes(8).toString('hex') } : null,
    usage: i % 3 === 2 ? null : { prompt_tokens: 100 + i, completion_tokens: i },
  };
}

/** The producer identity an SDK would set, for tests that encode without the SDK. */
export function withProducer(entry: WitnessEntry, seq: number, id = TEST_PRODUCER_ID, service = 'test-service'): WitnessEntry {
  return { ...entry, producer: { id, seq, service, host: 'test-host' } };
}

export const TEST_PRODUCER_ID = '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';

/** The schema's default embedding size, which the producer tests record at. */
export const DIM = DEFAULT_DIM;

/** A random unit vector, so an entry mixed up with another one would not decode equal. */
export function unitVector(dim = DIM): Float32Array {
  const v = new Float32Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = Math.random() * 2 - 1;
    norm += v[i]! * v[i]!;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i]! /= norm;
  return v;
}

/** An entry as a serving node records it: the schema's defaults, a random unit vector, optionally failed or tagged. */
export function entry(sessionId: string, { dim = DIM, failed = false, tags = [] as string[] } = {}): WitnessEntry {
  const e = { ...createWitnessEntry(sessionId, unitVector(dim)), tags };
  return failed ? withError(e, { code: 'CUDA_OOM', message: 'out of memory on the generation step' }) : e;
}

/** A deterministic vector, exact in float32. */
export function vector(dim: number, seed = 1): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = Math.sin(seed + i * 0.37) * 0.5;
  return v;
}

/** The schemas' fixture with every field set (`producer` included: for codec tests, not record()); values are exact in float32 where the wire is float32. */
export function fullEntry(dim = 768): WitnessEntry {
  return {
    request_id: '6f9619ff-8b86-4011-b42d-00c04fc964ff',
    session_id: 'session-4f1c2a',
    query_embedding: vector(dim, 1),
    routing_decision: {
      model: 'medium',
      context_size: 4096,
      temperature: 0.7,
      top_p: 0.9,
      confidence: 0.83,
      model_probs: [0.05, 0.12, 0.71, 0.12],
    },
    model_used: 'large',
    quality_score: 0.91,
    latency: { embedding_ms: 3.2, retrieval_ms: 11.8, routing_ms: 0.4, attention_ms: 41.5, generation_ms: 812.3, total_ms: 870.1 },
    context_doc_ids: ['0b5e5bd6-9a4c-4f57-8d5a-3c6f0e7b1a2d', '00000000-0000-0000-0000-000000000000'],
    response_embedding: vector(dim, 2),
    timestamp: '2026-11-23T21:57:52.123456Z',
    error: {
      code: 'UPSTREAM_TIMEOUT',
      message: 'retrieval timed out after 10 ms; served without context — ünïcödé ✓',
      stack_trace: 'Error: timeout\n    at retrieve (retrieval.ts:42:7)',
      recovery_attempted: true,
    },
    quality_metrics: { overall_score: 0.91, relevance: 0.88, coherence: 0.95, factuality: 0.9 },
    // A short multi-byte string last: avsc 5.7.9 writes a few bytes past such strings (see codec.ts).
    tags: ['prod', 'eu-west-1', 'zürich'],
    producer: { id: '5f0c6a1e-2b7d-4c3a-9e8f-1a2b3c4d5e6f', seq: 41, service: 'golden-service', host: 'golden-host' },
    trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' },
    usage: { prompt_tokens: 512, completion_tokens: 128 },
  };
}

/** fullEntry with every optional field absent. */
export function minimalEntry(dim = 768): WitnessEntry {
  return {
    ...fullEntry(dim),
    context_doc_ids: [],
    response_embedding: new Float32Array(0),
    error: null,
    quality_metrics: null,
    tags: [],
    producer: null,
    trace: null,
    usage: null,
  };
}

export function encoded(entries: WitnessEntry[], dim: number): RawMessage[] {
  return entries.map((e) => ({ key: e.session_id, value: codec(dim).encode(e) }));
}

/** Float32 equality with room for Qdrant's normalize-and-rescale round trip. */
export function assertVectorClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    // float32 keeps ~7 significant digits; normalizing and rescaling costs a couple of ulps.
    if (diff > 1e-6 * Math.max(scale, 1e-30)) throw new Error(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (diff ${diff})`);
  }
}
