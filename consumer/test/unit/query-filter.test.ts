// The filter and duration parsing on their own: the exact Qdrant conditions,
// and errors that name the field and the value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueryInputError, parseDuration, toQdrantFilter } from '@witnesslog/consumer/query';

test('each WitnessFilter field becomes one indexed condition', () => {
  assert.equal(toQdrantFilter({}), undefined);
  assert.deepEqual(
    toQdrantFilter({
      sessionId: 's',
      model: ['a', 'b'],
      success: false,
      errorCode: 'E',
      since: '2026-11-27T10:00:00Z',
      until: new Date('2026-11-27T11:00:00Z'),
      tagsAny: ['x', 'y'],
      tagsAll: ['p', 'q'],
      minQuality: 0.5,
      maxLatencyMs: 250,
    }),
    {
      must: [
        { key: 'session_id', match: { value: 's' } },
        { key: 'model_used', match: { any: ['a', 'b'] } },
        { key: 'is_success', match: { value: false } },
        { key: 'error.code', match: { value: 'E' } },
        { key: 'timestamp', range: { gte: '2026-11-27T10:00:00.000Z', lt: '2026-11-27T11:00:00.000Z' } },
        { key: 'tags', match: { any: ['x', 'y'] } },
        { key: 'tags', match: { value: 'p' } },
        { key: 'tags', match: { value: 'q' } },
        { key: 'quality_score', range: { gte: 0.5 } },
        { key: 'latency.total_ms', range: { lte: 250 } },
      ],
    },
  );
  assert.deepEqual(toQdrantFilter({ model: 'a' }), { must: [{ key: 'model_used', match: { value: 'a' } }] });
});

test('bad filter values are named with their value', () => {
  assert.throws(() => toQdrantFilter({ since: 'last week' }), (err: unknown) => err instanceof QueryInputError && err.field === 'since' && /since "last week": expected a date/.test(err.message));
  assert.throws(() => toQdrantFilter({ minQuality: Number.NaN }), /minQuality NaN: expected a finite number/);
  assert.throws(() => toQdrantFilter({ sessionId: '' }), /sessionId "": expected a non-empty string/);
  assert.throws(() => toQdrantFilter({ model: [] }), /model \[\]: expected at least one model name/);
});

test('durations', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('15m'), 900_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('2w'), 1_209_600_000);
  for (const bad of ['', '1x', 'h', '1.5h', '-1h', '0m', '1 h']) assert.equal(parseDuration(bad), undefined, bad);
});

test('the v2 filters: trace id, service and producer id, each an indexed keyword; ids lowercased, bad ones named', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const producerId = '5f0c6a1e-2b7d-4c3a-9e8f-1a2b3c4d5e6f';
  assert.deepEqual(toQdrantFilter({ traceId: traceId.toUpperCase(), service: 'api', producerId: producerId.toUpperCase() }), {
    must: [
      { key: 'trace.trace_id', match: { value: traceId } },
      { key: 'producer.service', match: { value: 'api' } },
      { key: 'producer.id', match: { value: producerId } },
    ],
  });
  for (const bad of ['', '0'.repeat(32), traceId.slice(1), `${traceId}-x`]) {
    assert.throws(() => toQdrantFilter({ traceId: bad }), (err: unknown) => err instanceof QueryInputError && err.field === 'traceId' && err.message.includes('32 hex digits'));
  }
  assert.throws(() => toQdrantFilter({ producerId: 'instance-7' }), { field: 'producerId', message: /instance-7.*UUID/ });
  assert.throws(() => toQdrantFilter({ service: '' }), { field: 'service' });
});
