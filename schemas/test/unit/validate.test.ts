// Every rule of validateEntry: the error's code, field path and value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEntry, encodeEntry, InvalidEntryError, limits, validateEntry, type WitnessEntry } from '../../src/index.js';
import { WitnessError } from '@witnesslog/core';
import { fullEntry as sdkEntry, minimalEntry } from '../../../test/support/entries.js';

/** What a caller hands record(): every field set but `producer`, which is the SDK's. */
const fullEntry = (dim?: number): WitnessEntry => ({ ...sdkEntry(dim), producer: null });

type Mutation = (entry: Record<string, any>) => void;

/** Applies the mutation to a fresh full entry and checks the error validateEntry throws (and that encode refuses it too). */
function rejects(mutate: Mutation, field: string, value: unknown, reason: RegExp, dim?: number): void {
  const entry = fullEntry(dim) as unknown as Record<string, any>;
  mutate(entry);
  const check = (err: unknown): boolean => {
    assert.ok(err instanceof InvalidEntryError, `expected InvalidEntryError, got ${String(err)}`);
    assert.ok(err instanceof WitnessError);
    assert.equal(err.name, 'InvalidEntryError');
    assert.equal(err.code, 'WITNESS_INVALID_ENTRY');
    assert.equal(err.retriable, false);
    assert.equal(err.field, field);
    if (typeof value === 'number' && Number.isNaN(value)) assert.ok(Number.isNaN(err.value));
    else assert.deepStrictEqual(err.value, value);
    assert.match(err.reason, reason);
    assert.ok(err.message.startsWith(`invalid witness entry: ${field} = `), err.message);
    return true;
  };
  assert.throws(() => validateEntry(entry, dim === undefined ? undefined : { dim }), check);
  if (dim === undefined) assert.throws(() => encodeEntry(entry as WitnessEntry), check);
}

test('the full and the minimal entry are valid', () => {
  validateEntry(fullEntry());
  validateEntry(minimalEntry());
  validateEntry({ ...fullEntry(), query_embedding: Array.from({ length: 768 }, () => 0.5), response_embedding: [] });
  validateEntry(fullEntry(3), { dim: 3 });
});

test('the message names the field, the value and the rule', () => {
  const entry = fullEntry();
  entry.routing_decision.confidence = 1.5;
  assert.throws(() => validateEntry(entry), {
    message: 'invalid witness entry: routing_decision.confidence = 1.5 (must be within 0..1)',
  });
});

test('long values are cut short in the message, not in the error', () => {
  const long = 'x'.repeat(limits.sessionIdMaxChars + 1);
  assert.throws(
    () => validateEntry({ ...fullEntry(), session_id: long }),
    (err: unknown) => err instanceof InvalidEntryError && err.value === long && err.message.length < 200 && err.message.includes('…'),
  );
});

test('malformed UUIDs', () => {
  rejects((e) => (e.request_id = 'not-a-uuid'), 'request_id', 'not-a-uuid', /UUID/);
  rejects((e) => (e.request_id = '6F9619FF-8B86-4011-B42D-00C04FC964FF'), 'request_id', '6F9619FF-8B86-4011-B42D-00C04FC964FF', /lowercase/);
  rejects((e) => (e.request_id = '6f9619ff8b864011b42d00c04fc964ff'), 'request_id', '6f9619ff8b864011b42d00c04fc964ff', /UUID/);
  rejects((e) => (e.context_doc_ids[1] = 'doc-7'), 'context_doc_ids[1]', 'doc-7', /UUID/);
});

