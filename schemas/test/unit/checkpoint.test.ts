// The checkpoint record (issue 26): its golden bytes, shared with the Python SDK
// (fixtures/golden-checkpoint.json encoded is fixtures/witness-checkpoint.typescript.hex;
// WITNESSLOG_WRITE_FIXTURES=1 rewrites it, the Python SDK's test_checkpoint.py writes
// witness-checkpoint.python.hex), and the impossible checkpoints refused by name.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import avro from 'avsc';
import {
  checkpointFingerprint,
  currentSchemaVersion,
  decodeCheckpoint,
  encodeCheckpoint,
  InvalidCheckpointError,
  isCheckpointMessage,
  UnknownFingerprintError,
  TruncatedMessageError,
  type WitnessCheckpoint,
} from '../../src/index.js';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const read = (name: string) => Buffer.from(readFileSync(fixture(name), 'utf8').trim(), 'hex');
const golden = (): WitnessCheckpoint => JSON.parse(readFileSync(fixture('golden-checkpoint.json'), 'utf8')) as WitnessCheckpoint;
const TYPESCRIPT = 'witness-checkpoint.typescript.hex';
const PYTHON = 'witness-checkpoint.python.hex';

test('writes exactly the committed checkpoint bytes, with its own fingerprint, and reads them back', () => {
  const message = encodeCheckpoint(golden());
  if (process.env.WITNESSLOG_WRITE_FIXTURES === '1') writeFileSync(fixture(TYPESCRIPT), `${message.toString('hex')}\n`);
  assert.deepStrictEqual(message, read(TYPESCRIPT));
  assert.deepStrictEqual(message.subarray(0, 2), Buffer.from([0xc3, 0x01]));
  assert.equal(message.readBigUInt64LE(2), checkpointFingerprint);
  assert.notEqual(checkpointFingerprint, currentSchemaVersion.fingerprint);
  assert.deepStrictEqual(decodeCheckpoint(message), golden());
  assert.ok(isCheckpointMessage(message));
});

test("the Python SDK's checkpoint is byte-identical to ours", { skip: !existsSync(fixture(PYTHON)) && `${PYTHON} not written yet (the Python SDK's test_checkpoint.py writes it)` }, () => {
  assert.deepStrictEqual(read(PYTHON), read(TYPESCRIPT));
});

test('an entry is not a checkpoint: decodeCheckpoint names its fingerprint, isCheckpointMessage says no', () => {
  const entry = read('witness-entry.v2.typescript.hex');
  assert.equal(isCheckpointMessage(entry), false);
  assert.throws(() => decodeCheckpoint(entry), UnknownFingerprintError);
  assert.throws(() => decodeCheckpoint(encodeCheckpoint(golden()).subarray(0, 14)), TruncatedMessageError);
});

const impossible: Array<[string, (c: WitnessCheckpoint) => void, string, unknown]> = [
  ['a range above high_seq', (c) => (c.high_seq = 9), 'undelivered[1].to', 10],
  ['from > to', (c) => (c.undelivered[0] = { from: 9, to: 7, reason: 'queue_full' }), 'undelivered[0].from', 9],
  ['overlapping ranges', (c) => (c.undelivered[1] = { from: 9, to: 10, reason: 'send_failed' }), 'undelivered[1].from', 9],
  ['unsorted ranges', (c) => c.undelivered.reverse(), 'undelivered[1].from', 10],
  ['a negative from', (c) => (c.undelivered[0]!.from = -1), 'undelivered[0].from', -1],
  ['a high_seq below -1', (c) => ((c.high_seq = -2), (c.undelivered = [])), 'high_seq', -2],
  ['a negative refused count', (c) => (c.refused.sampled_out = -5), 'refused.sampled_out', -5],
  ['an id that is not a UUID', (c) => (c.producer_id = 'not-a-uuid'), 'producer_id', 'not-a-uuid'],
  ['an upper-case UUID', (c) => (c.producer_id = c.producer_id.toUpperCase()), 'producer_id', '5F0C6A1E-2B7D-4C3A-9E8F-1A2B3C4D5E6F'],
  ['an empty service', (c) => (c.service = ''), 'service', ''],
  ['an unknown reason', (c) => ((c.undelivered[0] as { reason: string }).reason = 'lost'), 'undelivered[0].reason', 'lost'],
];

for (const [name, spoil, field, value] of impossible) {
  test(`refuses a checkpoint with ${name}, naming ${field} and its value, on encode and on decode`, () => {
    const c = golden();
    spoil(c);
    const named = (err: unknown) => err instanceof InvalidCheckpointError && err.code === 'WITNESS_CHECKPOINT_INVALID' && err.field === field && Object.is(err.value, value);
    assert.throws(() => encodeCheckpoint(c), named);
    // The bytes a hostile or buggy writer could send anyway: the decoder refuses them too.
    if (field.endsWith('.reason')) return; // avsc cannot write a symbol the enum lacks
    const raw = Buffer.concat([encodeCheckpoint(golden()).subarray(0, 10), rawBody(c)]);
    assert.throws(() => decodeCheckpoint(raw), named);
  });
}

test('more than 1,000 ranges are refused: the SDK sets truncated instead', () => {
  const c = golden();
  c.high_seq = 5000;
  c.undelivered = Array.from({ length: 1001 }, (_, i) => ({ from: i * 2, to: i * 2, reason: 'queue_full' as const }));
  assert.throws(() => encodeCheckpoint(c), (err: unknown) => err instanceof InvalidCheckpointError && err.field === 'undelivered');
  c.undelivered.pop();
  assert.equal(decodeCheckpoint(encodeCheckpoint(c)).undelivered.length, 1000);
});

/** The body avsc writes for a value, unvalidated. */
function rawBody(c: WitnessCheckpoint): Buffer {
  // A private schema-only encoder: encodeCheckpoint validates, which is what is under test.
  return avroType.toBuffer(c);
}

const avroType = avro.Type.forSchema(JSON.parse(readFileSync(new URL('../../witness-checkpoint.avsc', import.meta.url), 'utf8')) as avro.Schema);
