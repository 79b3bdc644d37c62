// A steady stream of entries, as serving nodes record them: paced by a timer,
// spread over several producers, every call accounted in the ledger.
import type { WitnessProducer } from '@witnesslog/producer';
import type { Ledger } from './ledger.js';

/**
 * WITNESS_RELIABILITY_SCALE (default 1) multiplies rates, counts and outage
 * lengths of every scenario, for long runs: e.g. 5 for a run of about 25 minutes.
 */
export const SCALE = (() => {
  const raw = process.env.WITNESS_RELIABILITY_SCALE;
  const n = raw === undefined || raw === '' ? 1 : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`WITNESS_RELIABILITY_SCALE=${JSON.stringify(raw)}: expected a positive number`);
  return n;
})();

export const scaled = (n: number) => Math.max(1, Math.round(n * SCALE));

export interface NamedProducer {
  name: string;
  producer: WitnessProducer;
}

export interface Load {
  /** Entries recorded so far (accepted or not). */
  readonly recorded: number;
  stop(): Promise<void>;
}

// 20 ms ticks: smooth enough to look like traffic, coarse enough to cost nothing.
const TICK_MS = 20;

export function steadyLoad(ledger: Ledger, producers: NamedProducer[], perSecond: number): Load {
  const started = Date.now();
  let recorded = 0;
  /** Entries given up after a stall, so the pace does not turn into a burst. */
  let skipped = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * perSecond) / 1000) - skipped;
    let n = due - recorded;
    // After a stall (GC, a busy machine) catch up, but never with more than a second's worth at once.
    const cap = Math.ceil(perSecond);
    if (n > cap) {
      skipped += n - cap;
      n = cap;
    }
    for (let i = 0; i < n; i++) {
      const { name, producer } = producers[recorded % producers.length]!;
      ledger.record(name, producer);
      recorded += 1;
    }
  }, TICK_MS);
  return {
    get recorded() {
      return recorded;
    },
    async stop() {
      clearInterval(timer);
    },
  };
}

/** A suite's time limit: 5 minutes at the default scale, growing with it (plus a long soak). */
export const suiteTimeoutMs = (extraMs = 0) => Math.round(300_000 * Math.max(1, SCALE)) + extraMs;
