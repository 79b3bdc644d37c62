// The one place a Qdrant client is built from our settings, and the narrow view
// of it the consumer's writers use (so tests can hand in a small fake).
import { QdrantClient } from '@qdrant/js-client-rest';
import type { Logger } from 'pino';
import { createGrpcUpsert, type Upsert } from './grpc-writer.js';

export interface QdrantConnection {
  url: string;
  apiKey?: string | undefined;
  timeoutMs: number;
}

/** How the consumer's upserts travel (WITNESS_QDRANT_WRITE_PROTOCOL): see createQdrantWriter. */
export type WriteProtocol = 'auto' | 'grpc' | 'rest';

export interface WriterConnection extends QdrantConnection {
  writeProtocol: WriteProtocol;
  /** Qdrant's gRPC URL (WITNESS_QDRANT_GRPC_URL; by default the REST URL's host, its port plus one: 6333 -> 6334). */
  grpcUrl: string;
}

/** What the sink and the collection setup call on a Qdrant client. */
export type QdrantWriter = Pick<QdrantClient, 'upsert' | 'retrieve' | 'getCollection' | 'createCollection' | 'createPayloadIndex'>;

/** What readiness asks: one quick question. */
export type QdrantProbe = Pick<QdrantClient, 'collectionExists'>;

export function createQdrantClient({ url, apiKey, timeoutMs }: QdrantConnection): QdrantClient {
  // checkCompatibility off: it would send a request at construction, before anyone asked for one.
  return new QdrantClient({ url, ...(apiKey ? { apiKey } : {}), timeout: timeoutMs, checkCompatibility: false });
}

/**
 * The REST client, its upserts sent over gRPC when the protocol says so. `auto`
 * (the default) writes over gRPC and, until a gRPC write has succeeded, answers
 * a gRPC failure that is not about the points by trying REST: if REST takes the
 * write, REST it is from then on. So the real server (and docker-compose's) gets
 * gRPC, and an engine that serves REST only (local/qdrant/, the embedded engine
 * on a fresh machine) works as before.
 */
export function createQdrantWriter(connection: WriterConnection, logger: Logger): QdrantWriter {
  const rest = createQdrantClient(connection);
  if (connection.writeProtocol === 'rest') return rest;
  const grpc = createGrpcUpsert({ ...connection, url: connection.grpcUrl });
  let chosen: Upsert | undefined = connection.writeProtocol === 'grpc' ? grpc : undefined;
  const upsert: Upsert = async (collection, body) => {
    if (chosen) return chosen(collection, body);
    try {
      const result = await grpc(collection, body);
      chosen = grpc;
      return result;
    } catch (err) {
      if ((err as { status?: number }).status !== undefined) throw err; // Qdrant answered over gRPC: not a protocol question
      const result = await rest.upsert(collection, body);
      chosen = rest.upsert.bind(rest);
      logger.info({ grpcUrl: connection.grpcUrl, err: (err as Error).message }, 'no Qdrant gRPC at this address; writing over REST (WITNESS_QDRANT_WRITE_PROTOCOL=auto)');
      return result;
    }
  };
  return Object.assign(Object.create(rest) as QdrantClient, { upsert: upsert as QdrantClient['upsert'] });
}
