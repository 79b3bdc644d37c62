// What the `witness` command prints: aligned tables for people, JSON for
// scripts. JSON carries the embeddings as plain arrays (JSON.stringify writes a
// Float32Array as an object of indices) and every number at full precision;
// tables round them (latencies and scores are float32 or sums of them, so
// `1052.6832745685242` says nothing `1052.7` does not).
import type { WitnessRecord } from '../store/point.js';
import type { SearchHit, WitnessStats } from '../query/query.js';

export function recordJson(record: WitnessRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  if (record.query_embedding) out.query_embedding = Array.from(record.query_embedding);
  if (record.response_embedding) out.response_embedding = Array.from(record.response_embedding);
  return out;
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  return cells
    .map((r) => r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd())
    .join('\n')
    .concat('\n');
}

/** Milliseconds in a table: one decimal is below any latency worth reading. */
export const ms = (value: number): number => round(value, 1);
/** Scores, qualities, confidences (0..1): three decimals tell apart what ranks differently. */
export const score = (value: number): number => round(value, 3);

function round(value: number, decimals: number): number {
  // Non-finite values (a corrupt payload) are shown as they are, not hidden as 0.
  if (!Number.isFinite(value)) return value;
  const rounded = Number(value.toFixed(decimals));
  return Object.is(rounded, -0) ? 0 : rounded;
}

const ENTRY_COLUMNS = ['request_id', 'timestamp', 'session', 'model', 'outcome', 'quality', 'latency_ms'];

function entryCells(e: WitnessRecord): Array<string | number> {
  return [e.request_id, e.timestamp, e.session_id, e.model_used, e.error ? `error ${e.error.code}` : 'ok', score(e.quality_score), ms(e.latency.total_ms)];
}

export function entriesTable(entries: WitnessRecord[]): string {
  return table(ENTRY_COLUMNS, entries.map(entryCells));
}

export function hitsTable(hits: SearchHit[]): string {
  return table(['rank', 'score', ...ENTRY_COLUMNS], hits.map((h, i) => [i + 1, score(h.score), ...entryCells(h.entry)]));
}

/** One entry, field by field; embeddings summarised, not dumped. */
export function entryDetail(e: WitnessRecord): string {
  const dims = (v: Float32Array | undefined) => (v === undefined ? '-' : v.length === 0 ? 'none' : `${v.length} dims`);
  const rows: Array<[string, string]> = [
    ['request_id', e.request_id],
    ['timestamp', e.timestamp],
    ['session_id', e.session_id],
    ['model_used', e.model_used],
    ['routing', `${e.routing_decision.model} (confidence ${score(e.routing_decision.confidence)}, context ${e.routing_decision.context_size})`],
    ['outcome', e.error ? `error ${e.error.code}: ${e.error.message}` : 'ok'],
    ['quality_score', String(score(e.quality_score))],
    ['latency_ms', Object.entries(e.latency).map(([k, v]) => `${k.replace(/_ms$/, '')}=${ms(v)}`).join(' ')],
    ['tags', e.tags.join(', ') || '-'],
    ['context_docs', String(e.context_doc_ids.length)],
    ['query_embedding', dims(e.query_embedding)],
    ['response_embedding', dims(e.response_embedding)],
    // Schema v2; null in entries a v1 producer wrote.
    ['producer', e.producer ? `${e.producer.service} on ${e.producer.host} (instance ${e.producer.id}, seq ${e.producer.seq})` : '-'],
    ['trace', e.trace ? `${e.trace.trace_id} span ${e.trace.span_id}` : '-'],
    ['usage', e.usage ? `prompt ${e.usage.prompt_tokens} tokens, completion ${e.usage.completion_tokens}` : '-'],
  ];
  return table(['field', 'value'], rows).split('\n').slice(1).join('\n');
}

export function statsTable(stats: WitnessStats): string {
  const rate = stats.successRate === null ? '-' : `${(stats.successRate * 100).toFixed(1)}%`;
  let out = table(['total', 'success', 'error', 'success_rate'], [[stats.total, stats.success, stats.error, rate]]);
  const sorted = (counts: Record<string, number>) => Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (Object.keys(stats.byModel).length > 0) out += `\n${table(['model_used', 'entries'], sorted(stats.byModel))}`;
  if (Object.keys(stats.byErrorCode).length > 0) out += `\n${table(['error_code', 'entries'], sorted(stats.byErrorCode))}`;
  return out;
}
