// Schema evolution with a test-only v2 (v1 plus an optional `serving_node`),
// in both directions, without touching the production versions.
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

const v1 = currentSchemaVersion;
const v2 = loadSchemaVersion(2, new URL('../fixtures/witness-entry.v2.avsc', import.meta.url));

function withFloat32(entry: WitnessEntry): WitnessEntry {
  return { ...entry, query_embedding: Float32Array.from(entry.query_embedding), response_embedding: Float32Array.from(entry.response_embedding) };
}

test('v2 is a different writer schema (own fingerprint) and not a production version', () => {
  assert.notEqual(v2.fingerprint, v1.fingerprint);
  assert.deepStrictEqual(schemaVersions.map((v) => v.version), [1]);
});

test('new reader, old writer: a v1 message read as v2 gets the default for the added field', () => {
  const oldProducer = createCodec({ reader: v1 });
  const newConsumer = createCodec({ reader: v2, writers: [v1, v2] });
  const decoded = newConsumer.decode(oldProducer.encode(fullEntry()));
  assert.deepStrictEqual(decoded, { ...withFloat32(fullEntry()), serving_node: null });
});

test('old reader, new writer: a v2 message read as v1 drops the added field', () => {
  const newProducer = createCodec({ reader: v2, writers: [v1, v2] });
  const oldConsumer = createCodec({ reader: v1, writers: [v1, v2] });
  const message = newProducer.encode({ ...minimalEntry(), serving_node: 'gpu-node-17' } as WitnessEntry);
  assert.equal(message.readBigUInt64LE(2), v2.fingerprint, 'written with the v2 fingerprint');

  const decoded = oldConsumer.decode(message);
  assert.deepStrictEqual(decoded, withFloat32(minimalEntry()));
  assert.ok(!('serving_node' in decoded));
  // And the new reader sees it.
  assert.equal((newProducer.decode(message) as WitnessEntry & { serving_node: string }).serving_node, 'gpu-node-17');
});

test('a consumer that was never told about v2 dead-letters its messages as WITNESS_UNKNOWN_FINGERPRINT', () => {
  const newProducer = createCodec({ reader: v2, writers: [v1, v2] });
  const message = newProducer.encode({ ...fullEntry(), serving_node: null } as WitnessEntry);
  assert.throws(() => createCodec().decode(message), (err: unknown) => {
    assert.ok(err instanceof UnknownFingerprintError);
    assert.equal(err.fingerprint, v2.fingerprintHex);
    return true;
  });
});

test('a field of the newer writer that validateEntry does not know is still checked by the Avro schema', () => {
  const newProducer = createCodec({ reader: v2 });
  assert.throws(() => newProducer.encode({ ...fullEntry(), serving_node: 42 } as unknown as WitnessEntry), {
    code: 'WITNESS_INVALID_ENTRY',
    field: 'serving_node',
    value: 42,
  });
});

test('a reader that cannot read a listed writer fails at createCodec, not on the first message', () => {
  // A field without a default cannot be filled in from v1 messages.
  const schema = structuredClone(v2.schema) as { fields: Array<{ name: string; type: unknown; default?: unknown }> };
  const added = schema.fields.at(-1)!;
  added.type = 'string';
  delete added.default;
  const v3 = createSchemaVersion(3, schema);
  assert.throws(() => createCodec({ reader: v3, writers: [v1] }), (err: unknown) => {
    assert.ok(err instanceof SchemaError);
    assert.equal(err.code, 'WITNESS_SCHEMA_INVALID');
    assert.match(err.message, /reader version 3 cannot read writer version 1/);
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
