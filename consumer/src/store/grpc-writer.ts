// The consumer's writes over Qdrant's gRPC API (issue 23): the vectors go as
// packed float32, 4 bytes a component, where REST prints each as a decimal of
// up to 17 digits (JSON.stringify was the consumer's largest CPU cost). Only
// upsert goes this way; reads, collection setup and the fallback stay on REST.
// Compression is off: vectors do not compress, and gzip would cost the CPU
// the binary encoding saves.
import { ConnectError, ConnectErrorCode as Code, QdrantClient as GrpcClient, NullValue, UpdateMode } from '@qdrant/js-client-grpc';
import type { Schemas } from '@qdrant/js-client-rest';

export interface GrpcConnection {
  /** http://host:port of Qdrant's gRPC listener. */
  url: string;
  apiKey?: string | undefined;
  timeoutMs: number;
}

/** The REST client's upsert, as the sink calls it: same arguments, same errors (see grpcFailure). */
export type Upsert = (collection: string, body: { wait?: boolean; update_mode?: Schemas['UpdateMode']; points: Schemas['PointStruct'][] }) => Promise<unknown>;

export function createGrpcUpsert({ url, apiKey, timeoutMs }: GrpcConnection): Upsert {
  // timeout: Infinity turns the client's cancel-after timer off; each call sets its deadline.
  // The key as `api-key` metadata rather than the client's apiKey option, which
  // would warn on the host's console for a plain-http URL.
  const client = new GrpcClient({ url, timeout: Infinity, compression: false, checkCompatibility: false, ...(apiKey ? { headers: { 'api-key': apiKey } } : {}) });
  const points = pointsApi(client);
  return async (collection, body) => {
    try {
      return await points.upsert({
        collectionName: collection,
        wait: body.wait ?? false,
        updateMode: body.update_mode === 'insert_only' ? UpdateMode.InsertOnly : UpdateMode.Upsert,
        points: body.points.map(toGrpcPoint),
      }, { timeoutMs }); // a gRPC deadline (DeadlineExceeded), where the client's own timeout only cancels
    } catch (err) {
      throw grpcFailure(err);
    }
  };
}

const pointsApi = (client: GrpcClient) => client.api('points');
type GrpcPoint = NonNullable<Parameters<ReturnType<typeof pointsApi>['upsert']>[0]['points']>[number];

function toGrpcPoint(point: Schemas['PointStruct']): GrpcPoint {
  const named: Record<string, { vector: { case: 'dense'; value: { data: number[] } } }> = {};
  for (const [name, data] of Object.entries(point.vector as Record<string, number[]>)) named[name] = { vector: { case: 'dense', value: { data } } };
  const fields: Record<string, GrpcValue> = {};
  for (const [key, value] of Object.entries(point.payload ?? {})) fields[key] = toValue(value);
  return {
    id: { pointIdOptions: typeof point.id === 'number' ? { case: 'num', value: BigInt(point.id) } : { case: 'uuid', value: point.id } },
    vectors: { vectorsOptions: { case: 'vectors', value: { vectors: named } } },
    payload: fields,
  } as GrpcPoint;
}

type GrpcValue = { kind: { case: string; value: unknown } };

// JSON's data model as protobuf Values, as REST stores them: an integral number
// is an integer (Qdrant's integer index reads it), others doubles, a non-finite
// number null (what JSON.stringify writes for it).
function toValue(value: unknown): GrpcValue {
  if (value === null || value === undefined) return { kind: { case: 'nullValue', value: NullValue.NULL_VALUE } };
  if (typeof value === 'string') return { kind: { case: 'stringValue', value } };
  if (typeof value === 'boolean') return { kind: { case: 'boolValue', value } };
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return { kind: { case: 'integerValue', value: BigInt(value) } };
    return Number.isFinite(value) ? { kind: { case: 'doubleValue', value } } : { kind: { case: 'nullValue', value: NullValue.NULL_VALUE } };
  }
  if (Array.isArray(value)) return { kind: { case: 'listValue', value: { values: value.map(toValue) } } };
  const fields: Record<string, GrpcValue> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) fields[k] = toValue(v);
  return { kind: { case: 'structValue', value: { fields } } };
}

// gRPC status -> the HTTP status REST would have answered, so classifyQdrantError
// (retry or dead-letter) decides the same on both write paths.
const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.NotFound]: 404,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.Internal]: 500,
  [Code.FailedPrecondition]: 500,
};

/** A gRPC failure shaped like the REST client's errors (status, data), or a timeout/network error. */
export function grpcFailure(err: unknown): unknown {
  if (!(err instanceof ConnectError)) return err;
  if (err.code === Code.DeadlineExceeded) return Object.assign(new Error(`gRPC: ${err.rawMessage}`), { name: 'TimeoutError', cause: err });
  const status = HTTP_STATUS[err.code];
  if (status === undefined) return Object.assign(new Error(`gRPC ${Code[err.code]}: ${err.rawMessage}`), { cause: err });
  return Object.assign(new Error(`gRPC ${Code[err.code]}: ${err.rawMessage}`), { status, data: err.rawMessage, cause: err });
}
