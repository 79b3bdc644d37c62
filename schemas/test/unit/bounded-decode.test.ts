// Hostile bodies (issue 13): length bombs and strings that are not UTF-8 are
// refused with a typed error naming the field, before avsc allocates for them.
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { test } from 'node:test';
import avro from 'avsc';
import { firstIllFormed } from '../../src/body-errors.js';
import { compileBodyCheck } from '../../src/bounded-decode.js';
import {
  createCodec,
  DecodeBoundsError,
  DecodeError,
  decodeCaps,
  decodeEntry,
  encodeEntry,
  HEADER_BYTES,
  InvalidUtf8Error,
  loadSchemaVersion,
  MalformedBodyError,
  TruncatedMessageError,
  type WitnessEntry,
} from '../../src/index.js';
import { fullEntry, minimalEntry } from '../../../test/support/entries.js';
import { arrayBomb, BOMB_MESSAGE_BYTES, INVALID_UTF8, invalidUtf8Message, rawBody, STRING_FIELDS, varint, type BombField } from '../../../test/support/hostile.js';

const BOMB_FIELDS: ReadonlyArray<[BombField, string]> = [
  ['model_probs', 'routing_decision.model_probs'],
  ['context_doc_ids', 'context_doc_ids'],
  ['tags', 'tags'],
];

/**
 * Heap growth and time of one call. Without the bounded pass a count of 2^26
 * took avsc seconds and a gigabyte; 2^31-1 ended the process. The bounds are
 * loose on purpose (a loaded machine, a GC at the wrong time): they tell
 * "bounded by the message" from "bounded by the claim", not a tuning target.
 */
function cost(fn: () => void): { ms: number; heapBytes: number } {
  const heap = process.memoryUsage().heapUsed;
  const start = performance.now();
  try {
    fn();
  } catch {
    // The caller asserts the error separately.
  }
  return { ms: performance.now() - start, heapBytes: process.memoryUsage().heapUsed - heap };
}

test(`the issue's ${BOMB_MESSAGE_BYTES}-byte message whose model_probs, context_doc_ids or tags claims 2^31-1 or 2^26 items fails fast with WITNESS_DECODE_BOUNDS`, () => {
  for (const [field, path] of BOMB_FIELDS) {
    for (const count of [2 ** 31 - 1, 2 ** 26]) {
      const message = arrayBomb(field, count);
      if (field === 'model_probs') assert.equal(message.length, BOMB_MESSAGE_BYTES);
      assert.throws(
        () => decodeEntry(message),
        (err: unknown) => {
          assert.ok(err instanceof DecodeBoundsError, `${field} ${count}: ${String(err)}`);
          assert.equal(err.code, 'WITNESS_DECODE_BOUNDS');
          assert.equal(err.field, path);
          assert.equal(err.claimed, count);
          assert.equal(err.cap, decodeCaps.fields[path]);
          assert.equal(err.retriable, false);
          assert.match(err.message, new RegExp(`^${path.replace('.', '\\.')} claims ${count} items`));
          return true;
        },
      );
      const { ms, heapBytes } = cost(() => decodeEntry(message));
      assert.ok(ms < 250, `${field} ${count}: ${ms.toFixed(1)} ms`);
      assert.ok(heapBytes < 1024 * 1024, `${field} ${count}: heap grew ${heapBytes} bytes`);
      // Forensic reads without validation are bounded the same way.
      assert.throws(() => decodeEntry(message, { validate: false }), DecodeBoundsError);
    }
  }
});

test('a count within the cap but beyond the bytes left is WITNESS_TRUNCATED naming the field', () => {
  // 200 tags need at least 200 bytes (each a length, at least); the message ends 1 byte after the count.
  const message = arrayBomb('tags', 200);
  assert.throws(() => decodeEntry(message), (err: unknown) => {
    assert.ok(err instanceof TruncatedMessageError);
    assert.match(err.message, /ends inside the body, in tags at offset/);
    return true;
  });
  // 4 doubles are 32 bytes: a claim of 30 doubles with the body's tail behind it runs out.
  assert.throws(() => decodeEntry(arrayBomb('model_probs', 30)), { code: 'WITNESS_TRUNCATED', message: /in routing_decision\.model_probs/ });
});

