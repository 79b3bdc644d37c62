// Entries with known embedding groups, for `clusters`: a few tight groups of
// failures (each around a random centre, of its own size and spread, mostly
// one error code), failures scattered at random, and successes scattered too.
// `group` is the truth a clustering is scored against (-1: in no group).
import { createWitnessEntry, nowMicros, timestampFromMicros, type WitnessEntry } from '@witnesslog/schemas';

export const CLUSTER_DIM = 32;
/** Members and spread (noise norm relative to the unit centre) per group. */
export const GROUPS = [
  { size: 12, spread: 0.2, code: 'CUDA_OOM' },
  { size: 20, spread: 0.3, code: 'TIMEOUT' },
  { size: 30, spread: 0.25, code: 'CONTEXT_OVERFLOW' },
  { size: 45, spread: 0.35, code: 'RATE_LIMITED' },
] as const;
export const SCATTERED_FAILURES = 110;
export const SUCCESSES = 60;

export interface SeededEntry {
  entry: WitnessEntry;
  group: number;
}

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

function unit(dim: number): number[] {
  const v = Array.from({ length: dim }, gaussian);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function entry(i: number, now: number, embedding: number[], code: string | null): WitnessEntry {
  const models = ['tiny', 'small', 'medium', 'large'] as const;
  const model = models[i % 4]!;
  const base = createWitnessEntry(`session-${i % 7}`, embedding, {
    model,
    context_size: 512,
    temperature: 0.7,
    top_p: 0.9,
    confidence: 0.7,
    model_probs: [0.25, 0.25, 0.25, 0.25],
  });
  return {
    ...base,
    // Spread over the last two hours, so a group has a time span.
    timestamp: timestampFromMicros(now - ((i * 7_919) % 7_200) * 1_000_000),
    error: code === null ? null : { code, message: `failed with ${code}`, stack_trace: null, recovery_attempted: false },
    tags: i % 3 === 0 ? ['canary'] : [],
  };
}

/** The seeded entries, groups first, in an order the pipeline keeps no trace of (ids are random). */
export function clusterEntries(): SeededEntry[] {
  const now = nowMicros();
  const out: SeededEntry[] = [];
  let i = 0;
  GROUPS.forEach((g, group) => {
    const centre = unit(CLUSTER_DIM);
    for (let k = 0; k < g.size; k++) {
      const noise = unit(CLUSTER_DIM).map((x) => x * g.spread * Math.random());
      // One member in ten fails with another code: a group is a kind of request, not a code.
      const code = k % 10 === 9 ? 'INTERNAL' : g.code;
      out.push({ entry: entry(i++, now, centre.map((x, d) => x + noise[d]!), code), group });
    }
  });
  for (let k = 0; k < SCATTERED_FAILURES; k++) out.push({ entry: entry(i++, now, unit(CLUSTER_DIM), k % 2 ? 'TIMEOUT' : 'INTERNAL'), group: -1 });
  for (let k = 0; k < SUCCESSES; k++) out.push({ entry: entry(i++, now, unit(CLUSTER_DIM), null), group: -1 });
  return out;
}

/**
 * Adjusted Rand index of two labellings of the same items (Hubert and Arabie):
 * 1 for identical partitions, about 0 for chance. A label of -1 means "in no
 * group" and is scored as a group of its own item, so noise lumped together
 * earns nothing.
 */
export function adjustedRandIndex(truth: readonly number[], found: readonly number[]): number {
  const n = truth.length;
  const single = (labels: readonly number[]) => labels.map((l, i) => (l < 0 ? `solo-${i}` : String(l)));
  const [t, f] = [single(truth), single(found)];
  const pairs = (x: number) => (x * (x - 1)) / 2;
  const tally = (keys: string[]) => {
    const m = new Map<string, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return [...m.values()];
  };
  const index = tally(t.map((x, i) => `${x}|${f[i]}`)).reduce((s, c) => s + pairs(c), 0);
  const a = tally(t).reduce((s, c) => s + pairs(c), 0);
  const b = tally(f).reduce((s, c) => s + pairs(c), 0);
  const expected = (a * b) / pairs(n);
  const max = (a + b) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}
