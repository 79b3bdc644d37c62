// Seeding what `witness audit` reads, straight into Qdrant by issue 26's contract:
// a witness collection whose points carry only the producer fields and a
// timestamp (1-d vectors: the audit never reads vectors), and the
// `<collection>_checkpoints` side collection of checkpoints and dead-letter
// records. For the audit's own tests and its benchmark; the loss tests go
// through the real SDKs and consumer instead.
import { createHash } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { pino } from 'pino';
import { ensureCollection } from '../../consumer/src/store/collection.js';

export interface SeedProducer {
  id: string;
  service: string;
  host?: string;
}

const uuidOf = (text: string): string => {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

export async function createAuditCollections(client: QdrantClient, collection: string): Promise<void> {
  await ensureCollection(client, { collection, dim: 1, logger: pino({ level: 'silent' }) });
  const side = `${collection}_checkpoints`;
  await client.createCollection(side, { vectors: { _: { size: 1, distance: 'Dot' } } });
  const indexes: Array<[string, 'keyword' | 'datetime' | 'integer']> = [
    ['kind', 'keyword'], ['producer_id', 'keyword'], ['service', 'keyword'], ['sent_at', 'datetime'], ['at', 'datetime'], ['high_seq', 'integer'], ['seq', 'integer'], ['partition', 'integer'],
  ];
  for (const [field_name, field_schema] of indexes) await client.createPayloadIndex(side, { field_name, field_schema, wait: true });
}

/** Stores entries `seqs` of `p`, each timestamped `at(seq)`, in chunks. */
export async function seedEntries(client: QdrantClient, collection: string, p: SeedProducer, seqs: Iterable<number>, at: (seq: number) => string, chunk = 1000): Promise<void> {
  let batch: Array<{ id: string; vector: Record<string, number[]>; payload: Record<string, unknown> }> = [];
  const flush = async () => {
    if (batch.length > 0) await client.upsert(collection, { wait: true, points: batch });
    batch = [];
  };
  for (const seq of seqs) {
    batch.push({ id: uuidOf(`${p.id}/${seq}`), vector: { query: [1] }, payload: { request_id: uuidOf(`${p.id}/${seq}`), timestamp: at(seq), producer: { id: p.id, seq, service: p.service, host: p.host ?? 'host-1' } } });
    if (batch.length >= chunk) await flush();
  }
  await flush();
}

export async function seedCheckpoint(
  client: QdrantClient,
  collection: string,
  p: SeedProducer,
  c: { checkpoint_seq: number; sent_at: string; high_seq: number; undelivered?: Array<{ from: number; to: number; reason: string }>; truncated?: boolean; final?: boolean },
): Promise<void> {
  const payload = {
    kind: 'checkpoint', producer_id: p.id, service: p.service, host: p.host ?? 'host-1', undelivered: [], truncated: false, final: false,
    refused: { invalid: 0, sampled_out: 0, redact_failed: 0 }, topic: 't', partition: 0, offset: String(c.checkpoint_seq), ...c,
  };
  await client.upsert(`${collection}_checkpoints`, { wait: true, points: [{ id: uuidOf(`${p.id}#${c.checkpoint_seq}`), vector: { _: [1] }, payload }] });
}

export async function seedDeadLetter(
  client: QdrantClient,
  collection: string,
  l: { partition: number; offset: string; reason: string; at: string; producer?: SeedProducer; seq?: number },
): Promise<void> {
  const payload = {
    kind: 'dead_letter', topic: 't', partition: l.partition, offset: l.offset, reason: l.reason, error: 'seeded', at: l.at, request_id: null,
    producer_id: l.producer?.id ?? null, seq: l.seq ?? null, service: l.producer?.service ?? null, entry_timestamp: null,
  };
  await client.upsert(`${collection}_checkpoints`, { wait: true, points: [{ id: uuidOf(`t/${l.partition}/${l.offset}`), vector: { _: [1] }, payload }] });
}