test('non-finite numbers anywhere, embeddings included, with the index', () => {
  rejects((e) => (e.quality_score = Number.NaN), 'quality_score', Number.NaN, /finite/);
  rejects((e) => (e.latency.generation_ms = Number.POSITIVE_INFINITY), 'latency.generation_ms', Number.POSITIVE_INFINITY, /finite/);
  rejects((e) => (e.routing_decision.temperature = Number.NaN), 'routing_decision.temperature', Number.NaN, /finite/);
  rejects((e) => (e.query_embedding[17] = Number.NaN), 'query_embedding[17]', Number.NaN, /finite/);
  rejects((e) => (e.response_embedding[767] = Number.NEGATIVE_INFINITY), 'response_embedding[767]', Number.NEGATIVE_INFINITY, /finite/);
  rejects((e) => (e.query_embedding = Array.from({ length: 768 }, (_, i) => (i === 5 ? Number.NaN : 0))), 'query_embedding[5]', Number.NaN, /finite/);
  // A finite double past float32's range would turn into Infinity on the wire.
  rejects((e) => (e.query_embedding = Array.from({ length: 768 }, (_, i) => (i === 9 ? 1e39 : 0))), 'query_embedding[9]', 1e39, /float32/);
});

test('wrong embedding dimension', () => {
  rejects((e) => (e.query_embedding = new Float32Array(767)), 'query_embedding', new Float32Array(767), /exactly 768 values, has 767/);
  rejects((e) => (e.query_embedding = new Float32Array(0)), 'query_embedding', new Float32Array(0), /exactly 768/);
  rejects((e) => (e.response_embedding = [0.1, 0.2]), 'response_embedding', [0.1, 0.2], /be empty or have exactly 768 values, has 2/);
  rejects((e) => (e.query_embedding = new Float32Array(768)), 'query_embedding', new Float32Array(768), /exactly 4 values/, 4);
  rejects((e) => (e.query_embedding = new Float64Array(768)), 'query_embedding', new Float64Array(768), /Float32Array or an array of numbers/);
});

test('model_probs must have exactly 4 values, each 0..1', () => {
  rejects((e) => (e.routing_decision.model_probs = [0.5, 0.5]), 'routing_decision.model_probs', [0.5, 0.5], /exactly 4 values/);
  rejects((e) => (e.routing_decision.model_probs = [0.2, 0.2, 0.2, 0.2, 0.2]), 'routing_decision.model_probs', [0.2, 0.2, 0.2, 0.2, 0.2], /exactly 4/);
  rejects((e) => (e.routing_decision.model_probs[2] = 1.01), 'routing_decision.model_probs[2]', 1.01, /within 0\.\.1/);
  rejects((e) => (e.routing_decision.model_probs[0] = '0.5'), 'routing_decision.model_probs[0]', '0.5', /must be a number/);
});

test('probabilities and scores outside 0..1', () => {
  rejects((e) => (e.routing_decision.confidence = 1.5), 'routing_decision.confidence', 1.5, /within 0\.\.1/);
  rejects((e) => (e.routing_decision.top_p = -0.1), 'routing_decision.top_p', -0.1, /within 0\.\.1/);
  rejects((e) => (e.quality_score = 1.0001), 'quality_score', 1.0001, /within 0\.\.1/);
  for (const key of ['overall_score', 'relevance', 'coherence', 'factuality']) {
    rejects((e) => (e.quality_metrics[key] = -1), `quality_metrics.${key}`, -1, /within 0\.\.1/);
  }
});

test('negative latencies and temperature, and a context size that is not an Avro int', () => {
  for (const key of ['embedding_ms', 'retrieval_ms', 'routing_ms', 'attention_ms', 'generation_ms', 'total_ms']) {
    rejects((e) => (e.latency[key] = -0.5), `latency.${key}`, -0.5, /0 or more/);
  }
  rejects((e) => (e.routing_decision.temperature = -1), 'routing_decision.temperature', -1, /0 or more/);
  rejects((e) => (e.routing_decision.context_size = 1.5), 'routing_decision.context_size', 1.5, /integer/);
  rejects((e) => (e.routing_decision.context_size = -1), 'routing_decision.context_size', -1, /integer within 0\.\./);
  rejects((e) => (e.routing_decision.context_size = 2 ** 31), 'routing_decision.context_size', 2 ** 31, /integer within/);
});

