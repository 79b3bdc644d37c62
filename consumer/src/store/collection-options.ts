// Storage settings of the witness collection, for a log that grows: at 7+ days
// of a fleet's traffic the two 768-d float32 vectors (6 KB per entry) dominate,
// so an operator moves vectors and payload to disk, keeps an int8 copy of the
// vectors in RAM for search, tunes HNSW, and spreads the collection over a
// cluster. Read from the environment with the rest of the configuration; applied
// when the consumer creates the collection (an existing one keeps its settings:
// changing them is Qdrant's PATCH /collections, an operator's decision).
import type { Schemas } from '@qdrant/js-client-rest';

export interface CollectionOptions {
  /** Vectors in memory-mapped files instead of RAM (`on_disk` of each vector). */
  readonly vectorsOnDisk?: boolean;
  /** Payload on disk, read when a point is returned (`on_disk_payload`). */
  readonly payloadOnDisk?: boolean;
  /** `int8`: a scalar-quantized copy of the vectors in RAM (4× smaller), searched first, rescored from the originals. */
  readonly quantization?: 'int8';
  readonly hnswM?: number;
  readonly hnswEfConstruct?: number;
  readonly shardNumber?: number;
  readonly replicationFactor?: number;
  readonly writeConsistencyFactor?: number;
}

/** The variables, each unset by default (Qdrant's own default applies). */
export const COLLECTION_OPTION_VARIABLES = Object.freeze([
  'WITNESS_VECTORS_ON_DISK',
  'WITNESS_PAYLOAD_ON_DISK',
  'WITNESS_QUANTIZATION',
  'WITNESS_HNSW_M',
  'WITNESS_HNSW_EF_CONSTRUCT',
  'WITNESS_SHARD_NUMBER',
  'WITNESS_REPLICATION_FACTOR',
  'WITNESS_WRITE_CONSISTENCY_FACTOR',
] as const);

/**
 * The options from `env`, and what is wrong with them: one line per variable,
 * naming it, its value and what was expected (as loadConfig reports).
 */
export function parseCollectionOptions(env: Partial<Record<string, string | undefined>>): { options: CollectionOptions; problems: string[] } {
  const problems: string[] = [];
  const raw = (name: string) => env[name]?.trim() ?? '';
  const bad = (name: string, expected: string) => problems.push(`${name}=${JSON.stringify(env[name] ?? '')}: expected ${expected}`);
  const bool = (name: string): boolean | undefined => {
    const text = raw(name).toLowerCase();
    if (text === '') return undefined;
    if (['true', '1', 'yes'].includes(text)) return true;
    if (['false', '0', 'no'].includes(text)) return false;
    bad(name, 'true or false (or unset for Qdrant\'s default)');
    return undefined;
  };
  const int = (name: string, min: number, max: number): number | undefined => {
    const text = raw(name);
    if (text === '') return undefined;
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
      bad(name, `an integer from ${min} to ${max} (or unset for Qdrant's default)`);
      return undefined;
    }
    return n;
  };

  // In the order of COLLECTION_OPTION_VARIABLES, so the problems come out in that order.
  const vectorsOnDisk = bool('WITNESS_VECTORS_ON_DISK');
  const payloadOnDisk = bool('WITNESS_PAYLOAD_ON_DISK');
  const quantization = raw('WITNESS_QUANTIZATION').toLowerCase();
  if (!['', 'none', 'int8'].includes(quantization)) bad('WITNESS_QUANTIZATION', 'int8 or none');
  // m = 0 builds no graph (search by payload index and full scan): valid in Qdrant.
  const hnswM = int('WITNESS_HNSW_M', 0, 128);
  const hnswEfConstruct = int('WITNESS_HNSW_EF_CONSTRUCT', 4, 4096);
  const shardNumber = int('WITNESS_SHARD_NUMBER', 1, 1024);
  const replicationFactor = int('WITNESS_REPLICATION_FACTOR', 1, 64);
  const writeConsistencyFactor = int('WITNESS_WRITE_CONSISTENCY_FACTOR', 1, 64);
  // A write needs this many replicas to acknowledge: more than there are would fail every write.
  if (writeConsistencyFactor !== undefined && writeConsistencyFactor > (replicationFactor ?? 1)) {
    bad('WITNESS_WRITE_CONSISTENCY_FACTOR', `at most WITNESS_REPLICATION_FACTOR (${replicationFactor ?? 1})`);
  }
  const options: CollectionOptions = {
    vectorsOnDisk,
    payloadOnDisk,
    quantization: quantization === 'int8' ? 'int8' : undefined,
    hnswM,
    hnswEfConstruct,
    shardNumber,
    replicationFactor,
    writeConsistencyFactor,
  };
  return { options: Object.freeze(dropUnset(options)), problems };
}

function dropUnset<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The create-collection body: our vectors with the options applied. */
export function collectionRequest(
  vectors: Record<string, { size: number; distance: 'Cosine' }>,
  options: CollectionOptions = {},
): Schemas['CreateCollection'] {
  const onDisk = options.vectorsOnDisk;
  const hnsw = dropUnset({ m: options.hnswM, ef_construct: options.hnswEfConstruct });
  return dropUnset({
    vectors: Object.fromEntries(Object.entries(vectors).map(([name, v]) => [name, onDisk === undefined ? v : { ...v, on_disk: onDisk }])),
    on_disk_payload: options.payloadOnDisk,
    // always_ram: the quantized copy stays in RAM while the originals may be on disk.
    quantization_config: options.quantization === 'int8' ? { scalar: { type: 'int8' as const, quantile: 0.99, always_ram: true } } : undefined,
    hnsw_config: Object.keys(hnsw).length > 0 ? hnsw : undefined,
    shard_number: options.shardNumber,
    replication_factor: options.replicationFactor,
    write_consistency_factor: options.writeConsistencyFactor,
  });
}
