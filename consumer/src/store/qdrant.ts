// The one place a Qdrant client is built from our settings, and the narrow view
// of it the consumer's writers use (so tests can hand in a small fake).
import { QdrantClient } from '@qdrant/js-client-rest';

export interface QdrantConnection {
  url: string;
  apiKey?: string | undefined;
  timeoutMs: number;
}

/** What the sink and the collection setup call on a Qdrant client. */
export type QdrantWriter = Pick<QdrantClient, 'upsert' | 'retrieve' | 'getCollection' | 'createCollection' | 'createPayloadIndex'>;

/** What readiness asks: one quick question. */
export type QdrantProbe = Pick<QdrantClient, 'collectionExists'>;

export function createQdrantClient({ url, apiKey, timeoutMs }: QdrantConnection): QdrantClient {
  // checkCompatibility off: it would send a request at construction, before anyone asked for one.
  return new QdrantClient({ url, ...(apiKey ? { apiKey } : {}), timeout: timeoutMs, checkCompatibility: false });
}
