// The helpers around an entry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  computeLatencyTotal,
  createWitnessEntry,
  defaultRoutingDecision,
  exceedsLatencyThreshold,
  isSuccess,
  meetsQualityThreshold,
  slowestComponent,
  timestampToMicros,
  validateEntry,
  withError,
  withLatency,
  withQuality,
  type LatencyBreakdown,
} from '../../src/index.js';
import { vector } from '../../../test/support/entries.js';

const latency: LatencyBreakdown = { embedding_ms: 5, retrieval_ms: 20, routing_ms: 1, attention_ms: 30, generation_ms: 100, total_ms: 160 };

test('defaultRoutingDecision: small, 0, 0.7, 0.9, 0.5, uniform', () => {
  assert.deepStrictEqual(defaultRoutingDecision(), {
    model: 'small',
    context_size: 0,
    temperature: 0.7,
    top_p: 0.9,
    confidence: 0.5,
    model_probs: [0.25, 0.25, 0.25, 0.25],
  });
  assert.notEqual(defaultRoutingDecision().model_probs, defaultRoutingDecision().model_probs, 'a fresh object each time');
});

test('createWitnessEntry: new id, now, model from the routing decision, empty everything else, valid', () => {
  const query = vector(768);
  const routing = { ...defaultRoutingDecision(), model: 'large' as const };
  const before = Date.now() * 1000;
  const entry = createWitnessEntry('session-1', query, routing);
  const after = Date.now() * 1000 + 1000;

  assert.match(entry.request_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(createWitnessEntry('session-1', query).request_id, entry.request_id);
  assert.equal(entry.session_id, 'session-1');
  assert.equal(entry.query_embedding, query, 'kept by reference');
  assert.equal(entry.routing_decision, routing);
  assert.equal(entry.model_used, 'large');
  assert.equal(entry.quality_score, 0);
  assert.deepStrictEqual(entry.latency, { embedding_ms: 0, retrieval_ms: 0, routing_ms: 0, attention_ms: 0, generation_ms: 0, total_ms: 0 });
  assert.deepStrictEqual([entry.context_doc_ids, entry.response_embedding, entry.tags], [[], [], []]);
  assert.equal(entry.error, null);
  assert.equal(entry.quality_metrics, null);
  const micros = timestampToMicros(entry.timestamp);
  assert.ok(micros >= before - 2000 && micros <= after, `${entry.timestamp} is now`);
  assert.equal(createWitnessEntry('s', query).model_used, 'small', 'default routing decision');
  validateEntry(entry);
});

test('with* helpers return a new entry and leave the old one alone', () => {
  const entry = createWitnessEntry('s', vector(768));
  const metrics = { overall_score: 0.8, relevance: 0.7, coherence: 0.9, factuality: 0.6 };

  const scored = withQuality(entry, 0.8, metrics);
  assert.equal(scored.quality_score, 0.8);
  assert.equal(scored.quality_metrics, metrics);
  assert.equal(entry.quality_score, 0);
  assert.equal(withQuality(scored, 0.3).quality_metrics, metrics, 'metrics kept when not given');
  assert.equal(withQuality(scored, 0.3, null).quality_metrics, null, 'null clears them');

  const timed = withLatency(entry, { embedding_ms: 5, retrieval_ms: 20, routing_ms: 1, attention_ms: 30, generation_ms: 100 });
  assert.equal(timed.latency.total_ms, 156, 'total filled in from the parts');
  assert.equal(withLatency(entry, latency).latency.total_ms, 160, 'a given total is kept');
  assert.equal(entry.latency.total_ms, 0);

  const failed = withError(entry, { code: 'OOM', message: 'out of memory' });
  assert.deepStrictEqual(failed.error, { code: 'OOM', message: 'out of memory', stack_trace: null, recovery_attempted: false });
  assert.equal(entry.error, null);
  validateEntry(failed);
});

test('isSuccess and meetsQualityThreshold', () => {
  const entry = createWitnessEntry('s', vector(768));
  assert.equal(isSuccess(entry), true);
  assert.equal(isSuccess(withError(entry, { code: 'E', message: 'm', recovery_attempted: true })), false);
  assert.equal(meetsQualityThreshold(withQuality(entry, 0.7), 0.7), true, 'threshold is inclusive');
  assert.equal(meetsQualityThreshold(withQuality(entry, 0.69), 0.7), false);
  assert.equal(meetsQualityThreshold(entry, 0.01), false, 'unscored entries fail');
});

test('computeLatencyTotal, slowestComponent, exceedsLatencyThreshold', () => {
  assert.equal(computeLatencyTotal(latency), 156);
  assert.equal(slowestComponent(latency), 'generation');
  assert.equal(slowestComponent({ ...latency, retrieval_ms: 500 }), 'retrieval');
  assert.equal(slowestComponent({ embedding_ms: 1, retrieval_ms: 1, routing_ms: 1, attention_ms: 1, generation_ms: 1 }), 'embedding', 'ties go to the earlier stage');
  assert.equal(exceedsLatencyThreshold(latency, 159.9), true);
  assert.equal(exceedsLatencyThreshold(latency, 160), false, 'strictly above');
  const entry = withLatency(createWitnessEntry('s', vector(768)), latency);
  assert.equal(exceedsLatencyThreshold(entry, 100), true, 'takes a whole entry too');
});
