// The questions a postmortem asks of the log, as one Qdrant filter. Every
// condition reads a payload field that collection.ts indexes (PAYLOAD_INDEXES),
// so a filter is answered from the indexes, never by scanning payloads.
import type { Schemas } from '@qdrant/js-client-rest';
import { QueryInputError } from '../errors.js';

export interface WitnessFilter {
  sessionId?: string;
  /** model_used; several means any of them. */
  model?: string | readonly string[];
  /** true: successful requests only; false: failed ones only. */
  success?: boolean;
  /** error.code (implies a failure). */
  errorCode?: string;
  /** Inclusive lower bound on the entry's timestamp. */
  since?: Date | string;
  /** Exclusive upper bound on the entry's timestamp. */
  until?: Date | string;
  /** Entries carrying at least one of these tags. */
  tagsAny?: readonly string[];
  /** Entries carrying every one of these tags. */
  tagsAll?: readonly string[];
  minQuality?: number;
  /** latency.total_ms at most this. */
  maxLatencyMs?: number;
  /** trace.trace_id: the entries of one distributed trace (32 hex digits; case does not matter). */
  traceId?: string;
  /** producer.service: the service that wrote the entries. */
  service?: string;
  /** producer.id: the entries of one SDK instance (a UUID; case does not matter). */
  producerId?: string;
}

export type QdrantFilter = Schemas['Filter'];
export type QdrantCondition = Schemas['Condition'];

/** The Qdrant filter for `filter`; undefined when it asks for nothing. Throws QueryInputError on a bad value. */
export function toQdrantFilter(filter: WitnessFilter = {}, extra: QdrantCondition[] = []): QdrantFilter | undefined {
  const must: QdrantCondition[] = [];
  if (filter.sessionId !== undefined) must.push({ key: 'session_id', match: { value: text('sessionId', filter.sessionId) } });
  if (filter.model !== undefined) {
    const models = typeof filter.model === 'string' ? [filter.model] : [...filter.model];
    if (models.length === 0) throw new QueryInputError('model', [], 'at least one model name');
    models.forEach((m) => text('model', m));
    must.push({ key: 'model_used', match: models.length === 1 ? { value: models[0]! } : { any: models } });
  }
  if (filter.success !== undefined) {
    if (typeof filter.success !== 'boolean') throw new QueryInputError('success', filter.success, 'true or false');
    must.push({ key: 'is_success', match: { value: filter.success } });
  }
  if (filter.errorCode !== undefined) must.push({ key: 'error.code', match: { value: text('errorCode', filter.errorCode) } });
  if (filter.since !== undefined || filter.until !== undefined) {
    const range: { gte?: string; lt?: string } = {};
    if (filter.since !== undefined) range.gte = instant('since', filter.since);
    if (filter.until !== undefined) range.lt = instant('until', filter.until);
    must.push({ key: 'timestamp', range });
  }
  if (filter.tagsAny !== undefined && filter.tagsAny.length > 0) {
    must.push({ key: 'tags', match: { any: filter.tagsAny.map((t) => text('tagsAny', t)) } });
  }
  // "All of" is one match per tag: Qdrant's array match is "any element equals".
  for (const tag of filter.tagsAll ?? []) must.push({ key: 'tags', match: { value: text('tagsAll', tag) } });
  if (filter.minQuality !== undefined) must.push({ key: 'quality_score', range: { gte: finite('minQuality', filter.minQuality) } });
  if (filter.maxLatencyMs !== undefined) must.push({ key: 'latency.total_ms', range: { lte: finite('maxLatencyMs', filter.maxLatencyMs) } });
  if (filter.traceId !== undefined) must.push({ key: 'trace.trace_id', match: { value: shaped('traceId', filter.traceId, TRACE_ID, '32 hex digits (a W3C trace id), not all zeros') } });
  if (filter.service !== undefined) must.push({ key: 'producer.service', match: { value: text('service', filter.service) } });
  if (filter.producerId !== undefined) must.push({ key: 'producer.id', match: { value: shaped('producerId', filter.producerId, UUID, 'a UUID (8-4-4-4-12 hex digits)') } });
  must.push(...extra);
  return must.length === 0 ? undefined : { must };
}

function text(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new QueryInputError(field, value, 'a non-empty string');
  return value;
}

// Stored ids are lowercase (the schema's rule): an id typed in capitals still finds them.
const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function shaped(field: string, value: unknown, pattern: RegExp, expected: string): string {
  const id = typeof value === 'string' ? value.toLowerCase() : value;
  if (typeof id !== 'string' || !pattern.test(id)) throw new QueryInputError(field, value, expected);
  return id;
}

function finite(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new QueryInputError(field, value, 'a finite number');
  return value;
}

// RFC 3339 in UTC, the form the datetime index compares; a Date or any string Date parses.
function instant(field: string, value: Date | string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new QueryInputError(field, value instanceof Date ? 'Invalid Date' : value, 'a date (RFC 3339, e.g. 2026-11-27T10:00:00Z)');
  return date.toISOString();
}
