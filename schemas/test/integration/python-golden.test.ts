// Golden messages between the TypeScript codec and the Python SDK (producer/python):
// witness-entry.v1.python.hex was written by the Python codec (its pytest
// test_codec.py checks it still writes exactly these bytes), and
// witness-entry.v1.typescript.hex by this codec, which the Python tests decode.
// WITNESSLOG_WRITE_FIXTURES=1 rewrites the TypeScript one.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { createCodec, type WitnessEntry } from '../../src/index.js';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const read = (name: string) => Buffer.from(readFileSync(fixture(name), 'utf8').trim(), 'hex');

/** The same values as golden_entry() in producer/python/tests/test_codec.py. */
function goldenEntry(): WitnessEntry {
  return {
    request_id: '6f9619ff-8b86-4011-b42d-00c04fc964ff',
    session_id: 'session-4f1c2a',
    query_embedding: new Float32Array([0.5, -1.25, 3.0, 0.1]),
    routing_decision: { model: 'medium', context_size: 4096, temperature: 0.7, top_p: 0.9, confidence: 0.83, model_probs: [0.05, 0.12, 0.71, 0.12] },
    model_used: 'large',
    quality_score: 0.91,
    latency: { embedding_ms: 3.2, retrieval_ms: 11.8, routing_ms: 0.4, attention_ms: 41.5, generation_ms: 812.3, total_ms: 870.1 },
    context_doc_ids: ['0b5e5bd6-9a4c-4f57-8d5a-3c6f0e7b1a2d', '00000000-0000-0000-0000-000000000000'],
    response_embedding: new Float32Array([0.25, 0.5, -0.75, 1.0]),
    timestamp: '2026-11-23T21:57:52.123456Z',
    error: {
      code: 'UPSTREAM_TIMEOUT',
      message: 'retrieval timed out after 10 ms; served without context — ünïcödé ✓',
      stack_trace: 'Traceback (most recent call last):\n  File "serve.py", line 42',
      recovery_attempted: true,
    },
    quality_metrics: { overall_score: 0.91, relevance: 0.88, coherence: 0.95, factuality: 0.9 },
    tags: ['prod', 'eu-west-1', 'zürich'],
  };
}

test('decodes the message the Python SDK wrote', () => {
  assert.deepStrictEqual(createCodec({ dim: 4 }).decode(read('witness-entry.v1.python.hex')), goldenEntry());
});

test('writes exactly the bytes the Python tests decode', () => {
  const message = createCodec({ dim: 4 }).encode(goldenEntry());
  if (process.env.WITNESSLOG_WRITE_FIXTURES === '1') writeFileSync(fixture('witness-entry.v1.typescript.hex'), `${message.toString('hex')}\n`);
  assert.deepStrictEqual(message, read('witness-entry.v1.typescript.hex'));
});
