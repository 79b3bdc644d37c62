// Golden messages between the TypeScript codec and the Python SDK (producer/python):
// witness-entry.v1.python.hex was written by the Python codec (its pytest
// test_codec.py checks it still writes exactly these bytes), and
// witness-entry.v1.typescript.hex by this codec, which the Python tests decode.
// WITNESSLOG_WRITE_FIXTURES=1 rewrites the TypeScript one. The entry both encode is
// defined once, in fixtures/golden-entry.json (test_codec.py reads it too).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { createCodec, schemaVersions } from '../../src/index.js';
import { goldenEntry, GOLDEN_DIM } from '../../../test/support/golden-entry.js';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const read = (name: string) => Buffer.from(readFileSync(fixture(name), 'utf8').trim(), 'hex');
// v1 stays a version both SDKs decode: these bytes never change (v2's golden is in test/unit/golden-v2.test.ts).
const v1 = createCodec({ dim: GOLDEN_DIM, reader: schemaVersions[0] });

test('decodes the message the Python SDK wrote', () => {
  assert.deepStrictEqual(v1.decode(read('witness-entry.v1.python.hex')), goldenEntry());
  // And the current reader reads it with the three v2 fields null.
  assert.deepStrictEqual(createCodec({ dim: GOLDEN_DIM }).decode(read('witness-entry.v1.python.hex')), { ...goldenEntry(), producer: null, trace: null, usage: null });
});

test('writes exactly the bytes the Python tests decode', () => {
  const message = v1.encode(goldenEntry());
  if (process.env.WITNESSLOG_WRITE_FIXTURES === '1') writeFileSync(fixture('witness-entry.v1.typescript.hex'), `${message.toString('hex')}\n`);
  assert.deepStrictEqual(message, read('witness-entry.v1.typescript.hex'));
});