test('the bounded pass throws from the DecodeError family, codes unchanged: one instanceof catches every undecodable message', () => {
  const cases: Array<[Buffer, string]> = [
    [arrayBomb('tags', 2 ** 26), 'WITNESS_DECODE_BOUNDS'],
    [invalidUtf8Message(STRING_FIELDS[0]!, INVALID_UTF8[0]!.bytes), 'WITNESS_INVALID_UTF8'],
    [arrayBomb('tags', 200), 'WITNESS_TRUNCATED'],
  ];
  for (const [message, code] of cases) {
    assert.throws(() => decodeEntry(message), (err: unknown) => err instanceof DecodeError && err.code === code, code);
  }
});

/** A copy of a valid message whose varint at `at` (`width` bytes long) is replaced by `n`. */
function withVarint(message: Buffer, at: number, n: number, width = 1): Buffer {
  return Buffer.concat([message.subarray(0, at), varint(n), message.subarray(at + width)]);
}

test('the v2 strings have caps of their own: producer.service, producer.host, trace.trace_id, trace.span_id', () => {
  const entry = fullEntry();
  const message = encodeEntry(entry);
  for (const [path, text] of [
    ['producer.service', entry.producer!.service],
    ['producer.host', entry.producer!.host],
    ['trace.trace_id', entry.trace!.trace_id],
    ['trace.span_id', entry.trace!.span_id],
  ] as const) {
    const at = message.indexOf(text, HEADER_BYTES, 'latin1') - 1;
    assert.equal(message[at], 2 * text.length, `${path}: its length byte`);
    const cap = decodeCaps.fields[path]!;
    assert.ok(cap >= 3 * text.length && cap < 64 * 1024, `${path}: cap ${cap}`);
    assert.throws(() => decodeEntry(withVarint(message, at, cap + 1)), { code: 'WITNESS_DECODE_BOUNDS', field: path, claimed: cap + 1, cap });
  }
});

test('string and bytes lengths above the cap are WITNESS_DECODE_BOUNDS, below it but past the end WITNESS_TRUNCATED', () => {
  const message = encodeEntry(minimalEntry());
  // Body: request_id (1-byte length 36, then 36 bytes), session_id (1-byte length, bytes), query_embedding.
  const sessionAt = HEADER_BYTES + 1 + 36;
  const sessionLength = message[sessionAt]! / 2;
  const embeddingAt = sessionAt + 1 + sessionLength;
  // The embedding's length (3072 bytes) takes 2.
  assert.equal(message.readUInt16LE(embeddingAt), 0x3080);
  const cases: Array<[number, number, number, string, string]> = [
    [HEADER_BYTES, 1, 2 ** 40, 'request_id', 'WITNESS_DECODE_BOUNDS'],
    [sessionAt, 1, 2 ** 31 - 1, 'session_id', 'WITNESS_DECODE_BOUNDS'],
    [sessionAt, 1, decodeCaps.fields.session_id! + 1, 'session_id', 'WITNESS_DECODE_BOUNDS'],
    [sessionAt, 1, decodeCaps.fields.session_id!, 'session_id', 'WITNESS_TRUNCATED'],
    [embeddingAt, 2, 2 ** 31 - 1, 'query_embedding', 'WITNESS_DECODE_BOUNDS'],
    [embeddingAt, 2, decodeCaps.fields.query_embedding! + 4, 'query_embedding', 'WITNESS_DECODE_BOUNDS'],
    [embeddingAt, 2, decodeCaps.fields.query_embedding!, 'query_embedding', 'WITNESS_TRUNCATED'],
  ];
  for (const [at, width, n, field, code] of cases) {
    const bad = withVarint(message, at, n, width);
    assert.throws(() => decodeEntry(bad), (err: unknown) => {
      assert.equal((err as DecodeBoundsError).code, code, `${field} = ${n}: ${String(err)}`);
      if (err instanceof DecodeBoundsError) assert.equal(err.field, field);
      else assert.match((err as Error).message, new RegExp(`in ${field} at offset`));
      return true;
    });
  }
  // A negative length and a varint of more than 10 bytes are malformed, not a length.
  assert.throws(() => decodeEntry(withVarint(message, sessionAt, -5)), { code: 'WITNESS_MALFORMED_BODY', message: /session_id: negative length -5/ });
  const long = Buffer.concat([message.subarray(0, sessionAt), Buffer.alloc(11, 0x80), Buffer.from([1]), message.subarray(sessionAt + 1)]);
  assert.throws(() => decodeEntry(long), { code: 'WITNESS_MALFORMED_BODY', message: /session_id: varint longer than 10 bytes/ });
});

