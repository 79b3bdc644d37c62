// Round trips, the single-object layout, interop with another Avro
// implementation, and every way a message can be unreadable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import avro from 'avsc';
import {
  BadMarkerError,
  createCodec,
  currentSchemaVersion,
  DecodeError,
  decodeEntry,
  encodeEntry,
  HEADER_BYTES,
  InvalidEntryError,
  MalformedBodyError,
  schemaVersions,
  TruncatedMessageError,
  UnknownFingerprintError,
  type WitnessEntry,
} from '../../src/index.js';
import { InvalidOptionError } from '@witnesslog/core';
import { fullEntry, minimalEntry, vector } from '../../../test/support/entries.js';
import { fastavroGoldenEntry, GOLDEN_DIM } from '../../../test/support/golden-entry.js';

/** What decoding gives back: embeddings as Float32Array (float32-rounded), the rest unchanged. */
function expected(entry: WitnessEntry): WitnessEntry {
  return {
    ...entry,
    query_embedding: Float32Array.from(entry.query_embedding),
    response_embedding: Float32Array.from(entry.response_embedding),
  };
}

/** The same fields written with plain `bytes` instead of float32-vector: same canonical form, same fingerprint, no checks. */
const rawType = avro.Type.forSchema(
  JSON.parse(JSON.stringify(currentSchemaVersion.schema).replaceAll('"logicalType":"float32-vector"', '"x":0')) as avro.Schema,
  { wrapUnions: 'never' },
);

function rawMessage(record: object): Buffer {
  const header = encodeEntry(fullEntry()).subarray(0, HEADER_BYTES);
  return Buffer.concat([header, rawType.toBuffer(record)]);
}

function rawRecord(overrides: object): object {
  const entry = fullEntry();
  return {
    ...entry,
    query_embedding: Buffer.from((entry.query_embedding as Float32Array).buffer),
    response_embedding: Buffer.alloc(0),
    timestamp: 1_795_000_000_000_000,
    ...overrides,
  };
}

test('round trip with every field set', () => {
  const entry = fullEntry();
  const decoded = decodeEntry(encodeEntry(entry));
  assert.deepStrictEqual(decoded, expected(entry));
  assert.ok(decoded.query_embedding instanceof Float32Array);
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype, 'plain objects, not avsc records');
  assert.equal(Object.getPrototypeOf(decoded.routing_decision), Object.prototype);
});

test('round trip with every optional field absent', () => {
  const entry = minimalEntry();
  assert.deepStrictEqual(decodeEntry(encodeEntry(entry)), expected(entry));
});

test('number[] embeddings come back as float32-rounded Float32Array', () => {
  const query = Array.from({ length: 768 }, (_, i) => i / 3);
  const entry = { ...minimalEntry(), query_embedding: query, response_embedding: [] };
  const decoded = decodeEntry(encodeEntry(entry));
  assert.deepStrictEqual(decoded.query_embedding, Float32Array.from(query));
  assert.notEqual(decoded.query_embedding[1], 1 / 3, 'float32, not float64');
  assert.deepStrictEqual(decoded.response_embedding, new Float32Array(0));
});

test('microseconds survive the trip, also before 1970 and far ahead', () => {
  for (const timestamp of ['2026-11-23T21:57:52.000001Z', '1969-12-31T23:59:59.999999Z', '2255-06-05T23:47:34.740990Z']) {
    assert.equal(decodeEntry(encodeEntry({ ...fullEntry(), timestamp })).timestamp, timestamp);
  }
  // Fewer digits are accepted and come back in the one canonical form.
  assert.equal(decodeEntry(encodeEntry({ ...fullEntry(), timestamp: '2026-11-23T21:57:52.5Z' })).timestamp, '2026-11-23T21:57:52.500000Z');
});

test('a message is C3 01, the little-endian CRC-64-AVRO fingerprint of the writer schema, then the Avro body', () => {
  const entry = fullEntry();
  const message = encodeEntry(entry);
  assert.equal(message[0], 0xc3);
  assert.equal(message[1], 0x01);
  assert.equal(message.readBigUInt64LE(2), currentSchemaVersion.fingerprint);
  assert.equal(currentSchemaVersion.version, 2, 'the SDKs write v2');
  assert.equal(message.subarray(2, 10).toString('hex'), '4470dcc0d272a026');
  // The body is plain Avro binary: avsc alone, without our codec, reads it.
  const body = currentSchemaVersion.type.fromBuffer(message.subarray(HEADER_BYTES)) as WitnessEntry;
  assert.equal(body.request_id, entry.request_id);
  assert.equal(body.timestamp, entry.timestamp);
});

