// Errors of the bounded pass over a message body (bounded-decode.ts), one code
// each so the consumer's dead-letter reason and metric label tell a length bomb
// from broken text. They are DecodeErrors (errors.ts): a caller that catches
// undecodable bytes with `instanceof DecodeError` catches these too.
import { DecodeError } from './errors.js';

/** A field of the body, as a path such as `tags[3]` or `error.message`, that cannot be decoded. */
export abstract class BodyFieldError<Code extends 'WITNESS_DECODE_BOUNDS' | 'WITNESS_INVALID_UTF8'> extends DecodeError<Code> {
  readonly field: string;

  constructor(code: Code, field: string, message: string) {
    super(code, message);
    this.field = field;
  }
}

/**
 * A count or length above what the field may ever hold (see `decodeCaps`):
 * refused before anything is allocated for it, so a message that claims 2^31
 * items costs no more than its own bytes.
 */
export class DecodeBoundsError extends BodyFieldError<'WITNESS_DECODE_BOUNDS'> {
  /** The count (items) or length (bytes) the message claims. */
  readonly claimed: number;
  /** The most the field may hold. */
  readonly cap: number;

  constructor(field: string, claimed: number, cap: number, unit: 'items' | 'bytes') {
    super('WITNESS_DECODE_BOUNDS', field, `${field} claims ${claimed} ${unit}, above the decode cap of ${cap}`);
    this.claimed = claimed;
    this.cap = cap;
  }
}

/**
 * A string whose bytes are not strict UTF-8 (a stray continuation byte, an
 * overlong form, an encoded UTF-16 surrogate...). Decoding it would replace
 * them with U+FFFD and store an altered entry; the original bytes stay in the
 * dead letter instead.
 */
export class InvalidUtf8Error extends BodyFieldError<'WITNESS_INVALID_UTF8'> {
  /** Offset in the message of the first byte that is not UTF-8. */
  readonly offset: number;

  /** `bytes`: the string's bytes, which start at `start` in the message. */
  constructor(field: string, start: number, bytes: Uint8Array) {
    const at = Math.max(0, firstIllFormed(bytes));
    const shown = Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(bytes.byteLength - at, MAX_SHOWN_BYTES)).toString('hex');
    super(
      'WITNESS_INVALID_UTF8',
      field,
      `${field} is not valid UTF-8: byte ${at} of ${bytes.byteLength} (offset ${start + at} in the message) starts ${shown}`,
    );
    this.offset = start + at;
  }
}

// Enough bytes to show one bad sequence and what follows it, not a 32 KiB stack trace.
const MAX_SHOWN_BYTES = 8;

/**
 * Index of the first byte that does not begin a well-formed UTF-8 sequence
 * (Unicode 15, table 3-7), -1 when there is none. Only the error path uses it,
 * to point at the bad byte; the check itself is node:buffer's isUtf8.
 */
export function firstIllFormed(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b < 0x80) length = 1;
    else if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0; // overlong
      if (b === 0xed) high = 0x9f; // UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90; // overlong
      if (b === 0xf4) high = 0x8f; // above U+10FFFF
    } else return i;
    if (i + length > bytes.length) return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k]!;
      if (c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return i;
    }
    i += length;
  }
  return -1;
}