test('the caps leave room above the validation limits: an over-limit entry still decodes without validation', () => {
  const entry: WitnessEntry = {
    ...fullEntry(),
    tags: Array.from({ length: 40 }, (_, i) => `t${i}`),
    error: { code: 'E', message: 'm', stack_trace: 'at f()\n'.repeat(6_000), recovery_attempted: false },
  };
  // Written past validation, as a buggy writer would.
  const message = Buffer.concat([encodeEntry(fullEntry()).subarray(0, HEADER_BYTES), rawBody(entry)]);
  assert.throws(() => decodeEntry(message), { code: 'WITNESS_INVALID_ENTRY' });
  assert.equal(decodeEntry(message, { validate: false }).tags.length, 40);
});

test('blocks with a negative count (followed by their size in bytes) decode as before', () => {
  const plain = arrayBomb('model_probs', 0); // its model_probs is one empty block; find where
  const reference = arrayBomb('model_probs', 1);
  const at = plain.findIndex((b, i) => b !== reference[i]);
  // model_probs as one block of -4 items, 32 bytes, then the end.
  const probs = Buffer.alloc(32);
  [0.25, 0.25, 0.25, 0.25].forEach((p, i) => probs.writeDoubleLE(p, i * 8));
  const blocked = Buffer.concat([plain.subarray(0, at), varint(-4), varint(32), probs, plain.subarray(at)]);
  assert.deepStrictEqual(decodeEntry(blocked).routing_decision.model_probs, [0.25, 0.25, 0.25, 0.25]);
  // Two blocks add up against the cap: 20 + 20 > 32.
  const twice = Buffer.concat([plain.subarray(0, at), varint(20), Buffer.alloc(160), varint(20), plain.subarray(at)]);
  assert.throws(() => decodeEntry(twice), { code: 'WITNESS_DECODE_BOUNDS', claimed: 40 });
});

test('strings that are not UTF-8 are WITNESS_INVALID_UTF8 naming the field, also without validation', () => {
  for (const field of STRING_FIELDS) {
    for (const { why, bytes } of INVALID_UTF8) {
      const message = invalidUtf8Message(field, bytes);
      for (const validate of [true, false]) {
        assert.throws(
          () => decodeEntry(message, { validate }),
          (err: unknown) => {
            assert.ok(err instanceof InvalidUtf8Error, `${field.name}, ${why}: ${String(err)}`);
            assert.equal(err.code, 'WITNESS_INVALID_UTF8');
            assert.equal(err.field, field.name);
            // The offset points at the bad bytes, 3 bytes into "ok-<bad>-ok".
            assert.ok(message.subarray(err.offset).subarray(0, bytes.length).equals(bytes), `${field.name}, ${why}: offset ${err.offset}`);
            assert.ok(err.message.includes(bytes.toString('hex')), err.message);
            return true;
          },
        );
      }
    }
  }
});

test('UTF-8 that is valid, up to 4-byte sequences, decodes unchanged', () => {
  // 'ø' × 100 is 200 bytes: past the ASCII loop, checked by isUtf8.
  for (const text of ['zürich', '✓ ünïcödé', '😀 emoji', '\u{10ffff}', 'a\u0000b', 'ø'.repeat(100), `${'a'.repeat(100)}é`]) {
    for (const field of STRING_FIELDS) {
      const entry = field.set(fullEntry(), text);
      const decoded = decodeEntry(encodeEntry(entry));
      assert.deepStrictEqual(decoded, { ...entry, query_embedding: decoded.query_embedding, response_embedding: decoded.response_embedding }, field.name);
    }
  }
});