test('unknown enum values', () => {
  rejects((e) => (e.model_used = 'huge'), 'model_used', 'huge', /one of tiny, small, medium, large/);
  rejects((e) => (e.routing_decision.model = 'Small'), 'routing_decision.model', 'Small', /one of/);
});

test('too many or too long tags, empty tags', () => {
  const many = Array.from({ length: limits.tagsMaxCount + 1 }, (_, i) => `t${i}`);
  rejects((e) => (e.tags = many), 'tags', many, /at most 32 entries, has 33/);
  const long = 'x'.repeat(limits.tagMaxChars + 1);
  rejects((e) => (e.tags[1] = long), 'tags[1]', long, /at most 128 characters/);
  rejects((e) => (e.tags[0] = ''), 'tags[0]', '', /empty/);
  rejects((e) => (e.tags[2] = 7), 'tags[2]', 7, /must be a string/);
});

test('oversize strings and lists', () => {
  const cases: Array<[string, Mutation, number]> = [
    ['session_id', (e) => (e.session_id = 'x'.repeat(limits.sessionIdMaxChars + 1)), limits.sessionIdMaxChars],
    ['error.code', (e) => (e.error.code = 'x'.repeat(limits.errorCodeMaxChars + 1)), limits.errorCodeMaxChars],
    ['error.message', (e) => (e.error.message = 'x'.repeat(limits.errorMessageMaxChars + 1)), limits.errorMessageMaxChars],
    ['error.stack_trace', (e) => (e.error.stack_trace = 'x'.repeat(limits.stackTraceMaxChars + 1)), limits.stackTraceMaxChars],
  ];
  for (const [field, mutate, max] of cases) {
    const entry = fullEntry() as unknown as Record<string, any>;
    mutate(entry);
    const value = field.split('.').reduce((o, k) => o[k], entry);
    rejects(mutate, field, value, new RegExp(`at most ${max} characters`));
  }
  const docs = Array.from({ length: limits.contextDocIdsMaxCount + 1 }, () => '0b5e5bd6-9a4c-4f57-8d5a-3c6f0e7b1a2d');
  rejects((e) => (e.context_doc_ids = docs), 'context_doc_ids', docs, /at most 256 entries/);
  rejects((e) => (e.session_id = ''), 'session_id', '', /empty/);
  // At the limits exactly, the entry is fine.
  validateEntry({
    ...fullEntry(),
    session_id: 'x'.repeat(limits.sessionIdMaxChars),
    tags: Array.from({ length: limits.tagsMaxCount }, () => 'x'.repeat(limits.tagMaxChars)),
    context_doc_ids: docs.slice(1),
  });
});

test('timestamps that are not a valid date, not UTC, or too precise', () => {
  rejects((e) => (e.timestamp = '2026-02-30T00:00:00.000000Z'), 'timestamp', '2026-02-30T00:00:00.000000Z', /not a valid date/);
  rejects((e) => (e.timestamp = '2026-13-01T00:00:00Z'), 'timestamp', '2026-13-01T00:00:00Z', /not a valid date/);
  rejects((e) => (e.timestamp = '2026-11-23T24:00:00Z'), 'timestamp', '2026-11-23T24:00:00Z', /time of day/);
  rejects((e) => (e.timestamp = '2026-11-23T21:57:52.123456+01:00'), 'timestamp', '2026-11-23T21:57:52.123456+01:00', /RFC 3339 UTC/);
  rejects((e) => (e.timestamp = '2026-11-23T21:57:52.1234567Z'), 'timestamp', '2026-11-23T21:57:52.1234567Z', /at most 6 fractional digits/);
  rejects((e) => (e.timestamp = 'yesterday'), 'timestamp', 'yesterday', /RFC 3339/);
  rejects((e) => (e.timestamp = 1_795_000_000_000_000), 'timestamp', 1_795_000_000_000_000, /RFC 3339/);
  rejects((e) => (e.timestamp = '3000-01-01T00:00:00Z'), 'timestamp', '3000-01-01T00:00:00Z', /2255-06-05/);
  validateEntry({ ...fullEntry(), timestamp: '2024-02-29T23:59:59Z' });
});

