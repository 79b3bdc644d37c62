// Schema v2 as the SDK writes it, against the fake Kafka client (no socket): the
// producer identity (an id per instance, seq in the order entries were given, across
// record, recordBatch and recordCritical, service and host), and what record()
// refuses of the new fields: a caller's `producer`, a bad trace id, a negative
// token count, each counted as invalid and named, never thrown.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { test } from 'node:test';
import { createCodec, currentSchemaVersion, type DecodedWitnessEntry, type WitnessEntryInput } from '@witnesslog/schemas';
import { InvalidOptionError, type WitnessProducerOptions } from '@witnesslog/producer';
import { createWitnessProducerWith } from '../../src/producer.js';
import { entry } from '../../../test/support/entries.js';
import { FakeKafka } from '../../../test/support/fake-kafka-producer.js';

const DIM = 8;
const codec = createCodec({ dim: DIM });

function producerOn(kafka: FakeKafka, options: WitnessProducerOptions = {}) {
  return createWitnessProducerWith({ brokers: ['fake:9092'], env: {}, embeddingDim: DIM, lingerMs: 0, retryInitialMs: 1, retryMaxMs: 2, ...options }, { kafka });
}

/** What the fake broker acknowledged, decoded, in the order it was sent. */
function sent(kafka: FakeKafka): DecodedWitnessEntry[] {
  return kafka.acknowledged.flatMap((r) => r.values).map((v) => codec.decode(v));
}

const good = (session: string): WitnessEntryInput => entry(session, { dim: DIM });

