// The flags of the `witness` command and the parsing of their values. Every
// bad value becomes a UsageError naming the flag, the value and what was
// expected (`--since 1x: expected a duration like 30m, 1h, 7d`).
import { readFileSync } from 'node:fs';
import type { parseArgs } from 'node:util';
import { DURATION_HINT, parseDuration } from '../duration.js';
import { QUERY_VECTOR, RESPONSE_VECTOR } from '../store/point.js';
import type { VectorName } from '../query/query.js';
import type { WitnessFilter } from '../query/filter.js';
import { POSTMORTEM_OPTIONS } from './postmortem-flags.js';
import { AUDIT_OPTIONS } from './audit-flags.js';

// Every flag of every command, parsed strictly; COMMANDS says which ones a command accepts.
export const OPTIONS = {
  url: { type: 'string' },
  collection: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  session: { type: 'string' },
  model: { type: 'string', multiple: true },
  errors: { type: 'boolean' },
  ok: { type: 'boolean' },
  'error-code': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  tag: { type: 'string', multiple: true },
  'all-tags': { type: 'boolean' },
  'min-quality': { type: 'string' },
  'max-latency': { type: 'string' },
  like: { type: 'string' },
  'vector-file': { type: 'string' },
  using: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  oldest: { type: 'boolean' },
  'older-than': { type: 'string' },
  'dry-run': { type: 'boolean' },
  'from-beginning': { type: 'boolean' },
  topic: { type: 'string' },
  trace: { type: 'string' },
  service: { type: 'string' },
  producer: { type: 'string' },
  ...POSTMORTEM_OPTIONS,
  ...AUDIT_OPTIONS,
} as const;

export type Flag = keyof typeof OPTIONS;
export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export const COMMON: Flag[] = ['url', 'collection', 'json', 'help'];
export const FILTERS: Flag[] = ['session', 'model', 'errors', 'ok', 'error-code', 'since', 'until', 'tag', 'all-tags', 'min-quality', 'max-latency', 'trace', 'service', 'producer'];
export const COMMANDS: Record<string, { flags: Flag[]; positionals: number }> = {
  search: { flags: [...FILTERS, 'like', 'vector-file', 'using', 'limit'], positionals: 0 },
  // One entry by request id, or (--trace, no request id) the entries of one trace.
  get: { flags: ['trace'], positionals: 1 },
  list: { flags: [...FILTERS, 'limit', 'cursor', 'oldest'], positionals: 0 },
  stats: { flags: FILTERS, positionals: 0 },
  prune: { flags: ['older-than', 'dry-run'], positionals: 0 },
  replay: { flags: ['from-beginning', 'topic'], positionals: 0 },
  // The postmortem questions (postmortem.ts).
  clusters: { flags: [...FILTERS, 'using', 'sample', 'min-size', 'threshold'], positionals: 0 },
  routing: { flags: [...FILTERS, 'max-entries'], positionals: 0 },
  quality: { flags: [...FILTERS, 'every', 'max-entries'], positionals: 0 },
  latency: { flags: [...FILTERS, 'max-entries'], positionals: 0 },
  // Issue 26: is every entry accounted for (audit.ts).
  audit: { flags: ['since', 'until', 'service', 'producer', 'grace'], positionals: 0 },
  // Issue 26 item 5: list, show <partition>:<offset>, redrive (dlq.ts checks the positionals and each subcommand's flags).
  dlq: { flags: ['reason', 'since', 'rate', 'dry-run', 'topic'], positionals: 1 },
};

/** A usage problem: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {}

export function toFilter(values: Values): WitnessFilter {
  const filter: WitnessFilter = {};
  if (values.session !== undefined) filter.sessionId = nonEmpty('--session', values.session);
  if (values.model !== undefined) filter.model = values.model.map((m) => nonEmpty('--model', m));
  if (values.errors && values.ok) throw new UsageError('--errors and --ok exclude each other');
  if (values.errors) filter.success = false;
  if (values.ok) filter.success = true;
  if (values['error-code'] !== undefined) filter.errorCode = nonEmpty('--error-code', values['error-code']);
  if (values.since !== undefined) filter.since = instant('--since', values.since);
  if (values.until !== undefined) filter.until = instant('--until', values.until);
  if (values.tag !== undefined) {
    const tags = values.tag.map((t) => nonEmpty('--tag', t));
    if (values['all-tags']) filter.tagsAll = tags;
    else filter.tagsAny = tags;
  } else if (values['all-tags']) throw new UsageError('--all-tags needs at least one --tag');
  if (values['min-quality'] !== undefined) filter.minQuality = number('--min-quality', values['min-quality'], 'a number from 0 to 1', 0, 1);
  // The id shapes are checked by the query library (filter.ts), which names the flag's field.
  if (values.trace !== undefined) filter.traceId = nonEmpty('--trace', values.trace);
  if (values.service !== undefined) filter.service = nonEmpty('--service', values.service);
  if (values.producer !== undefined) filter.producerId = nonEmpty('--producer', values.producer);
  if (values['max-latency'] !== undefined) filter.maxLatencyMs = number('--max-latency', values['max-latency'], 'milliseconds (a number >= 0)', 0, Infinity);
  return filter;
}

function nonEmpty(flag: string, value: string): string {
  if (value.trim() === '') throw new UsageError(`${flag} "": expected a non-empty value`);
  return value;
}

export function duration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`${flag} ${text}: expected ${DURATION_HINT}`);
  return ms;
}

// "1h" means an hour before now; an RFC 3339 time is taken as is.
function instant(flag: string, text: string): Date {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(Date.now() - ms);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) return new Date(text);
  throw new UsageError(`${flag} ${text}: expected ${DURATION_HINT}, or an RFC 3339 time like 2026-11-27T10:00:00Z`);
}

function number(flag: string, text: string, expected: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} ${text}: expected ${expected}`);
  return n;
}

export function integer(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 10_000) throw new UsageError(`${flag} ${text}: expected an integer from 1 to 10000`);
  return n;
}

export function vectorName(text: string | undefined): VectorName {
  if (text === undefined || text === QUERY_VECTOR) return QUERY_VECTOR;
  if (text === RESPONSE_VECTOR) return RESPONSE_VECTOR;
  throw new UsageError(`--using ${text}: expected ${QUERY_VECTOR} or ${RESPONSE_VECTOR}`);
}

// A JSON array of numbers, or an object with query_embedding (a `witness get --json` output works as is).
export function readVectorFile(file: string): number[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--vector-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`--vector-file ${file}: expected JSON (an array of numbers, or an entry with query_embedding)`);
  }
  const vector = Array.isArray(data) ? data : (data as { query_embedding?: unknown } | null)?.query_embedding;
  if (!Array.isArray(vector) || vector.length === 0 || !vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new UsageError(`--vector-file ${file}: expected a non-empty array of finite numbers`);
  }
  return vector as number[];
}
