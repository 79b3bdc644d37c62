// The trace of an entry the caller gave none, taken from OpenTelemetry: the real
// API, SDK tracer provider and async-hooks context manager (devDependencies of
// the producer), registered in this test process only (node --test runs each
// file in its own process). Against the fake Kafka client: no socket.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { context, INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createCodec, type DecodedWitnessEntry } from '@witnesslog/schemas';
import type { WitnessProducerOptions } from '@witnesslog/producer';
import { createWitnessProducerWith } from '../../src/producer.js';
import { entry } from '../../../test/support/entries.js';
import { FakeKafka } from '../../../test/support/fake-kafka-producer.js';

const DIM = 8;
const codec = createCodec({ dim: DIM });

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider());
const tracer = trace.getTracer('witnesslog-test');

function setup(options: Pick<WitnessProducerOptions, 'redact'> = {}) {
  const kafka = new FakeKafka();
  const producer = createWitnessProducerWith({ brokers: ['fake:9092'], env: {}, embeddingDim: DIM, lingerMs: 0, ...options }, { kafka });
  const sent = async (): Promise<DecodedWitnessEntry[]> => {
    await producer.flush();
    return kafka.acknowledged.flatMap((r) => r.values).map((v) => codec.decode(v));
  };
  return { producer, sent };
}

test('inside an active span the entry carries its trace and span ids; outside one, none', async () => {
  const { producer, sent } = setup();
  assert.equal(producer.record(entry('outside', { dim: DIM })), true);
  const ids = await tracer.startActiveSpan('handle-request', async (span) => {
    // Across an await too: the context manager keeps the span active.
    await sleep(1);
    producer.record(entry('inside', { dim: DIM }));
    await producer.recordCritical(entry('inside-critical', { dim: DIM }));
    span.end();
    return span.spanContext();
  });
  assert.match(ids.traceId, /^[0-9a-f]{32}$/);
  const bySession = new Map((await sent()).map((e) => [e.session_id, e]));
  assert.equal(bySession.get('outside')!.trace, null);
  for (const s of ['inside', 'inside-critical']) assert.deepStrictEqual(bySession.get(s)!.trace, { trace_id: ids.traceId, span_id: ids.spanId }, s);
  await producer.close();
});

test('a trace the caller gave wins over the active span; an invalid span context is left out', async () => {
  const { producer, sent } = setup();
  const given = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
  tracer.startActiveSpan('with-own-trace', (span) => {
    producer.record({ ...entry('given', { dim: DIM }), trace: given });
    span.end();
  });
  // A context holding the all-zero span context (what a broken propagator yields).
  context.with(trace.setSpanContext(context.active(), INVALID_SPAN_CONTEXT), () => producer.record(entry('invalid', { dim: DIM })));
  const bySession = new Map((await sent()).map((e) => [e.session_id, e]));
  assert.deepStrictEqual(bySession.get('given')!.trace, given);
  assert.equal(bySession.get('invalid')!.trace, null);
  await producer.close();
});

test('the trace is set before the redact hook, which may strip it', async () => {
  const seen: unknown[] = [];
  const { producer, sent } = setup({
    redact: (e) => {
      seen.push(e.trace);
      return e.session_id === 'strip' ? { ...e, trace: null } : e;
    },
  });
  tracer.startActiveSpan('redacted', (span) => {
    producer.record(entry('keep', { dim: DIM }));
    producer.record(entry('strip', { dim: DIM }));
    span.end();
  });
  const bySession = new Map((await sent()).map((e) => [e.session_id, e]));
  assert.ok(seen.every((t) => t !== null), 'the hook saw the span\'s trace');
  assert.notEqual(bySession.get('keep')!.trace, null);
  assert.equal(bySession.get('strip')!.trace, null);
  await producer.close();
});
