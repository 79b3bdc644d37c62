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

export function fixtureEntry(i: number, now: number): WitnessEntry {
  // All four models, unevenly (4:2:2:1), so a per-model count is not just N/4.
  const model = MODELS[[0, 0, 1, 2, 0, 3, 1, 0, 2][i % 9]!]!;
  const base = createWitnessEntry(`session-${i % 6}`, vector(3), {
    model,
    context_size: 1024,
    temperature: 0.7,
    top_p: 0.95,
    confidence: 0.8,
    model_probs: [0.1, 0.2, 0.3, 0.4],
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
    quality_score: (i % 10) / 10,
    latency: { embedding_ms: 1, retrieval_ms: 10, routing_ms: 1, attention_ms: 20, generation_ms: total - 32, total_ms: total },
    response_embedding: i % 2 === 0 ? vector(0.5) : [],
    timestamp: timestampFromMicros(micros),
    error,
    tags,
  };
}

export interface WitnessLogFixture {
  names: ReturnType<typeof testNames>;
  entries: WitnessEntry[];
  cleanup(): Promise<void>;
}

/** Produces `count` entries and waits until the consumer has written all of them. */
export async function witnessLogFixture(prefix: string, count = 120): Promise<WitnessLogFixture> {
  const names = testNames(prefix);
  await createTopics({ topic: names.topic, partitions: 2 }, { topic: names.dlqTopic });
  const now = nowMicros();
  const entries = Array.from({ length: count }, (_, i) => fixtureEntry(i, now));
  const producer = createWitnessProducer({ brokers, topic: names.topic, embeddingDim: DIM, lingerMs: 20 });
  for (const entry of entries) producer.record(entry);
  await producer.flush();
  await producer.close();
  const run = await runConsumer(testConfig(names), prefix);
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
