// The checkpoint's wire format: framed like an entry (C3 01 | CRC-64-AVRO
// fingerprint of witness-checkpoint.avsc, 8 bytes little-endian | Avro body), so
// a reader of the witness topic tells the two apart by fingerprint alone.
import avro from 'avsc';
import { compileBodyCheck } from './bounded-decode.js';
import { parsingCanonicalForm } from './canonical-form.js';
import { validateCheckpoint, type WitnessCheckpoint } from './checkpoint.js';
import { crc64Avro, fingerprintHex } from './crc64.js';
import { BadMarkerError, DecodeError, MalformedBodyError, TruncatedMessageError, UnknownFingerprintError } from './errors.js';
import { checkpointSchema } from './generated/schema-files.js';

const HEADER = 10;
const type = avro.Type.forSchema(checkpointSchema as avro.Schema);
const check = compileBodyCheck(type);

/** CRC-64-AVRO of the checkpoint schema's Parsing Canonical Form, unsigned. */
export const checkpointFingerprint: bigint = crc64Avro(parsingCanonicalForm(checkpointSchema));
export const checkpointFingerprintHex: string = fingerprintHex(checkpointFingerprint);

const header = Buffer.alloc(HEADER);
header[0] = 0xc3;
header[1] = 0x01;
header.writeBigUInt64LE(checkpointFingerprint, 2);

/** Validates (InvalidCheckpointError names the field), then encodes. */
export function encodeCheckpoint(checkpoint: WitnessCheckpoint): Buffer {
  validateCheckpoint(checkpoint);
  return Buffer.concat([header, type.toBuffer(checkpoint)]);
}

/** True when the message carries the checkpoint schema's fingerprint (whatever its body holds). */
export function isCheckpointMessage(bytes: Uint8Array): boolean {
  if (bytes.length < HEADER) return false;
  for (let i = 0; i < HEADER; i++) if (bytes[i] !== header[i]) return false;
  return true;
}

/**
 * A DecodeError subclass for bytes that are not a checkpoint message,
 * InvalidCheckpointError for one that claims the impossible.
 */
export function decodeCheckpoint(bytes: Uint8Array): WitnessCheckpoint {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER) throw new TruncatedMessageError(`message of ${buf.length} bytes is shorter than the ${HEADER}-byte header`);
  if (buf[0] !== 0xc3 || buf[1] !== 0x01) throw new BadMarkerError(`not an Avro single-object message: starts with ${buf.subarray(0, 2).toString('hex')}, not c301`);
  if (!isCheckpointMessage(buf)) throw new UnknownFingerprintError(fingerprintHex(buf.readBigUInt64LE(2)));
  // Counts and lengths first: avsc trusts them (bounded-decode.ts).
  check(buf, HEADER);
  let result: { value: unknown; offset: number };
  try {
    result = type.decode(buf, HEADER);
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new MalformedBodyError(`body does not follow the checkpoint schema: ${(err as Error).message}`, err);
  }
  if (result.offset < 0) throw new TruncatedMessageError(`message of ${buf.length} bytes ends inside the body`);
  if (result.offset !== buf.length) throw new MalformedBodyError(`${buf.length - result.offset} bytes after the end of the body`);
  const checkpoint = plain(result.value as WitnessCheckpoint);
  validateCheckpoint(checkpoint);
  return checkpoint;
}

/** avsc hands out instances of generated record classes; the record is plain objects (payload, deepEqual). */
function plain(c: WitnessCheckpoint): WitnessCheckpoint {
  return {
    producer_id: c.producer_id,
    service: c.service,
    host: c.host,
    checkpoint_seq: c.checkpoint_seq,
    sent_at: c.sent_at,
    high_seq: c.high_seq,
    undelivered: c.undelivered.map((r) => ({ from: r.from, to: r.to, reason: r.reason })),
    truncated: c.truncated,
    refused: { invalid: c.refused.invalid, sampled_out: c.refused.sampled_out, redact_failed: c.refused.redact_failed },
    final: c.final,
  };
}
