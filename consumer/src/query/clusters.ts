// "Which failures are the same failure?": groups a sample of the matching
// entries by embedding similarity. Qdrant's distance-matrix API
// (POST /collections/{c}/points/search/matrix/offsets) samples up to 5,000
// matching points and returns each one's nearest neighbours among the sample,
// computed next to the vectors; dbscan.ts clusters that graph here; then one
// retrieve of the clustered members' payload (no vectors) describes each group.
import { QdrantRejectedError, QueryInputError, UnknownCollectionError } from '../errors.js';
import { QUERY_VECTOR, RESPONSE_VECTOR } from '../store/point.js';
import { toQdrantFilter, type WitnessFilter } from './filter.js';
import { chooseThreshold, dbscan, medoid, neighbourGraph, type NeighbourGraph } from './dbscan.js';
import { field, type QueryContext } from './read.js';

export interface ClusterOptions {
  filter?: WitnessFilter;
  /** Which stored embedding to compare. Default 'query'. */
  using?: typeof QUERY_VECTOR | typeof RESPONSE_VECTOR;
  /** Entries sampled from the matching ones. Default 1,000, at most 5,000. */
  sample?: number;
  /** Fewest entries that make a cluster. Default 5. */
  minSize?: number;
  /** Cosine similarity at which two entries are neighbours. Default: chosen from the sample (dbscan.ts). */
  threshold?: number;
}

export interface Cluster {
  size: number;
  /** Every member. */
  request_ids: string[];
  /** The medoid: the member most similar to the rest of its group. */
  representative: string;
  /** The representative's three nearest members, nearest first. */
  nearest: string[];
  error_codes: Record<string, number>;
  models: Record<string, number>;
  tags: Record<string, number>;
  /** Earliest and latest member timestamps. */
  first: string;
  last: string;
}

export interface ClusterReport {
  /** Largest first. */
  clusters: Cluster[];
  /** Sampled entries in no cluster. */
  unclustered: number;
  /** Entries in the sample. */
  sampled: number;
  /** The similarity threshold used (given or chosen). */
  threshold: number;
  minSize: number;
}

export const DEFAULT_SAMPLE = 1_000;
export const MAX_SAMPLE = 5_000;
const RETRIEVE_CHUNK = 1_000;

export async function clusterReport(ctx: QueryContext, options: ClusterOptions = {}): Promise<ClusterReport> {
  const { filter, using = QUERY_VECTOR, sample = DEFAULT_SAMPLE, minSize = 5, threshold } = options;
  if (using !== QUERY_VECTOR && using !== RESPONSE_VECTOR) throw new QueryInputError('using', using, `"${QUERY_VECTOR}" or "${RESPONSE_VECTOR}"`);
  if (!Number.isInteger(sample) || sample < 2 || sample > MAX_SAMPLE) throw new QueryInputError('sample', sample, `an integer from 2 to ${MAX_SAMPLE}`);
  if (!Number.isInteger(minSize) || minSize < 2 || minSize > 100) throw new QueryInputError('minSize', minSize, 'an integer from 2 to 100');
  if (threshold !== undefined && !(typeof threshold === 'number' && threshold > -1 && threshold <= 1)) {
    throw new QueryInputError('threshold', threshold, 'a cosine similarity above -1, at most 1');
  }
  // Enough neighbours per point to know its core distance and to link a group through chains.
  const limit = Math.min(Math.max(2 * minSize, 10), 100);
  const matrix = await distanceMatrix(ctx, { filter, using, sample, limit });
  const ids = matrix.ids.map(String);
  const graph = neighbourGraph(ids.length, matrix.offsets_row, matrix.offsets_col, matrix.scores);
  const chosen = threshold ?? chooseThreshold(graph, minSize);
  const labels = dbscan(graph, minSize, chosen);
  const groups = new Map<number, number[]>();
  labels.forEach((label, i) => label >= 0 && (groups.get(label) ?? groups.set(label, []).get(label)!).push(i));
  const payloads = await memberPayloads(ctx, [...groups.values()].flat().map((i) => ids[i]!));
  const clusters = [...groups.values()].map((members) => describe(graph, labels, ids, members, payloads));
  clusters.sort((a, b) => b.size - a.size || a.first.localeCompare(b.first));
  const clustered = clusters.reduce((s, c) => s + c.size, 0);
  return { clusters, unclustered: ids.length - clustered, sampled: ids.length, threshold: chosen, minSize };
}

interface Matrix {
  ids: Array<string | number>;
  offsets_row: number[];
  offsets_col: number[];
  scores: number[];
}

async function distanceMatrix(
  ctx: QueryContext,
  { filter, using, sample, limit }: { filter: WitnessFilter | undefined; using: string; sample: number; limit: number },
): Promise<Matrix> {
  const f = toQdrantFilter(filter);
  try {
    return await ctx.call(() => ctx.client.searchMatrixOffsets(ctx.collection, { sample, limit, using, ...(f ? { filter: f } : {}) }));
  } catch (err) {
    // A 404 from an engine without the endpoint reads like a missing collection; tell them apart.
    if (err instanceof UnknownCollectionError && (await ctx.call(() => ctx.client.collectionExists(ctx.collection))).exists) {
      throw new QdrantRejectedError('this Qdrant does not serve the distance-matrix API (points/search/matrix/offsets answered 404; Qdrant >= 1.12 does)', 404, err);
    }
    throw err;
  }
}

async function memberPayloads(ctx: QueryContext, ids: string[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < ids.length; i += RETRIEVE_CHUNK) {
    const chunk = ids.slice(i, i + RETRIEVE_CHUNK);
    const points = await ctx.call(() =>
      ctx.client.retrieve(ctx.collection, { ids: chunk, with_payload: ['timestamp', 'model_used', 'error', 'tags'], with_vector: false }),
    );
    for (const p of points) out.set(String(p.id), p.payload ?? {});
  }
  return out;
}

function describe(graph: NeighbourGraph, labels: Int32Array, ids: string[], members: number[], payloads: Map<string, Record<string, unknown>>): Cluster {
  const center = medoid(graph, members, labels);
  const nearest = graph[center]!.filter((x) => labels[x.j] === labels[center]).slice(0, 3).map((x) => ids[x.j]!);
  const tally = (into: Record<string, number>, value: unknown) => {
    if (typeof value === 'string') into[value] = (into[value] ?? 0) + 1;
  };
  const cluster: Cluster = {
    size: members.length,
    request_ids: members.map((i) => ids[i]!),
    representative: ids[center]!,
    nearest,
    error_codes: {},
    models: {},
    tags: {},
    first: '',
    last: '',
  };
  let [first, last] = [Infinity, -Infinity];
  for (const id of cluster.request_ids) {
    const payload = payloads.get(id) ?? {};
    tally(cluster.error_codes, field(payload, 'error.code'));
    tally(cluster.models, payload.model_used);
    for (const tag of Array.isArray(payload.tags) ? payload.tags : []) tally(cluster.tags, tag);
    const t = Date.parse(String(payload.timestamp));
    if (t < first) [first, cluster.first] = [t, String(payload.timestamp)];
    if (t > last) [last, cluster.last] = [t, String(payload.timestamp)];
  }
  return cluster;
}
