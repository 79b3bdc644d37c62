// Qdrant's own ceiling: the consumer's exact points, as requests serialized
// before the clock starts, sent with the consumer's update mode (insert_only)
// and wait=true, `inFlight` at a time, no Kafka and no consumer in the way.
// A write protocol is one CeilingProtocol: REST here; a gRPC UpsertPoints one
// is another object of the same shape (prepare builds the bytes, send posts them).
import { performance } from 'node:perf_hooks';
import type { WitnessPoint } from '@witnesslog/consumer';

/** One pre-built upsert: sending it is all that is left to do. */
export type PreparedRequest = () => Promise<void>;

export interface CeilingProtocol {
  label: string;
  /** Serializes every batch into a request for `collection`; the clock has not started. */
  prepare(collection: string, batches: readonly WitnessPoint[][]): PreparedRequest[];
  close?(): Promise<void>;
}

/** PUT /collections/<c>/points?wait=true, the body the consumer's REST client sends. */
export function restProtocol(url: string, apiKey?: string): CeilingProtocol {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(apiKey ? { 'api-key': apiKey } : {}) };
  return {
    label: 'REST (JSON)',
    prepare: (collection, batches) =>
      batches.map((points) => {
        const body = JSON.stringify({ points, update_mode: 'insert_only' });
        const target = `${url}/collections/${encodeURIComponent(collection)}/points?wait=true`;
        return async () => {
          const res = await fetch(target, { method: 'PUT', headers, body });
          if (!res.ok) throw new Error(`ceiling upsert into ${collection}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
          await res.arrayBuffer();
        };
      }),
  };
}

export function inBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Sends every request, `inFlight` at a time; points/s from the first send to the last acknowledgement. */
export async function runCeiling(requests: readonly PreparedRequest[], points: number, inFlight: number): Promise<{ rate: number; seconds: number }> {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) await requests[next++]!();
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, requests.length) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { rate: points / seconds, seconds };
}