test('decodes a message written by fastavro (another Avro implementation) and writes the same bytes', () => {
  // fixtures/witness-entry.v1.fastavro.hex: fastavro 1.13.1 schemaless_writer
  // of v1 behind C3 01 and fastavro's CRC-64-AVRO fingerprint; its entry is
  // fastavroEntry in fixtures/golden-entry.json, at dimension 4.
  const message = Buffer.from(readFileSync(new URL('../fixtures/witness-entry.v1.fastavro.hex', import.meta.url), 'utf8').trim(), 'hex');
  const golden = fastavroGoldenEntry();
  const v1 = createCodec({ dim: GOLDEN_DIM, reader: schemaVersions[0] });
  assert.deepStrictEqual(v1.decode(message), golden);
  assert.deepStrictEqual(v1.encode(golden), message);
  // The current reader (v2) reads it too, with the three v2 fields null.
  assert.deepStrictEqual(createCodec({ dim: GOLDEN_DIM }).decode(message), { ...golden, producer: null, trace: null, usage: null });
});

test('decoding copies embeddings out of the message once, from any alignment', () => {
  const message = encodeEntry(fullEntry());
  // Shift the message by one byte so the float data sits at an odd address.
  const shifted = Buffer.alloc(message.length + 1);
  message.copy(shifted, 1);
  const view = shifted.subarray(1);
  const decoded = decodeEntry(view);
  assert.deepStrictEqual(decoded, expected(fullEntry()));
  assert.notEqual(decoded.query_embedding.buffer, shifted.buffer, 'the vector does not alias the message');
  assert.equal(decoded.query_embedding.byteOffset % 4, 0);
  // A plain Uint8Array works as well as a Buffer.
  assert.deepStrictEqual(decodeEntry(new Uint8Array(message)), expected(fullEntry()));
});

test('many messages in a row stay independent (slab allocation hands out disjoint pieces)', () => {
  const codec = createCodec({ dim: 8 });
  const entries = Array.from({ length: 100 }, (_, i) => ({ ...fullEntry(8), session_id: `s${i}`, query_embedding: vector(8, i) }));
  const messages = entries.map((e) => codec.encode(e));
  const decoded = messages.map((m) => codec.decode(m));
  decoded.forEach((d, i) => assert.deepStrictEqual(d, expected(entries[i]!)));
});

test('large dimensions that do not fit a slab still round-trip', () => {
  const codec = createCodec({ dim: 65_536 });
  const entry = fullEntry(65_536);
  const message = codec.encode(entry);
  assert.ok(message.length > 2 * 65_536 * 4);
  assert.deepStrictEqual(codec.decode(message), expected(entry));
});

test('an encode that fails validation names the field and writes nothing', () => {
  const codec = createCodec();
  const good = codec.encode(fullEntry());
  assert.throws(() => codec.encode({ ...fullEntry(), quality_score: 2 }), InvalidEntryError);
  assert.deepStrictEqual(codec.decode(good), expected(fullEntry()), 'earlier messages are untouched');
});

test('garbage, a bad marker, and an empty message are WITNESS_BAD_MARKER or WITNESS_TRUNCATED', () => {
  assert.throws(() => decodeEntry(Buffer.from('{"request_id":"..."}')), { name: 'BadMarkerError', code: 'WITNESS_BAD_MARKER', retriable: false });
  assert.throws(() => decodeEntry(Buffer.from([0xc3, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0])), BadMarkerError);
  assert.throws(() => decodeEntry(Buffer.from([0x00])), BadMarkerError);
  assert.throws(() => decodeEntry(Buffer.alloc(0)), { code: 'WITNESS_TRUNCATED' });
  assert.throws(() => decodeEntry(Buffer.from([0xc3, 0x01, 0x13])), TruncatedMessageError);
});

test('a message cut anywhere is WITNESS_TRUNCATED', () => {
  const message = encodeEntry(fullEntry());
  for (let length = 0; length < message.length; length++) {
    assert.throws(() => decodeEntry(message.subarray(0, length)), { code: 'WITNESS_TRUNCATED' }, `cut at ${length}`);
  }
});

test('an unknown fingerprint is WITNESS_UNKNOWN_FINGERPRINT with the fingerprint in hex', () => {
  const message = Buffer.from(encodeEntry(fullEntry()));
  message.writeBigUInt64LE(0x0123456789abcdefn, 2);
  assert.throws(
    () => decodeEntry(message),
    (err: unknown) =>
      err instanceof UnknownFingerprintError &&
      err instanceof DecodeError &&
      err.code === 'WITNESS_UNKNOWN_FINGERPRINT' &&
      err.fingerprint === '0123456789abcdef' &&
      err.message.includes('0123456789abcdef'),
  );
});