test('wrong types', () => {
  rejects((e) => (e.quality_score = '0.5'), 'quality_score', '0.5', /must be a number/);
  rejects((e) => (e.session_id = 42), 'session_id', 42, /must be a string/);
  rejects((e) => (e.routing_decision = 'small'), 'routing_decision', 'small', /must be an object/);
  rejects((e) => (e.tags = 'prod'), 'tags', 'prod', /must be an array/);
  rejects((e) => (e.error.recovery_attempted = 'yes'), 'error.recovery_attempted', 'yes', /boolean/);
  rejects((e) => (e.error = 'boom'), 'error', 'boom', /object or null/);
  rejects((e) => (e.quality_metrics = []), 'quality_metrics', [], /object or null/);
  rejects((e) => (e.query_embedding = 'vector'), 'query_embedding', 'vector', /Float32Array or an array of numbers/);
  rejects((e) => (e.query_embedding = Array.from({ length: 768 }, (_, i) => (i === 3 ? '1' : 0))), 'query_embedding[3]', '1', /must be a number/);
  assert.throws(() => validateEntry(null), { field: 'entry', reason: 'must be an object' });
});

test('missing required fields are refused, naming the field', () => {
  rejects((e) => delete e.request_id, 'request_id', undefined, /^is required$/);
  rejects((e) => delete e.latency, 'latency', undefined, /^is required$/);
  rejects((e) => delete e.latency.total_ms, 'latency.total_ms', undefined, /^is required$/);
  rejects((e) => delete e.routing_decision.model_probs, 'routing_decision.model_probs', undefined, /^is required$/);
  rejects((e) => delete e.response_embedding, 'response_embedding', undefined, /^is required$/);
  rejects((e) => delete e.timestamp, 'timestamp', undefined, /^is required$/);
  rejects((e) => delete e.error.code, 'error.code', undefined, /^is required$/);
  rejects((e) => delete e.error.recovery_attempted, 'error.recovery_attempted', undefined, /^is required$/);
  rejects((e) => delete e.quality_metrics.relevance, 'quality_metrics.relevance', undefined, /^is required$/);
});

test('fields with a schema default may be left out: validated, encoded and decoded with the default (issue 14)', () => {
  const withDefaults = ['error', 'quality_metrics', 'tags', 'trace', 'usage'] as const;
  for (const left of [...withDefaults.map((f) => [f]), [...withDefaults], ['error.stack_trace']]) {
    const entry = fullEntry() as unknown as Record<string, any>;
    for (const field of left) {
      if (field === 'error.stack_trace') delete entry.error.stack_trace;
      else delete entry[field];
    }
    validateEntry(entry);
    const decoded = decodeEntry(encodeEntry(entry as WitnessEntry)) as unknown as Record<string, any>;
    for (const field of left) {
      if (field === 'error.stack_trace') assert.equal(decoded.error.stack_trace, null);
      else assert.deepEqual(decoded[field], field === 'tags' ? [] : null, field);
    }
    for (const field of withDefaults) {
      if (!(left as readonly string[]).includes(field) && !(field === 'error' && left[0] === 'error.stack_trace')) assert.deepEqual(decoded[field], fullEntry()[field], `${field} kept`);
    }
  }
  // Present but wrong is still refused, naming the field.
  rejects((e) => (e.error = { code: 'X', message: 'm', recovery_attempted: false, stack_trace: 7 }), 'error.stack_trace', 7, /string or null/);
  rejects((e) => (e.tags = null), 'tags', null, /must be an array/);
});

