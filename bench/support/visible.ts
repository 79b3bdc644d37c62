// How fast points become visible in a Qdrant collection, and what CPU each
// process spent meanwhile: an exact count polled every POLL_MS; the clock and
// the CPU snapshots start at the first poll that sees a point and stop at the
// one that sees all of them, so the rate is (last count - first count) over
// that span, whatever the writer is (our consumer, qdrant-kafka, a naive loop).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuPerEntry, cpuSnapshot, type Pids } from './proc.js';

const POLL_MS = 100;

export interface IngestFigures {
  /** Points that became visible within the time box (the total when complete). */
  visible: number;
  rate: number;
  seconds: number;
  /** µs of CPU per point, per process named in `pids`. */
  cpu: Record<string, number>;
  complete: boolean;
}

async function count(url: string, collection: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${url}/collections/${encodeURIComponent(collection)}/points/count`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{"exact":true}',
  });
  if (res.status === 404) return 0; // not created yet
  if (!res.ok) throw new Error(`count of ${collection}: HTTP ${res.status}`);
  return ((await res.json()) as { result: { count: number } }).result.count;
}

/**
 * Waits until `total` points are visible, or `timeoutMs` passed since the first
 * one (or since the call, when none ever shows): then it reports what it saw.
 */
export async function measureIngest(opts: { url: string; collection: string; total: number; pids: Pids; timeoutMs: number; apiKey?: string; alive?: () => boolean }): Promise<IngestFigures> {
  const headers: Record<string, string> = opts.apiKey ? { 'api-key': opts.apiKey } : {};
  let first: { n: number; t: number; cpu: Record<string, number> } | undefined;
  let deadline = performance.now() + opts.timeoutMs;
  for (;;) {
    const n = await count(opts.url, opts.collection, headers).catch(() => 0);
    const t = performance.now();
    const cpu = cpuSnapshot(opts.pids);
    // All of them at the first sighting: a writer too fast for POLL_MS; no rate can honestly be given.
    if (!first && n >= opts.total) throw new Error(`all ${n} points of ${opts.collection} became visible within one ${POLL_MS} ms poll: scale up (WITNESS_BENCH_SCALE)`);
    if (!first && n > 0) {
      first = { n, t, cpu };
      deadline = t + opts.timeoutMs;
    }
    const done = n >= opts.total;
    if (first && (done || t > deadline || opts.alive?.() === false)) {
      const seconds = (t - first.t) / 1000;
      const entries = n - first.n;
      return { visible: n, rate: seconds > 0 ? entries / seconds : 0, seconds, cpu: cpuPerEntry(first.cpu, cpu, Math.max(1, entries)), complete: done };
    }
    if (!first && (t > deadline || opts.alive?.() === false)) return { visible: 0, rate: 0, seconds: 0, cpu: {}, complete: false };
    await sleep(POLL_MS);
  }
}
