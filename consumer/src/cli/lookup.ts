// The lookups of the `witness` command: `get` (one entry by request id, or with
// --trace the entries of one distributed trace, trace.trace_id being indexed,
// oldest first, every page of them) and `search` (nearest entries).
import { integer, readVectorFile, toFilter, UsageError, vectorName, type Values } from './args.js';
import { entriesTable, entryDetail, hitsTable, json, recordJson } from './format.js';
import { QUERY_VECTOR } from '../store/point.js';
import type { WitnessQuery } from '../query/query.js';
import type { WitnessRecord } from '../store/point.js';

/** Found (0) or nothing found (1). */
type Outcome = 0 | 1;

// A trace is a request's fan-out: tens of entries. Past this many, ask with list filters instead.
const TRACE_MAX_ENTRIES = 10_000;
const PAGE = 500;

export async function runGet(
  q: WitnessQuery,
  requestId: string | undefined,
  values: Values,
  collection: string,
  io: { stdout: (text: string) => void; stderr: (text: string) => void },
): Promise<Outcome> {
  if (values.trace !== undefined) {
    if (requestId !== undefined) throw new UsageError('"witness get" takes a request id or --trace <trace_id>, not both');
    return getTrace(q, values, collection, io);
  }
  if (requestId === undefined) throw new UsageError('"witness get" takes exactly one request id (or --trace <trace_id>)');
  const entry = await q.get(requestId);
  if (!entry) {
    io.stderr(`witness: no entry with request id ${requestId} in ${collection}\n`);
    if (values.json) io.stdout(json(null));
    return 1;
  }
  io.stdout(values.json ? json(recordJson(entry)) : entryDetail(entry));
  return 0;
}

async function getTrace(q: WitnessQuery, values: Values, collection: string, io: { stdout: (text: string) => void; stderr: (text: string) => void }): Promise<Outcome> {
  const traceId = values.trace!;
  if (traceId.trim() === '') throw new UsageError('--trace "": expected a trace id (32 hex digits)');
  const entries: WitnessRecord[] = [];
  let cursor: string | null = null;
  do {
    // --json gives whole entries, embeddings included, like `witness get <id> --json`.
    const page = await q.list({ filter: { traceId }, order: 'oldest', limit: PAGE, cursor, withVectors: values.json === true });
    entries.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor !== null && entries.length < TRACE_MAX_ENTRIES);
  if (entries.length === 0) {
    io.stderr(`witness: no entry of trace ${traceId} in ${collection}\n`);
    if (values.json) io.stdout(json([]));
    return 1;
  }
  if (cursor !== null) io.stderr(`witness: trace ${traceId} has more than ${TRACE_MAX_ENTRIES} entries; the first ${entries.length} shown\n`);
  io.stdout(values.json ? json(entries.map(recordJson)) : entriesTable(entries));
  return 0;
}

/** `witness search`: the nearest entries to a stored entry's embedding or to a vector file. */
export async function runSearch(q: WitnessQuery, values: Values, collection: string, io: { stdout: (text: string) => void; stderr: (text: string) => void }): Promise<Outcome> {
  const using = vectorName(values.using);
  const limit = integer('--limit', values.limit, 10);
  const filter = toFilter(values);
  let embedding: ArrayLike<number>;
  const exclude: string[] = [];
  if ((values.like === undefined) === (values['vector-file'] === undefined)) throw new UsageError('search needs exactly one of --like <request-id> or --vector-file <file>');
  if (values.like !== undefined) {
    const origin = await q.get(values.like);
    if (!origin) {
      io.stderr(`witness: no entry with request id ${values.like} in ${collection}\n`);
      if (values.json) io.stdout(json([]));
      return 1;
    }
    const stored = using === QUERY_VECTOR ? origin.query_embedding : origin.response_embedding;
    if (!stored || stored.length === 0) {
      io.stderr(`witness: entry ${values.like} has no ${using} embedding\n`);
      if (values.json) io.stdout(json([]));
      return 1;
    }
    embedding = stored;
    exclude.push(origin.request_id);
  } else {
    embedding = readVectorFile(values['vector-file']!);
  }
  const hits = await q.searchSimilar(embedding, { limit, using, filter, exclude });
  const data = hits.map((h) => ({ score: h.score, entry: recordJson(h.entry) }));
  io.stdout(values.json ? json(data) : hits.length === 0 ? 'no matching entries\n' : hitsTable(hits));
  return hits.length === 0 ? 1 : 0;
}
