// One witness log for the query, CLI and recipe tests: entries produced through
// the producer SDK, written by a real consumer into a fresh collection. Every
// field a filter reads varies, and a known share of the entries is days old
// (for prune) or shares one timestamp (for paging across ties).
import { createWitnessProducer } from '@witnesslog/producer';
import { createWitnessEntry, nowMicros, timestampFromMicros, type WitnessEntry } from '@witnesslog/schemas';
import {
  brokers,
  countPoints,
  createTopics,
  deleteTopics,
  dropCollection,
  runConsumer,
  testConfig,
  testNames,
  waitFor,
} from './pipeline.js';

export const DIM = 8;
export const MODELS = ['tiny', 'small', 'medium', 'large'] as const;
/** Entries 0..OLD-1 are 2 to 6 days old; the rest are from the last half hour. */
export const OLD = 20;
const DAY_US = 86_400_000_000;

function vector(scale: number): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = (Math.random() * 2 - 1) * scale;
  return v;
}

/** The trace of fixture entries: entries 10n..10n+9 (recent ones, two in three) share trace n. */
export function fixtureTraceId(n: number): string {
  return `a${n.toString(16)}`.padStart(32, '0');
}

export function fixtureEntry(i: number, now: number): WitnessEntry {
  // All four models, unevenly (4:2:2:1), so a per-model count is not just N/4.
  const model = MODELS[[0, 0, 1, 2, 0, 3, 1, 0, 2][i % 9]!]!;
  // The router's choice differs from the model that served every fourth entry (a
  // fallback); confidence varies; a third of the decisions have no model above 0.5.
  const routed = i % 4 === 1 ? MODELS[(MODELS.indexOf(model) + 1) % MODELS.length]! : model;
  const base = createWitnessEntry(`session-${i % 6}`, vector(3), {
    model: routed,
    context_size: 1024,
    temperature: 0.7,
    top_p: 0.95,
    confidence: 0.3 + (i % 7) / 10,
    model_probs: i % 3 === 0 ? [0.4, 0.3, 0.2, 0.1] : [0.1, 0.1, 0.2, 0.6],
  });
  const tags = [...(i % 2 === 0 ? ['even'] : []), ...(i % 3 === 0 ? ['three'] : []), ...(i % 5 === 0 ? ['five'] : [])];
  const total = 100 + ((i * 37) % 500);
  // Entries 40..44 share one timestamp: paging must neither skip nor repeat them.
  const micros = i < OLD ? now - (2 + (i % 5)) * DAY_US - i * 60_000_000 : i >= 40 && i < 45 ? now - 40 * 10_000_000 : now - i * 10_000_000;
  const error =
    i % 5 === 4
      ? { code: 'CUDA_OOM', message: 'out of memory', stack_trace: null, recovery_attempted: true }
      : i % 7 === 3
        ? { code: 'TIMEOUT', message: 'generation timed out', stack_trace: 'at generate()', recovery_attempted: false }
        : null;
  return {
    ...base,
    model_used: model,
    quality_score: (i % 10) / 10,
    latency: latencyOf(i, total),
    response_embedding: i % 2 === 0 ? vector(0.5) : [],
    timestamp: timestampFromMicros(micros),
    error,
    tags,
    // Schema v2: trace and usage as the caller gives them (the SDK sets producer).
    trace: i >= OLD && i % 3 !== 2 ? { trace_id: fixtureTraceId(Math.floor(i / 10)), span_id: (i + 1).toString(16).padStart(16, '0') } : null,
    usage: i % 4 === 3 ? null : { prompt_tokens: 100 + i, completion_tokens: 10 * i },
  };
}

// Generation is the slowest part of most entries, retrieval of every sixth, attention of the next.
function latencyOf(i: number, total: number): WitnessEntry['latency'] {
  const long = total - 32;
  if (i % 6 === 0) return { embedding_ms: 1, retrieval_ms: long, routing_ms: 1, attention_ms: 20, generation_ms: 10, total_ms: total };
  if (i % 6 === 1) return { embedding_ms: 1, retrieval_ms: 10, routing_ms: 1, attention_ms: long, generation_ms: 20, total_ms: total };
  return { embedding_ms: 1 + (i % 4), retrieval_ms: 10, routing_ms: 1, attention_ms: 20, generation_ms: long, total_ms: total };
}

export interface WitnessLogFixture {
  names: ReturnType<typeof testNames>;
  entries: WitnessEntry[];
  cleanup(): Promise<void>;
}

/** Produces `count` entries and waits until the consumer has written all of them. */
export async function witnessLogFixture(prefix: string, count = 120): Promise<WitnessLogFixture> {
  const now = nowMicros();
  return pipelineFixture(prefix, Array.from({ length: count }, (_, i) => fixtureEntry(i, now)), DIM);
}

/** Produces `entries` (of `dim` dimensions) through the producer SDK and Kafka; resolves once the consumer wrote all of them. */
export async function pipelineFixture(prefix: string, entries: WitnessEntry[], dim: number): Promise<WitnessLogFixture> {
  const names = testNames(prefix);
  const count = entries.length;
  await createTopics({ topic: names.topic, partitions: 2 }, { topic: names.dlqTopic });
  const producer = createWitnessProducer({ brokers, topic: names.topic, embeddingDim: dim, lingerMs: 20 });
  for (const entry of entries) producer.record(entry);
  await producer.flush();
  await producer.close();
  const run = await runConsumer(testConfig(names, { WITNESS_EMBEDDING_DIM: String(dim) }), prefix);
  try {
    await waitFor(`${count} points in ${names.collection}`, async () => (await countPoints(names.collection).catch(() => 0)) === count, 60_000);
  } finally {
    await run.close();
  }
  return {
    names,
    entries,
    cleanup: async () => {
      await dropCollection(names.collection);
      await deleteTopics(names.topic, names.dlqTopic);
    },
  };
}

/** Cosine similarity in float64, the ranking a search must reproduce. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}
