// The golden v2 message, shared with the Python SDK: fixtures/golden-entry.json's
// `v2` entry, encoded by this codec, is fixtures/witness-entry.v2.typescript.hex
// (WITNESSLOG_WRITE_FIXTURES=1 rewrites it); the Python SDK writes
// witness-entry.v2.python.hex (fastavro) from the same entry. The two must be the
// same bytes, and each side decodes the other's. Only files are read: a unit test.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { createCodec, currentSchemaVersion, schemaVersions } from '../../src/index.js';
import { GOLDEN_DIM, goldenEntry, goldenV2Entry } from '../../../test/support/golden-entry.js';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const read = (name: string) => Buffer.from(readFileSync(fixture(name), 'utf8').trim(), 'hex');
const TYPESCRIPT = 'witness-entry.v2.typescript.hex';
const PYTHON = 'witness-entry.v2.python.hex';
const codec = createCodec({ dim: GOLDEN_DIM });

test('the golden v2 entry is the golden v1 entry plus producer, trace and usage', () => {
  const { producer, trace, usage, ...v1Part } = goldenV2Entry();
  assert.deepStrictEqual(v1Part, goldenEntry());
  assert.deepStrictEqual(producer, { id: '5f0c6a1e-2b7d-4c3a-9e8f-1a2b3c4d5e6f', seq: 41, service: 'golden-service', host: 'golden-host' });
  assert.deepStrictEqual(trace, { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' });
  assert.deepStrictEqual(usage, { prompt_tokens: 512, completion_tokens: 128 });
});

test('writes exactly the committed TypeScript v2 bytes, with the v2 fingerprint, and reads them back', () => {
  const message = codec.encode(goldenV2Entry());
  if (process.env.WITNESSLOG_WRITE_FIXTURES === '1') writeFileSync(fixture(TYPESCRIPT), `${message.toString('hex')}\n`);
  assert.deepStrictEqual(message, read(TYPESCRIPT));
  assert.equal(message.readBigUInt64LE(2), currentSchemaVersion.fingerprint);
  assert.equal(currentSchemaVersion.version, 2);
  assert.deepStrictEqual(codec.decode(message), goldenV2Entry());
  // The v2 body is the v1 body with the three unions appended: v1's bytes stay a prefix.
  const v1Body = createCodec({ dim: GOLDEN_DIM, reader: schemaVersions[0] }).encode(goldenEntry()).subarray(10);
  assert.deepStrictEqual(message.subarray(10, 10 + v1Body.length), v1Body);
});

test('the Python SDK\'s v2 message is byte-identical to ours, and this codec decodes it', { skip: !existsSync(fixture(PYTHON)) && `${PYTHON} not written yet (the Python SDK's test_codec.py writes it)` }, () => {
  const python = read(PYTHON);
  assert.deepStrictEqual(python, read(TYPESCRIPT));
  assert.deepStrictEqual(codec.decode(python), goldenV2Entry());
});
