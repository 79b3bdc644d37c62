// What the `witness` command prints: tables round latencies and scores to what a
// person reads (float32 values and their sums otherwise print 16 digits), while
// --json keeps every number exactly as stored.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entriesTable, entryDetail, hitsTable, json, ms, recordJson, score } from '../../src/cli/format.js';
import type { WitnessRecord } from '../../src/store/point.js';
import { testEntry } from '../../../test/support/entries.js';

const LATENCY = 1052.6832745685242;
const QUALITY = 0.8199999928474426; // 0.82 as float32 reads back
const SCORE = 0.987654321;

function record(): WitnessRecord {
  const e = testEntry(4, 1);
  return {
    ...e,
    query_embedding: undefined,
    response_embedding: undefined,
    quality_score: QUALITY,
    routing_decision: { ...e.routing_decision, confidence: 0.30000001192092896 },
    latency: { ...e.latency, generation_ms: 1000.0499999, total_ms: LATENCY },
  };
}

/** The cells of the table's only data row, split on the column gaps. */
const dataRow = (text: string) => text.trimEnd().split('\n')[1]!.trim().split(/\s{2,}/);

describe('rounding', () => {
  test('milliseconds to one decimal, scores to three', () => {
    assert.equal(ms(LATENCY), 1052.7);
    assert.equal(ms(3), 3);
    assert.equal(ms(0.04), 0);
    assert.equal(score(QUALITY), 0.82);
    assert.equal(score(SCORE), 0.988);
    assert.equal(score(-0.0001), 0, 'no "-0" in a table');
    assert.ok(Number.isNaN(ms(Number.NaN)), 'a corrupt value is shown, not hidden as 0');
  });
});

describe('tables', () => {
  test('list: quality and total latency rounded', () => {
    const cells = dataRow(entriesTable([record()]));
    assert.deepEqual(cells.slice(-2), ['0.82', '1052.7']);
  });

  test('search: the score rounded too', () => {
    const cells = dataRow(hitsTable([{ score: SCORE, entry: record() }]));
    assert.equal(cells[1], '0.988');
    assert.deepEqual(cells.slice(-2), ['0.82', '1052.7']);
  });

  test('show: every latency part, the quality and the confidence rounded', () => {
    const text = entryDetail(record());
    assert.match(text, /^latency_ms\s+.*generation=1000 .*total=1052\.7$/m);
    assert.match(text, /^quality_score\s+0\.82$/m);
    assert.match(text, /confidence 0\.3,/);
    const numbers = text.split('\n').filter((line) => !line.startsWith('timestamp')).join('\n');
    assert.doesNotMatch(numbers, /\d\.\d{4,}/, 'no long decimals anywhere');
  });
});

describe('--json', () => {
  test('keeps full precision', () => {
    const out = JSON.parse(json([{ score: SCORE, entry: recordJson(record()) }])) as Array<{ score: number; entry: WitnessRecord }>;
    assert.equal(out[0]!.score, SCORE);
    assert.equal(out[0]!.entry.quality_score, QUALITY);
    assert.equal(out[0]!.entry.latency.total_ms, LATENCY);
  });
});
