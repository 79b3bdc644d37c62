// Schema evolution: the real v1 -> v2 step, and a test-only next version (the
// newest plus an optional `serving_node`, fixtures/witness-entry.test-v3.avsc) in
// both directions, without touching the production versions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createCodec,
  createSchemaVersion,
  currentSchemaVersion,
  loadSchemaVersion,
  SchemaError,
  schemaVersions,
  UnknownFingerprintError,
  type WitnessEntry,
} from '../../src/index.js';
import { fullEntry, minimalEntry } from '../../../test/support/entries.js';

const v1 = schemaVersions[0]!;
const current = currentSchemaVersion;
const next = loadSchemaVersion(3, new URL('../fixtures/witness-entry.test-v3.avsc', import.meta.url));

function withFloat32(entry: WitnessEntry): WitnessEntry {
  return { ...entry, query_embedding: Float32Array.from(entry.query_embedding), response_embedding: Float32Array.from(entry.response_embedding) };
}

/** An entry as v1 knew it: without the three v2 fields. */
function v1Entry(entry: WitnessEntry): Omit<WitnessEntry, 'producer' | 'trace' | 'usage'> {
  const { producer: _p, trace: _t, usage: _u, ...rest } = entry;
  return rest;
}

test('v1 and v2 are the production versions; the test-only version is not one', () => {
  assert.deepStrictEqual(schemaVersions.map((v) => v.version), [1, 2]);
  assert.equal(current.version, 2);
  assert.notEqual(next.fingerprint, current.fingerprint);
});

test('v1 writer, v2 reader: a v1 message decodes with producer, trace and usage null', () => {
  const v1Producer = createCodec({ reader: v1 });
  const decoded = createCodec().decode(v1Producer.encode(v1Entry(fullEntry()) as WitnessEntry));
  assert.deepStrictEqual(decoded, { ...withFloat32(fullEntry()), producer: null, trace: null, usage: null });
});

test('v2 writer, v1 reader: a consumer still on v1 that lists v2 reads it without the new fields', () => {
  const message = createCodec().encode(fullEntry());
  const decoded = createCodec({ reader: v1, writers: [v1, current] }).decode(message);
  assert.deepStrictEqual(decoded, v1Entry(withFloat32(fullEntry())));
});

test('deploying producers first: a consumer that knows only v1 dead-letters a v2 message as WITNESS_UNKNOWN_FINGERPRINT', () => {
  const message = createCodec().encode(fullEntry());
  const v1Only = createCodec({ reader: v1, writers: [v1] });
  assert.deepStrictEqual(v1Only.writers.map((v) => v.version), [1]);
  assert.throws(() => v1Only.decode(message), (err: unknown) => {
    assert.ok(err instanceof UnknownFingerprintError);
    assert.equal(err.code, 'WITNESS_UNKNOWN_FINGERPRINT');
    assert.equal(err.fingerprint, current.fingerprintHex);
    return true;
  });
});

test('new reader, old writer: a current message read by the next version gets the default for the added field', () => {
  const newConsumer = createCodec({ reader: next, writers: [current, next] });
  const decoded = newConsumer.decode(createCodec().encode(fullEntry()));
  assert.deepStrictEqual(decoded, { ...withFloat32(fullEntry()), serving_node: null });
});

test('old reader, new writer: a next-version message read by the current version drops the added field', () => {
  const newProducer = createCodec({ reader: next, writers: [current, next] });
  const oldConsumer = createCodec({ reader: current, writers: [current, next] });
  const message = newProducer.encode({ ...minimalEntry(), serving_node: 'gpu-node-17' } as WitnessEntry);
  assert.equal(message.readBigUInt64LE(2), next.fingerprint, 'written with the next fingerprint');

  const decoded = oldConsumer.decode(message);
  assert.deepStrictEqual(decoded, withFloat32(minimalEntry()));
  assert.ok(!('serving_node' in decoded));
  // And the new reader sees it.
  assert.equal((newProducer.decode(message) as WitnessEntry & { serving_node: string }).serving_node, 'gpu-node-17');
});

test('a consumer that was never told about the next version dead-letters its messages as WITNESS_UNKNOWN_FINGERPRINT', () => {
  const newProducer = createCodec({ reader: next, writers: [current, next] });
  const message = newProducer.encode({ ...fullEntry(), serving_node: null } as WitnessEntry);
  assert.throws(() => createCodec().decode(message), (err: unknown) => {
    assert.ok(err instanceof UnknownFingerprintError);
    assert.equal(err.fingerprint, next.fingerprintHex);
    return true;
  });
});

test('a field of the newer writer that validateEntry does not know is still checked by the Avro schema', () => {
  const newProducer = createCodec({ reader: next });
  assert.throws(() => newProducer.encode({ ...fullEntry(), serving_node: 42 } as unknown as WitnessEntry), {
    code: 'WITNESS_INVALID_ENTRY',
    field: 'serving_node',
    value: 42,
  });
});

test('a reader that cannot read a listed writer fails at createCodec, not on the first message', () => {
  // A field without a default cannot be filled in from older messages.
  const schema = structuredClone(next.schema) as { fields: Array<{ name: string; type: unknown; default?: unknown }> };
  const added = schema.fields.at(-1)!;
  added.type = 'string';
  delete added.default;
  const v4 = createSchemaVersion(4, schema);
  assert.throws(() => createCodec({ reader: v4, writers: [v1] }), (err: unknown) => {
    assert.ok(err instanceof SchemaError);
    assert.equal(err.code, 'WITNESS_SCHEMA_INVALID');
    assert.match(err.message, /reader version 4 cannot read writer version 1/);
    return true;
  });
});

test('a schema avsc rejects is a SchemaError naming the version', () => {
  assert.throws(() => createSchemaVersion(9, { type: 'record', name: 'Broken', fields: [{ name: 'x', type: 'no-such-type' }] }), {
    name: 'SchemaError',
    message: /schema version 9 is not a valid Avro schema/,
  });
  assert.throws(() => loadSchemaVersion(9, '/nonexistent/witness-entry.v9.avsc'), SchemaError);
});
