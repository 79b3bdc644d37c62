// Every error this package throws, on the core's WitnessError base. `code` is stable and safe as a metric label
// or a dead-letter reason; `retriable` tells callers whether trying the same
// bytes or entry again could ever succeed (for everything here it cannot).
import { WitnessError, describeValue, type WitnessErrorOptions } from '@witnesslog/core';

/** The codes this package throws, one per failure a caller routes differently. */
export const witnessErrorCodes = Object.freeze({
  invalidEntry: 'WITNESS_INVALID_ENTRY',
  badMarker: 'WITNESS_BAD_MARKER',
  unknownFingerprint: 'WITNESS_UNKNOWN_FINGERPRINT',
  truncated: 'WITNESS_TRUNCATED',
  malformedBody: 'WITNESS_MALFORMED_BODY',
  decodeBounds: 'WITNESS_DECODE_BOUNDS',
  invalidUtf8: 'WITNESS_INVALID_UTF8',
  schemaInvalid: 'WITNESS_SCHEMA_INVALID',
} as const);

export type WitnessErrorCode = (typeof witnessErrorCodes)[keyof typeof witnessErrorCodes];

/** An entry that breaks a rule of the schema or of `limits`; names the field path and the value. */
export class InvalidEntryError extends WitnessError<'WITNESS_INVALID_ENTRY'> {
  /** Path of the offending field, e.g. `routing_decision.model_probs[2]` or `query_embedding[17]`. */
  readonly field: string;
  readonly value: unknown;
  /** What was expected, e.g. `must be within 0..1`. */
  readonly reason: string;

  constructor(field: string, value: unknown, reason: string, options?: WitnessErrorOptions) {
    super('WITNESS_INVALID_ENTRY', `invalid witness entry: ${field} = ${describeValue(value)} (${reason})`, options);
    this.field = field;
    this.value = value;
    this.reason = reason;
  }
}

/** The codes of bytes that cannot be decoded; the field-level ones come from body-errors.ts. */
export type DecodeErrorCode =
  | 'WITNESS_BAD_MARKER'
  | 'WITNESS_UNKNOWN_FINGERPRINT'
  | 'WITNESS_TRUNCATED'
  | 'WITNESS_MALFORMED_BODY'
  | 'WITNESS_DECODE_BOUNDS'
  | 'WITNESS_INVALID_UTF8';

/**
 * Bytes that cannot be decoded into an entry. The consumer dead-letters them with
 * `code` as the reason. One family: `instanceof DecodeError` also catches the
 * bounded pass's DecodeBoundsError and InvalidUtf8Error (body-errors.ts).
 */
export class DecodeError<Code extends DecodeErrorCode = DecodeErrorCode> extends WitnessError<Code> {}

/** The first two bytes are not the single-object marker `C3 01`: not an Avro single-object message. */
export class BadMarkerError extends DecodeError {
  constructor(message: string) {
    super('WITNESS_BAD_MARKER', message);
  }
}

/** The writer schema's fingerprint is not among the versions this codec knows (deploy readers first). */
export class UnknownFingerprintError extends DecodeError {
  /** CRC-64-AVRO fingerprint as 16 hex digits, most significant first. */
  readonly fingerprint: string;

  constructor(fingerprint: string) {
    super('WITNESS_UNKNOWN_FINGERPRINT', `unknown writer schema fingerprint ${fingerprint}`);
    this.fingerprint = fingerprint;
  }
}

/** The message ends before the header or the body does. */
export class TruncatedMessageError extends DecodeError {
  constructor(message: string) {
    super('WITNESS_TRUNCATED', message);
  }
}

/** The body does not follow the writer schema (bad union index, bad vector length, trailing bytes...). */
export class MalformedBodyError extends DecodeError {
  constructor(message: string, cause?: unknown) {
    super('WITNESS_MALFORMED_BODY', message, { cause });
  }
}

/** A schema file or a set of versions that cannot be used (bad JSON, incompatible reader and writer). */
export class SchemaError extends WitnessError<'WITNESS_SCHEMA_INVALID'> {
  constructor(message: string, cause?: unknown) {
    super('WITNESS_SCHEMA_INVALID', message, { cause });
  }
}
