// The entries the benchmarks send: two 768-dim unit vectors (query and
// response), five documents, three tags and a filled latency breakdown, about
// 6.4 KB encoded, which is what a serving node with RAG sends.
import { randomUUID } from 'node:crypto';
import { createWitnessEntry, withLatency, withQuality, type WitnessEntry } from '@witnesslog/schemas';

export const DIM = 768;

function unitVector(): number[] {
  const v = Array.from({ length: DIM }, () => Math.random() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

export function makeEntries(count: number, form: 'array' | 'float32' = 'array'): WitnessEntry[] {
  const sessions = Array.from({ length: 64 }, () => randomUUID());
  const vec = form === 'float32' ? (v: number[]) => Float32Array.from(v) : (v: number[]) => v;
  return Array.from({ length: count }, (_, i) => {
    let e = createWitnessEntry(sessions[i % sessions.length]!, vec(unitVector()), {
      model: 'medium',
      context_size: 4096,
      temperature: 0.7,
      top_p: 0.9,
      confidence: 0.82,
      model_probs: [0.05, 0.1, 0.8, 0.05],
    });
    e = withLatency(e, { embedding_ms: 4.2, retrieval_ms: 11.5, routing_ms: 0.8, attention_ms: 35.1, generation_ms: 412.9 });
    e = withQuality(e, 0.91);
    return {
      ...e,
      response_embedding: vec(unitVector()),
      context_doc_ids: Array.from({ length: 5 }, () => randomUUID()),
      tags: ['prod', 'eu-west-1', 'rag'],
    };
  });
}