test('the dim option is itself checked', () => {
  assert.throws(() => validateEntry(fullEntry(), { dim: 0 }), { code: 'WITNESS_INVALID_OPTION' });
  assert.throws(() => validateEntry(fullEntry(), { dim: limits.embeddingMaxDim + 1 }), { code: 'WITNESS_INVALID_OPTION' });
});

test('trace ids: 32 and 16 lowercase hex digits, not all zeros; trace itself an object or null', () => {
  const trace = sdkEntry().trace!;
  for (const bad of ['0'.repeat(32), trace.trace_id.toUpperCase(), trace.trace_id.slice(1), `${trace.trace_id}0`, `${trace.trace_id.slice(1)}g`, 7]) {
    rejects((e) => (e.trace = { ...trace, trace_id: bad }), 'trace.trace_id', bad, /32 lowercase hex digits, not all zeros/);
  }
  for (const bad of ['0'.repeat(16), trace.span_id.toUpperCase(), trace.span_id.slice(1), null]) {
    rejects((e) => (e.trace = { ...trace, span_id: bad }), 'trace.span_id', bad, /16 lowercase hex digits, not all zeros/);
  }
  rejects((e) => (e.trace = { span_id: trace.span_id }), 'trace.trace_id', undefined, /is required/);
  rejects((e) => (e.trace = 'x'), 'trace', 'x', /must be an object or null/);
  validateEntry({ ...fullEntry(), trace: null });
  validateEntry({ ...fullEntry(), trace: { trace_id: `${'0'.repeat(31)}1`, span_id: `${'0'.repeat(15)}1` } });
});

test('token counts: integers within 0..2^31-1 (Avro int)', () => {
  for (const bad of [-1, 2 ** 31, 1.5, Number.NaN, '5', null]) {
    rejects((e) => (e.usage = { prompt_tokens: bad, completion_tokens: 0 }), 'usage.prompt_tokens', bad, /integer within 0\.\.2147483647/);
    rejects((e) => (e.usage = { prompt_tokens: 0, completion_tokens: bad }), 'usage.completion_tokens', bad, /integer within 0\.\.2147483647/);
  }
  rejects((e) => (e.usage = [1, 2]), 'usage', [1, 2], /must be an object or null/);
  validateEntry({ ...fullEntry(), usage: { prompt_tokens: 0, completion_tokens: 2 ** 31 - 1 } });
});

test('producer: refused from the caller (absent or null is fine), checked like any field in an entry the SDK completed', () => {
  const identity = sdkEntry().producer!;
  assert.throws(() => validateEntry(sdkEntry()), { code: 'WITNESS_INVALID_ENTRY', field: 'producer', value: identity, reason: 'is set by the SDK, never by the caller' });
  assert.throws(() => validateEntry({ ...fullEntry(), producer: 'me' }), { field: 'producer', value: 'me' });
  const { producer: _, ...absent } = fullEntry();
  validateEntry(absent);
  validateEntry(fullEntry());
  validateEntry(sdkEntry(), { origin: 'sdk' });
  const sdk = (producer: unknown) => () => validateEntry({ ...sdkEntry(), producer }, { origin: 'sdk' });
  assert.throws(sdk({ ...identity, id: 'not-a-uuid' }), { field: 'producer.id', value: 'not-a-uuid' });
  assert.throws(sdk({ ...identity, seq: -1 }), { field: 'producer.seq', value: -1 });
  assert.throws(sdk({ ...identity, seq: 0.5 }), { field: 'producer.seq', value: 0.5 });
  assert.throws(sdk({ ...identity, service: '' }), { field: 'producer.service', reason: 'must not be empty' });
  assert.throws(sdk({ ...identity, host: 'h'.repeat(limits.producerHostMaxChars + 1) }), { field: 'producer.host', reason: /at most 256 characters/ });
  assert.throws(sdk(7), { field: 'producer', reason: 'must be an object or null' });
  validateEntry({ ...sdkEntry(), producer: { ...identity, service: 's'.repeat(limits.producerServiceMaxChars) } }, { origin: 'sdk' });
});