test('firstIllFormed, which names the bad byte, agrees with isUtf8 on random bytes', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) >>> 16) & 0xff;
  // Bytes drawn mostly from the ranges where UTF-8 rules bite.
  const pick = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
  for (let n = 0; n < 20_000; n++) {
    const bytes = Buffer.from(Array.from({ length: 1 + (random() % 6) }, () => pick[random() % pick.length]!));
    const at = firstIllFormed(bytes);
    assert.equal(at === -1, isUtf8(bytes), bytes.toString('hex'));
    if (at >= 0) assert.ok(isUtf8(bytes.subarray(0, at)), `the part before ${at} of ${bytes.toString('hex')} is valid`);
  }
});

test('the pass walks the writer schema: a newer message is checked by its schema even where an older reader drops the field', () => {
  const next = loadSchemaVersion(3, new URL('../fixtures/witness-entry.test-v3.avsc', import.meta.url));
  const producer = createCodec({ reader: next });
  const consumer = createCodec({ writers: [next] });
  const good = producer.encode({ ...fullEntry(), serving_node: 'node-MARK' } as WitnessEntry);
  assert.equal(consumer.decode(good).session_id, fullEntry().session_id);
  const bad = Buffer.from(good);
  bad[bad.indexOf('MARK', HEADER_BYTES, 'latin1')] = 0xc0;
  assert.throws(() => consumer.decode(bad), { code: 'WITNESS_INVALID_UTF8', field: 'serving_node' });
  // serving_node has no cap of its own: the default applies.
  const node = bad.indexOf('node-', HEADER_BYTES, 'latin1') - 1;
  assert.equal(bad[node], 2 * 'node-MARK'.length);
  assert.throws(() => consumer.decode(withVarint(bad, node, decodeCaps.defaultBytes + 1)), { code: 'WITNESS_DECODE_BOUNDS', field: 'serving_node' });
});

test('types without a byte per item are bounded by the cap alone; a schema that nests itself by a depth limit', () => {
  const nulls = compileBodyCheck(avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'n', type: { type: 'array', items: 'null' } }] }));
  nulls(Buffer.concat([varint(decodeCaps.defaultItems), varint(0)]), 0);
  assert.throws(() => nulls(Buffer.concat([varint(2 ** 31 - 1), varint(0)]), 0), { code: 'WITNESS_DECODE_BOUNDS', field: 'n', claimed: 2 ** 31 - 1 });

  const list = avro.Type.forSchema({
    type: 'record',
    name: 'Node',
    fields: [
      { name: 'value', type: 'int' },
      { name: 'next', type: ['null', 'Node'] },
    ],
  });
  const check = compileBodyCheck(list);
  const nested = (depth: number) => Buffer.concat([...Array.from({ length: depth }, () => Buffer.from([2, 2])), Buffer.from([2, 0])]);
  check(nested(50), 0);
  assert.throws(() => check(nested(10_000), 0), { code: 'WITNESS_DECODE_BOUNDS', claimed: 65, cap: 64 });
});

test('maps: keys are strings, checked like any other', () => {
  const check = compileBodyCheck(avro.Type.forSchema({ type: 'map', values: 'int' }));
  check(Buffer.concat([varint(1), varint(1), Buffer.from('k'), varint(5), varint(0)]), 0);
  assert.throws(() => check(Buffer.concat([varint(1), varint(1), Buffer.from([0xff]), varint(5), varint(0)]), 0), { code: 'WITNESS_INVALID_UTF8' });
  // 1,000 entries need at least 2,000 bytes (a key length and a value each).
  assert.throws(() => check(Buffer.concat([varint(1_000), Buffer.alloc(1_999)]), 0), { code: 'WITNESS_TRUNCATED' });
  check(Buffer.concat([varint(1_000), Buffer.alloc(2_000), varint(0)]), 0);
  assert.throws(() => check(Buffer.concat([varint(2 ** 30), varint(1)]), 0), { code: 'WITNESS_DECODE_BOUNDS', claimed: 2 ** 30 });
  assert.throws(() => check(Buffer.concat([varint(1), varint(1), Buffer.from('k'), varint(5), varint(0), Buffer.from([9])]), 0), MalformedBodyError);
});
