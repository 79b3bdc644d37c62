// Witness entries for tests: one factory with every field set (its index varies
// the optional parts), encoded messages, and a tolerant vector comparison for
// what comes back from Qdrant. No client, no I/O: unit tests import this too.
import { randomUUID } from 'node:crypto';
import { createCodec, createWitnessEntry, type WitnessEntry } from '@witnesslog/schemas';

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

function vector(dim: number, scale: number): Float32Array {
  // Not unit length on purpose: Qdrant normalizes cosine vectors, and we must give back the original.
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = (Math.random() * 2 - 1) * scale;
  return v;
}

/** An entry with every field set; `i` varies the optional parts (response, error, metrics). */
export function testEntry(dim: number, i = 0, sessionId = 'session-test'): WitnessEntry {
  const entry = createWitnessEntry(sessionId, vector(dim, 3), {
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
    response_embedding: i % 2 === 0 ? vector(dim, 0.25) : [],
    error: i % 5 === 4 ? { code: 'CUDA_OOM', message: 'out of memory', stack_trace: i % 10 === 4 ? 'at generate()' : null, recovery_attempted: true } : null,
    quality_metrics: i % 3 === 0 ? { overall_score: 0.9, relevance: 0.8, coherence: 0.7, factuality: 0.6 } : null,
    tags: i % 2 === 0 ? ['test', `n${i % 7}`] : [],
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
