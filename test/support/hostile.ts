// Messages a hostile writer puts on the topic (issue 13), built from a valid
// message by rewriting its bytes, so the header is valid and only the attack
// differs. Shared by the schemas tests and the adversarial suite (test/adversarial/).
import avro from 'avsc';
import { createCodec, currentSchemaVersion, HEADER_BYTES, type WitnessEntry } from '../../schemas/src/index.js';
import { fullEntry, minimalEntry } from './entries.js';

const codec = createCodec();

/** Avro's zig-zag varint of a long. */
export function varint(n: number): Buffer {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const bytes: number[] = [];
  while (z >= 0x80) {
    bytes.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  bytes.push(z);
  return Buffer.from(bytes);
}

/** The v1 schema with plain `bytes` for the vectors: it writes what the codec would refuse (same bytes on the wire). */
const rawType = avro.Type.forSchema(
  JSON.parse(JSON.stringify(currentSchemaVersion.schema).replaceAll('"logicalType":"float32-vector"', '"x":0')) as avro.Schema,
  { wrapUnions: 'never' },
);

/** The Avro body of `entry` without validation, as a buggy writer would write it. */
export function rawBody(entry: WitnessEntry): Buffer {
  const vec = (v: WitnessEntry['query_embedding']) => Buffer.from(Float32Array.from(v).buffer);
  return rawType.toBuffer({
    ...entry,
    query_embedding: vec(entry.query_embedding),
    response_embedding: vec(entry.response_embedding),
    timestamp: 1_795_000_000_000_000,
  });
}

/** The length of the message the issue reproduced the length bombs with. */
export const BOMB_MESSAGE_BYTES = 3_235;

export type BombField = 'model_probs' | 'context_doc_ids' | 'tags';

function setArray(entry: WitnessEntry, field: BombField, value: unknown[]): WitnessEntry {
  if (field === 'model_probs') return { ...entry, routing_decision: { ...entry.routing_decision, model_probs: value as number[] } };
  return { ...entry, [field]: value };
}

/**
 * A valid header and body whose `field` array has one block claiming `count`
 * items and holding none: avsc 5.7.9 loops and allocates `count` times.
 * BOMB_MESSAGE_BYTES long for model_probs (the message), a few bytes
 * more for the others (model_probs keeps its 4 values there).
 */
export function arrayBomb(field: BombField, count: number): Buffer {
  // A 768-dim query embedding and nothing optional; the session id is padded
  // up to the length of the message where the entry is short enough
  // (a session id of 64+ bytes takes a 2-byte length, hence the loop).
  let entry = minimalEntry();
  let empty: Buffer = Buffer.alloc(0);
  for (let pad = 1; pad < BOMB_MESSAGE_BYTES; pad++) {
    entry = { ...entry, session_id: 's'.repeat(pad) };
    empty = rawBody(setArray(entry, field, []));
    if (HEADER_BYTES + empty.length - 1 + varint(count).length >= BOMB_MESSAGE_BYTES) break;
  }
  const one = rawBody(setArray(entry, field, field === 'model_probs' ? [0.5] : ['x']));
  // The first byte where they differ is the block count (0 against 1 item).
  const at = empty.findIndex((b, i) => b !== one[i]);
  const body = Buffer.concat([empty.subarray(0, at), varint(count), empty.subarray(at + 1)]);
  return Buffer.concat([codec.encode(fullEntry()).subarray(0, HEADER_BYTES), body]);
}

/** A string field's setter: puts `value` where the field is. */
export type StringField = { name: string; set: (entry: WitnessEntry, value: string) => WitnessEntry };

export const STRING_FIELDS: readonly StringField[] = [
  { name: 'session_id', set: (e, v) => ({ ...e, session_id: v }) },
  { name: 'tags[1]', set: (e, v) => ({ ...e, tags: ['prod', v, 'last'] }) },
  { name: 'error.message', set: (e, v) => ({ ...e, error: { ...e.error!, message: v } }) },
  { name: 'error.stack_trace', set: (e, v) => ({ ...e, error: { ...e.error!, stack_trace: v } }) },
];

/** Bytes that are not UTF-8, each with why. */
export const INVALID_UTF8: ReadonlyArray<{ why: string; bytes: Buffer }> = [
  { why: 'a lone continuation byte', bytes: Buffer.from([0x80]) },
  { why: 'a byte UTF-8 never uses', bytes: Buffer.from([0xff]) },
  { why: 'an overlong "/"', bytes: Buffer.from([0xc0, 0xaf]) },
  { why: 'an encoded lone surrogate U+D800', bytes: Buffer.from([0xed, 0xa0, 0x80]) },
  { why: 'a sequence cut short', bytes: Buffer.from([0xe2, 0x82]) },
  { why: 'above U+10FFFF', bytes: Buffer.from([0xf4, 0x90, 0x80, 0x80]) },
];

/**
 * A valid message (fullEntry, with `field` holding `ok-<bad>-ok`) whose string
 * has `bad` bytes in the middle: written with an ASCII marker of the same
 * length, which is then overwritten.
 */
export function invalidUtf8Message(field: StringField, bad: Buffer, entry: WitnessEntry = fullEntry()): Buffer {
  const bytes = Buffer.concat([Buffer.from('ok-'), bad, Buffer.from('-ok')]);
  const marker = 'MARK'.padEnd(bytes.length, '~');
  const message = Buffer.from(codec.encode(field.set(entry, marker)));
  const at = message.indexOf(marker, HEADER_BYTES, 'latin1');
  if (at < 0 || message.indexOf(marker, at + 1, 'latin1') >= 0) throw new Error(`marker for ${field.name} not found once`);
  bytes.copy(message, at);
  return message;
}
