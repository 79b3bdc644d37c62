// End-to-end latency at a fixed rate: our TS producer SDK records entries on a
// schedule (each entry due at start + i/rate, sent when due, catching up if the
// loop lags), and each entry's latency is the time from its record() call to
// the first poll that finds its id in Qdrant. The poller retrieves every
// pending id (no payload, no vectors) every POLL_MS, so each figure is late by
// at most one poll interval plus one retrieve; the first WARMUP_S seconds
// (consumer joining, JIT) are left out of the percentiles.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWitnessProducer } from '@witnesslog/producer';
import type { WitnessEntry } from '@witnesslog/schemas';
import { percentile } from './report.js';

const POLL_MS = 50;
const WARMUP_S = 3;
const CHUNK = 500;

export interface LatencyResult {
  rate: number;
  sent: number;
  p50: number;
  p99: number;
  /** Entries never found within the grace period after the last record(). */
  missing: number;
}

async function retrieveIds(url: string, collection: string, ids: string[]): Promise<string[]> {
  const res = await fetch(`${url}/collections/${encodeURIComponent(collection)}/points`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ids, with_payload: false, with_vector: false }),
  });
  if (!res.ok) return []; // the collection may not exist yet
  return ((await res.json()) as { result: Array<{ id: string }> }).result.map((p) => String(p.id));
}

/** Records `rate` entries/s into `topic` for `seconds`, `pool` cycled with fresh ids, while polling `collection`. */
export async function measureLatency(o: { brokers: readonly string[]; topic: string; url: string; collection: string; rate: number; seconds: number; pool: readonly WitnessEntry[] }): Promise<LatencyResult> {
  const producer = createWitnessProducer({ brokers: [...o.brokers], topic: o.topic });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const pending = new Set<string>();
  let sending = true;
  const poller = (async () => {
    const grace = () => Date.now() - lastSend < 30_000;
    while (sending || (pending.size > 0 && grace())) {
      const ids = [...pending];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const found = await retrieveIds(o.url, o.collection, ids.slice(i, i + CHUNK));
        const now = Date.now();
        for (const id of found) {
          const at = sentAt.get(id);
          if (pending.delete(id) && at !== undefined) latencies.push(now - at);
        }
      }
      await sleep(POLL_MS);
    }
  })();
  const start = Date.now();
  let lastSend = start;
  let sent = 0;
  const warm = Math.round(WARMUP_S * o.rate);
  for (let due = 0; Date.now() - start < o.seconds * 1000; await sleep(2)) {
    due = Math.floor(((Date.now() - start) / 1000) * o.rate);
    for (; sent < due; sent++) {
      const id = randomUUID();
      // Warm-up entries are waited for too, but not counted.
      if (sent >= warm) sentAt.set(id, Date.now());
      pending.add(id);
      if (!producer.record({ ...o.pool[sent % o.pool.length]!, request_id: id })) throw new Error(`record() dropped entry ${sent}`);
    }
    lastSend = Date.now();
  }
  await producer.flush();
  sending = false;
  await poller;
  await producer.close();
  const sorted = latencies.sort((a, b) => a - b);
  return { rate: sent / o.seconds, sent, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), missing: pending.size };
}