test('every entry is written as v2 with this instance\'s identity; seq numbers the accepted ones from 0, gapless, in acceptance order', async () => {
  const kafka = new FakeKafka();
  const producer = producerOn(kafka, {
    service: 'checkout-api',
    // Fails for the sessions named rf-*: those entries are refused before acceptance.
    redact: (e) => {
      if (e.session_id.startsWith('rf-')) throw new Error('redactor down');
      return e;
    },
  });
  const accepted: string[] = [];
  const keep = (session: string, ok: boolean) => ok && accepted.push(session);
  keep('a0', producer.record(good('a0')));
  keep('bad', producer.record({ ...good('bad'), quality_score: 7 })); // invalid
  keep('a1', producer.record(good('a1')));
  keep('rf-a2', producer.record(good('rf-a2'))); // redact_failed
  const batch = ['b0', 'b1', 'rf-b2', 'b3'].map(good);
  assert.equal(producer.recordBatch([batch[0]!, { ...batch[1]!, usage: { prompt_tokens: -1, completion_tokens: 0 } }, batch[2]!, batch[3]!] as WitnessEntryInput[]), 2);
  accepted.push('b0', 'b3'); // b1 invalid, rf-b2 redact_failed
  await producer.recordCritical(good('c0'));
  accepted.push('c0');
  keep('a3', producer.record(good('a3')));
  await producer.flush();
  assert.deepStrictEqual([producer.stats().dropped.invalid, producer.stats().dropped.redact_failed], [2, 2]);

  const entries = sent(kafka);
  assert.deepStrictEqual(entries.map((e) => e.session_id), accepted);
  assert.deepStrictEqual(entries.map((e) => e.producer!.seq), accepted.map((_, i) => i));
  const ids = new Set(entries.map((e) => e.producer!.id));
  assert.equal(ids.size, 1);
  assert.match([...ids][0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  for (const e of entries) assert.deepStrictEqual({ service: e.producer!.service, host: e.producer!.host }, { service: 'checkout-api', host: hostname() });
  for (const v of kafka.acknowledged.flatMap((r) => r.values)) assert.equal(v.readBigUInt64LE(2), currentSchemaVersion.fingerprint);

  const stats = producer.stats();
  assert.equal(stats.total, accepted.length);
  assert.deepStrictEqual(stats.producer, { id: [...ids][0], service: 'checkout-api', host: hostname(), last_seq: accepted.length - 1 });
  await producer.close();
});

test('an entry dropped at a full queue takes a seq now (issue 26: its checkpoints report it, so the audit tells a drop from a loss); a new instance has a new id and starts at 0', async () => {
  const kafka = new FakeKafka();
  kafka.failSend = () => new Error('refused for good');
  const first = producerOn(kafka, { maxQueueDepth: 2, flushTimeoutMs: 50 });
  assert.equal(first.stats().producer.last_seq, null);
  kafka.hold();
  assert.equal(first.record(good('x0')), true);
  assert.equal(first.record(good('x1')), true);
  assert.equal(first.record(good('x2')), false, 'queue full: dropped, holding seq 2');
  assert.equal(first.stats().producer.last_seq, 2);
  assert.equal(first.record({ ...good('x3'), quality_score: 7 }), false, 'queue full is checked before reading: an invalid entry takes a seq too');
  assert.equal(first.stats().producer.last_seq, 3);
  await first.close();

  const ok = new FakeKafka();
  const second = producerOn(ok);
  assert.notEqual(second.stats().producer.id, first.stats().producer.id);
  second.record(good('y0'));
  await second.flush();
  assert.equal(sent(ok)[0]!.producer!.seq, 0);
  await second.close();
});

test('service: the option, else WITNESS_SERVICE, else the process\'s name; a bad one refused at creation naming it', async () => {
  const kafka = new FakeKafka();
  const service = (options: WitnessProducerOptions) => {
    const p = producerOn(kafka, options);
    void p.close();
    return p.stats().producer.service;
  };
  assert.equal(service({ service: 'explicit', env: { WITNESS_SERVICE: 'from-env' } }), 'explicit');
  assert.equal(service({ env: { WITNESS_SERVICE: ' from-env ' } }), 'from-env');
  assert.equal(service({}), basename(process.argv[1]!));
  for (const bad of ['', '   ', 's'.repeat(257), 42]) {
    assert.throws(() => producerOn(kafka, { service: bad as string }), (err: unknown) => err instanceof InvalidOptionError && err.option === 'service' && err.message.includes('256'));
  }
});

test('a caller\'s producer, a bad trace id or a negative token count: refused, counted invalid, named with the value, never thrown', async () => {
  const kafka = new FakeKafka();
  const producer = producerOn(kafka);
  const forged = { id: '5f0c6a1e-2b7d-4c3a-9e8f-1a2b3c4d5e6f', seq: 0, service: 'forged', host: 'h' };
  const cases: Array<[object, string, unknown]> = [
    [{ producer: forged }, 'producer', forged],
    [{ trace: { trace_id: '0'.repeat(32), span_id: '00f067aa0ba902b7' } }, 'trace.trace_id', '0'.repeat(32)],
    [{ trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: 'XYZ' } }, 'trace.span_id', 'XYZ'],
    [{ usage: { prompt_tokens: 5, completion_tokens: -2 } }, 'usage.completion_tokens', -2],
  ];
  for (const [extra, field, value] of cases) {
    assert.equal(producer.record({ ...good('r'), ...extra } as WitnessEntryInput), false, field);
    await assert.rejects(producer.recordCritical({ ...good('c'), ...extra } as WitnessEntryInput), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'WITNESS_INVALID_ENTRY');
      assert.equal((err as { field?: string }).field, field);
      assert.deepStrictEqual((err as { value?: unknown }).value, value);
      assert.match((err as Error).message, new RegExp(field.replace('.', '\\.')));
      return true;
    });
  }
  assert.equal(producer.stats().dropped.invalid, 2 * cases.length);
  // null is "not given": an entry from createWitnessEntry (producer: null) is accepted.
  assert.equal(producer.record({ ...good('n'), producer: null } as WitnessEntryInput), true);
  assert.equal(producer.stats().producer.last_seq, 0, 'the refused ones took no seq');
  await producer.close();
});

test('trace and usage given by the caller are written as given', async () => {
  const kafka = new FakeKafka();
  const producer = producerOn(kafka);
  const trace = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
  const usage = { prompt_tokens: 0, completion_tokens: 2 ** 31 - 1 };
  assert.equal(producer.record({ ...good('t'), trace, usage }), true);
  assert.equal(producer.record(good('none')), true);
  await producer.flush();
  const [withBoth, without] = sent(kafka);
  assert.deepStrictEqual([withBoth!.trace, withBoth!.usage], [trace, usage]);
  assert.deepStrictEqual([without!.trace, without!.usage], [null, null]);
  await producer.close();
});