test('trailing bytes, a bad union index and a bad enum index are WITNESS_MALFORMED_BODY', () => {
  const message = encodeEntry(minimalEntry());
  assert.throws(() => decodeEntry(Buffer.concat([message, Buffer.from([0])])), { code: 'WITNESS_MALFORMED_BODY' });

  // The error union is the byte after the timestamp; index 7 does not exist.
  const body = Buffer.from(message);
  const tail = 6; // error, quality_metrics, tags, producer, trace, usage: one byte each, all empty
  assert.equal(body[body.length - tail], 0, 'error union index 0 (null)');
  body[body.length - tail] = 14; // zig-zag 7
  assert.throws(() => decodeEntry(body), MalformedBodyError);

  const badEnum = rawMessage(rawRecord({}));
  // model_used is the first enum after the request and session ids and the embedding: find it via a marker value.
  const probe = rawType.toBuffer(rawRecord({ model_used: 'large' }));
  const probe2 = rawType.toBuffer(rawRecord({ model_used: 'tiny' }));
  const at = probe.findIndex((b, i) => b !== probe2[i]);
  const corrupted = Buffer.from(badEnum);
  corrupted[HEADER_BYTES + at] = 40; // zig-zag 20: no such symbol
  assert.throws(() => decodeEntry(corrupted), { code: 'WITNESS_MALFORMED_BODY' });
});

test('an embedding whose byte length is not a multiple of 4 is WITNESS_MALFORMED_BODY', () => {
  const message = rawMessage(rawRecord({ query_embedding: Buffer.alloc(768 * 4 - 1) }));
  assert.throws(() => decodeEntry(message), (err: unknown) => {
    assert.ok(err instanceof MalformedBodyError);
    assert.match(err.message, /3071 bytes: not a multiple of 4/);
    return true;
  });
});

test('a well-formed message with a bad entry is caught on decode too, unless validation is off', () => {
  const nan = Buffer.from(new Float32Array(768).fill(0.1).buffer);
  nan.writeFloatLE(Number.NaN, 17 * 4);
  const message = rawMessage(rawRecord({ query_embedding: nan }));
  assert.throws(() => decodeEntry(message), { code: 'WITNESS_INVALID_ENTRY', field: 'query_embedding[17]' });
  assert.ok(Number.isNaN(decodeEntry(message, { validate: false }).query_embedding[17]));

  const short = rawMessage(rawRecord({ query_embedding: Buffer.alloc(512 * 4) }));
  assert.throws(() => decodeEntry(short), { code: 'WITNESS_INVALID_ENTRY', field: 'query_embedding' });
  assert.equal(decodeEntry(short, { dim: 512 }).query_embedding.length, 512);

  const outOfRange = rawMessage(rawRecord({ quality_score: 1.5 }));
  assert.throws(() => decodeEntry(outOfRange), { field: 'quality_score', value: 1.5 });
});

test('a v2 message breaking a v2 rule is WITNESS_INVALID_ENTRY naming the field; a decoded producer is checked, not refused', () => {
  const zeros = '0'.repeat(32);
  const trace = rawMessage(rawRecord({ trace: { trace_id: zeros, span_id: '00f067aa0ba902b7' } }));
  assert.throws(() => decodeEntry(trace), { code: 'WITNESS_INVALID_ENTRY', field: 'trace.trace_id', value: zeros });
  const usage = rawMessage(rawRecord({ usage: { prompt_tokens: -1, completion_tokens: 0 } }));
  assert.throws(() => decodeEntry(usage), { field: 'usage.prompt_tokens', value: -1 });
  const host = rawMessage(rawRecord({ producer: { ...fullEntry().producer!, host: '' } }));
  assert.throws(() => decodeEntry(host), { field: 'producer.host', value: '' });
  const seq = rawMessage(rawRecord({ producer: { ...fullEntry().producer!, seq: -3 } }));
  assert.throws(() => decodeEntry(seq), { field: 'producer.seq', value: -3 });
  assert.deepStrictEqual(decodeEntry(rawMessage(rawRecord({}))).producer, fullEntry().producer);
});

test('options are checked where they are given', () => {
  assert.throws(() => createCodec({ dim: 0 }), InvalidOptionError);
  assert.throws(() => createCodec({ dim: 1.5 }), { code: 'WITNESS_INVALID_OPTION', option: 'dim' });
  assert.throws(() => decodeEntry(encodeEntry(fullEntry()), { dim: -1 }), InvalidOptionError);
});
