// CRC-64-AVRO and Parsing Canonical Form against reference values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CRC64_AVRO_EMPTY, crc64Avro, currentSchemaVersion, fingerprintHex, parsingCanonicalForm, schemaVersions } from '../../src/index.js';

const v1 = schemaVersions[0]!;

// Apache Avro, share/test/data/schema-tests.txt (cases 000-033 that carry a
// fingerprint), fingerprints as Java's signed 64-bit longs. The file notes
// that Java's slow reference implementation cross-checks them.
const SCHEMA_TESTS: Array<[input: string, canonical: string, fingerprint: bigint | null]> = [
  ['"null"', '"null"', 7195948357588979594n],
  ['{"type":"null"}', '"null"', null],
  ['"boolean"', '"boolean"', -6970731678124411036n],
  ['"int"', '"int"', 8247732601305521295n],
  ['"long"', '"long"', -3434872931120570953n],
  ['"float"', '"float"', 5583340709985441680n],
  ['"double"', '"double"', -8181574048448539266n],
  ['"bytes"', '"bytes"', 5746618253357095269n],
  ['"string"', '"string"', -8142146995180207161n],
  ['{"type":"string"}', '"string"', null],
  ['[  ]', '[]', -1241056759729112623n],
  ['[ "int"  ]', '["int"]', -5232228896498058493n],
  ['[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090n],
  ['{"fields":[], "type":"record", "name":"foo"}', '{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
  ['{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}', '{"name":"x.y.foo","type":"record","fields":[]}', 5916914534497305771n],
  ['{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}', '{"name":"a.b.foo","type":"record","fields":[]}', -4616218487480524110n],
  ['{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}', '{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
  ['{"fields":[], "type":"record", "name":"foo", "aliases":["foo","bar"]}', '{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
  [
    '{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
    7843277075252814651n,
  ],
  [
    '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"}, {"order":"descending","name":"f2","doc":"Hello","type":"int"}], "type":"record", "name":"foo" }',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    -4860222112080293046n,
  ],
  ['{"type":"enum", "name":"foo", "symbols":["A1"]}', '{"name":"foo","type":"enum","symbols":["A1"]}', -6342190197741309591n],
  [
    '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
    '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
    -4448647247586288245n,
  ],
  ['{"name":"foo","type":"fixed","size":15}', '{"name":"foo","type":"fixed","size":15}', 1756455273707447556n],
  [
    '{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
    '{"name":"x.y.z.foo","type":"fixed","size":32}',
    -3064184465700546786n,
  ],
  ['{ "items":{"type":"null"}, "type":"array"}', '{"type":"array","items":"null"}', -589620603366471059n],
  ['{ "values":"string", "type":"map"}', '{"type":"map","values":"string"}', -8732877298790414990n],
  [
    '{"name":"PigValue","type":"record", "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    -1759257747318642341n,
  ],
];

test('CRC-64-AVRO of no bytes is the specification\'s EMPTY, 0xc15d213aa4d7a795', () => {
  assert.equal(crc64Avro(new Uint8Array(0)), 0xc15d213aa4d7a795n);
  assert.equal(CRC64_AVRO_EMPTY, 0xc15d213aa4d7a795n);
});

test('the fingerprint of "null" is 0x63dd24e7cc258f8a (schema-tests.txt case 000: 7195948357588979594)', () => {
  assert.equal(crc64Avro('"null"'), 0x63dd24e7cc258f8an);
  assert.equal(fingerprintHex(crc64Avro('"null"')), '63dd24e7cc258f8a');
});

test('canonical forms and fingerprints match Avro\'s schema-tests.txt', () => {
  for (const [input, canonical, fingerprint] of SCHEMA_TESTS) {
    const form = parsingCanonicalForm(JSON.parse(input));
    assert.equal(form, canonical, `canonical form of ${input}`);
    if (fingerprint !== null) assert.equal(BigInt.asIntN(64, crc64Avro(form)), fingerprint, `fingerprint of ${input}`);
  }
});

test('strings and bytes hash the same', () => {
  const text = '{"name":"foo","type":"record","fields":[]}';
  assert.equal(crc64Avro(text), crc64Avro(Buffer.from(text, 'utf8')));
});

test('the v1 canonical form strips docs, logical types and defaults and uses full names', () => {
  const form = v1.canonicalForm;
  assert.ok(form.startsWith('{"name":"dev.witnesslog.WitnessEntry","type":"record","fields":[{"name":"request_id","type":"string"}'));
  assert.ok(form.includes('{"name":"model_used","type":"dev.witnesslog.ModelSize"}'), 'a named type used twice is a reference the second time');
  assert.ok(form.includes('{"name":"timestamp","type":"long"}'));
  assert.ok(form.includes('{"name":"query_embedding","type":"bytes"}'));
  for (const stripped of ['"doc"', '"logicalType"', '"default"', '"namespace"', ' ', '\n']) assert.ok(!form.includes(stripped), stripped);
});

test('our canonical form of each version agrees with avsc\'s Type#schema()', () => {
  for (const version of schemaVersions) assert.equal(version.canonicalForm, JSON.stringify(version.type.schema()), `v${version.version}`);
});

test('v1 fingerprint equals the one fastavro 1.13.1 computes independently', () => {
  // fastavro.schema.fingerprint(to_parsing_canonical_form(v1), "CRC-64-AVRO")
  // prints the little-endian bytes: 1384dc295d7bb3d5.
  assert.equal(v1.version, 1);
  assert.equal(v1.fingerprintHex, 'd5b37b5d29dc8413');
  assert.equal(v1.fingerprint, 0xd5b37b5d29dc8413n);
});

test('v2 is the current version; its fingerprint equals the one fastavro 1.13.1 computes independently', () => {
  // fastavro.schema.fingerprint(to_parsing_canonical_form(v2), "CRC-64-AVRO")
  // prints the little-endian bytes: 4470dcc0d272a026.
  assert.deepStrictEqual(schemaVersions.map((v) => v.version), [1, 2]);
  assert.equal(currentSchemaVersion.version, 2);
  assert.equal(currentSchemaVersion.fingerprintHex, '26a072d2c0dc7044');
  // The three fields are appended, each a union with null first.
  assert.ok(currentSchemaVersion.canonicalForm.endsWith(
    '{"name":"producer","type":["null",{"name":"dev.witnesslog.ProducerIdentity","type":"record","fields":[{"name":"id","type":"string"},{"name":"seq","type":"long"},{"name":"service","type":"string"},{"name":"host","type":"string"}]}]},' +
      '{"name":"trace","type":["null",{"name":"dev.witnesslog.TraceContext","type":"record","fields":[{"name":"trace_id","type":"string"},{"name":"span_id","type":"string"}]}]},' +
      '{"name":"usage","type":["null",{"name":"dev.witnesslog.TokenUsage","type":"record","fields":[{"name":"prompt_tokens","type":"int"},{"name":"completion_tokens","type":"int"}]}]}]}',
  ));
});
