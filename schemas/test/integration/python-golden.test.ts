// Golden messages between the TypeScript codec and the Python SDK (producer/python):
// witness-entry.v1.python.hex was written by the Python codec (its pytest
// test_codec.py checks it still writes exactly these bytes), and
// witness-entry.v1.typescript.hex by this codec, which the Python tests decode.
// WITNESSLOG_WRITE_FIXTURES=1 rewrites the TypeScript one. The entry both encode is
// defined once, in fixtures/golden-entry.json (test_codec.py reads it too).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { createCodec } from '../../src/index.js';
import { goldenEntry, GOLDEN_DIM } from '../../../test/support/golden-entry.js';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const read = (name: string) => Buffer.from(readFileSync(fixture(name), 'utf8').trim(), 'hex');

test('decodes the message the Python SDK wrote', () => {
  assert.deepStrictEqual(createCodec({ dim: GOLDEN_DIM }).decode(read('witness-entry.v1.python.hex')), goldenEntry());
});

test('writes exactly the bytes the Python tests decode', () => {
  const message = createCodec({ dim: GOLDEN_DIM }).encode(goldenEntry());
  if (process.env.WITNESSLOG_WRITE_FIXTURES === '1') writeFileSync(fixture('witness-entry.v1.typescript.hex'), `${message.toString('hex')}\n`);
  assert.deepStrictEqual(message, read('witness-entry.v1.typescript.hex'));
});
