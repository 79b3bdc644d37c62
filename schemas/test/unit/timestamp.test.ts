// RFC 3339 strings with microseconds <-> microseconds since the epoch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidEntryError, nowMicros, nowTimestamp, timestampFromMicros, timestampToMicros } from '../../src/index.js';

test('known instants', () => {
  assert.equal(timestampFromMicros(0), '1970-01-01T00:00:00.000000Z');
  assert.equal(timestampFromMicros(-1), '1969-12-31T23:59:59.999999Z');
  assert.equal(timestampFromMicros(951_782_400_000_000), '2000-02-29T00:00:00.000000Z');
  assert.equal(timestampFromMicros(1_795_471_072_123_456), '2026-11-23T21:57:52.123456Z');
  assert.equal(timestampToMicros('2026-11-23T21:57:52.123456Z'), 1_795_471_072_123_456);
  assert.equal(timestampToMicros('2026-11-23T21:57:52Z'), 1_795_471_072_000_000);
  assert.equal(timestampToMicros('2026-11-23T21:57:52.1Z'), 1_795_471_072_100_000);
});

test('formatting agrees with Date#toISOString over the whole range, and parsing inverts it', () => {
  const max = 9_007_199_254_740_990;
  for (let i = 0; i < 20_000; i++) {
    const micros = Math.floor((Math.random() * 2 - 1) * max);
    const ms = Math.floor(micros / 1000);
    const iso = new Date(ms).toISOString();
    const text = timestampFromMicros(micros);
    assert.equal(text, `${iso.slice(0, 23)}${String(micros - ms * 1000).padStart(3, '0')}Z`);
    assert.equal(timestampToMicros(text), micros);
  }
  assert.equal(timestampFromMicros(max), '2255-06-05T23:47:34.740990Z');
  assert.equal(timestampFromMicros(-max), '1684-07-28T00:12:25.259010Z');
});

test('out of range and non-integers are refused', () => {
  for (const bad of [9_007_199_254_740_991, Number.NaN, 1.5, Number.POSITIVE_INFINITY]) {
    assert.throws(() => timestampFromMicros(bad), { code: 'WITNESS_INVALID_ENTRY', field: 'timestamp' });
  }
  assert.throws(() => timestampToMicros('0099-01-01T00:00:00Z'), InvalidEntryError, 'Date.UTC would read year 99 as 1999');
  assert.throws(() => timestampToMicros('2023-02-29T00:00:00Z'), /not a valid date/);
  assert.throws(() => timestampToMicros('2026-11-23 21:57:52Z'), /RFC 3339/);
  assert.throws(() => timestampToMicros('2026-11-23T21:57:52.Z'), /RFC 3339/);
  assert.throws(() => timestampToMicros('2026-11-23T21:5a:52Z'), /RFC 3339/);
});

test('nowTimestamp is wall-clock time with microseconds', () => {
  const before = Date.now() * 1000;
  const now = nowTimestamp();
  const after = Date.now() * 1000 + 1000;
  assert.match(now, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  const micros = timestampToMicros(now);
  assert.ok(micros >= before - 1000 && micros <= after + 1000, `${now} within a millisecond of Date.now()`);
  // Sub-millisecond digits are real: many readings in a row are not all multiples of 1000.
  const readings = Array.from({ length: 50 }, () => nowMicros());
  assert.ok(readings.some((m) => m % 1000 !== 0));
});
