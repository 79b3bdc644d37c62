// Avro single-object encoding (Avro specification, "Single object encoding"):
//   C3 01 | CRC-64-AVRO fingerprint of the writer schema, 8 bytes little-endian | Avro binary body
// Everything that can be decided once (avsc types, resolvers from each known
// writer to the reader, the header bytes, the plain-object converter) is
// decided in createCodec; encode and decode only do the work of one message.
import avro from 'avsc';
import type { DecodedWitnessEntry, WitnessEntry } from './entry.js';
import { compileBodyCheck, type BodyCheck } from './bounded-decode.js';
import { fingerprintHex } from './crc64.js';
import {
  BadMarkerError,
  DecodeError,
  InvalidEntryError,
  MalformedBodyError,
  SchemaError,
  TruncatedMessageError,
  UnknownFingerprintError,
} from './errors.js';
import { Slab } from './slab.js';
import { checkDim, DEFAULT_DIM, validateEntry } from './validate.js';
import { currentSchemaVersion, schemaVersions, type SchemaVersion } from './versions.js';

const MARKER_0 = 0xc3;
const MARKER_1 = 0x01;
/** Marker (2 bytes) plus fingerprint (8 bytes). */
export const HEADER_BYTES = 10;

export interface CodecOptions {
  /** Schema that decoded entries are resolved to. Default: the newest production version. */
  reader?: SchemaVersion;
  /** Schema that encode writes. Default: `reader`. */
  writer?: SchemaVersion;
  /**
   * Writer schemas that decode accepts, found by fingerprint; `reader` and
   * `writer` are always added. Default: every production version. A message
   * from a writer not listed fails with WITNESS_UNKNOWN_FINGERPRINT, which is
   * why consumers must learn a new version before producers write it.
   */
  writers?: readonly SchemaVersion[];
  /** Embedding dimension that encode and decode validate against. Default 768. */
  dim?: number;
}

export interface DecodeOptions {
  /** Overrides the codec's dimension for this call. */
  dim?: number;
  /** Validate the decoded entry like encode does (default true); false for forensic reads of dead letters. */
  validate?: boolean;
}

export interface WitnessCodec {
  readonly reader: SchemaVersion;
  readonly writer: SchemaVersion;
  readonly writers: readonly SchemaVersion[];
  readonly dim: number;
  /** Validates, then encodes; throws InvalidEntryError naming the first bad field. */
  encode(entry: WitnessEntry): Buffer;
  /**
   * Throws a DecodeError subclass for bytes that are not a message,
   * DecodeBoundsError for a count or length above a field's cap,
   * InvalidUtf8Error for a string that is not UTF-8, InvalidEntryError for a
   * message whose entry breaks a rule.
   */
  decode(bytes: Uint8Array, options?: DecodeOptions): DecodedWitnessEntry;
}

type Resolver = ReturnType<avro.Type['createResolver']>;

interface KnownWriter {
  version: SchemaVersion;
  /** undefined when the writer's canonical form equals the reader's: read directly. */
  resolver: Resolver | undefined;
  /** The bounded pass over a body of this writer, before avsc reads it (bounded-decode.ts). */
  check: BodyCheck;
}

export function createCodec(options: CodecOptions = {}): WitnessCodec {
  const reader = options.reader ?? currentSchemaVersion;
  const writer = options.writer ?? reader;
  const dim = options.dim === undefined ? DEFAULT_DIM : checkDim(options.dim);
  // The codec sees entries the SDK completed (producer set) and decoded ones.
  const validateOptions = { dim, origin: 'sdk' } as const;

  const known = new Map<bigint, KnownWriter>();
  for (const version of [reader, writer, ...(options.writers ?? schemaVersions)]) {
    if (known.has(version.fingerprint)) continue;
    let resolver: Resolver | undefined;
    if (version.fingerprint !== reader.fingerprint) {
      try {
        resolver = reader.type.createResolver(version.type);
      } catch (err) {
        throw new SchemaError(
          `reader version ${reader.version} cannot read writer version ${version.version}: ${(err as Error).message}`,
          err,
        );
      }
    }
    known.set(version.fingerprint, { version, resolver, check: compileBodyCheck(version.type) });
  }
  const writers = Object.freeze([...known.values()].map((k) => k.version));

  const readerType = reader.type;
  const writerType = writer.type;
  const toPlain = plainConverter(readerType) ?? ((value: unknown) => value);

  // Messages are written straight into a slab, header included, and handed out
  // as slices: no copy and no allocation per message (see slab.ts). Only the
  // part past slab.offset is ever written, which matters because avsc 5.7.9
  // writes a few junk bytes past short multi-byte strings (its UTF-8 loop runs
  // to the byte length): they land in the unused part, never in a message
  // already handed out.
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = MARKER_0;
  header[1] = MARKER_1;
  header.writeBigUInt64LE(writer.fingerprint, 2);
  const slab = new Slab();
  // Size of the previous message: when the next one may not fit, start a new
  // slab first instead of encoding twice.
  let expected = 0;

  function encode(entry: WitnessEntry): Buffer {
    validateEntry(entry, validateOptions);
    try {
      if (slab.remaining < expected + (expected >> 2) + 64) slab.renew();
      let end = writerType.encode(entry, slab.buffer, slab.offset + HEADER_BYTES);
      if (end < 0) {
        slab.renew();
        end = writerType.encode(entry, slab.buffer, HEADER_BYTES);
      }
      if (end < 0) {
        // Larger than a slab (very large dimensions): a buffer of its own.
        // avsc returns minus the bytes missing.
        const own = Buffer.allocUnsafeSlow(slab.buffer.length - end);
        end = writerType.encode(entry, own, HEADER_BYTES);
        header.copy(own, 0);
        expected = 0;
        return own;
      }
      header.copy(slab.buffer, slab.offset);
      expected = end - slab.offset;
      return slab.take(end);
    } catch (err) {
      // Only fields validateEntry does not know (a newer writer's) get here.
      throw schemaMismatch(writerType, entry, err);
    }
  }

  function decode(bytes: Uint8Array, decodeOptions?: DecodeOptions): DecodedWitnessEntry {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if ((buf.length > 0 && buf[0] !== MARKER_0) || (buf.length > 1 && buf[1] !== MARKER_1)) {
      throw new BadMarkerError(`not an Avro single-object message: starts with ${buf.subarray(0, 2).toString('hex')}, not c301`);
    }
    if (buf.length < HEADER_BYTES) {
      throw new TruncatedMessageError(`message of ${buf.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
    }
    const fingerprint = buf.readBigUInt64LE(2);
    const source = known.get(fingerprint);
    if (source === undefined) throw new UnknownFingerprintError(fingerprintHex(fingerprint));

    // Counts, lengths and UTF-8 are checked over the bytes first: avsc trusts them.
    source.check(buf, HEADER_BYTES);
    let result: { value: unknown; offset: number };
    try {
      result = readerType.decode(buf, HEADER_BYTES, source.resolver);
    } catch (err) {
      if (err instanceof DecodeError) throw err;
      throw new MalformedBodyError(
        `body does not follow writer schema version ${source.version.version}: ${(err as Error).message}`,
        err,
      );
    }
    if (result.offset < 0) throw new TruncatedMessageError(`message of ${buf.length} bytes ends inside the body`);
    if (result.offset !== buf.length) {
      throw new MalformedBodyError(`${buf.length - result.offset} bytes after the end of the body`);
    }

    const entry = toPlain(result.value) as DecodedWitnessEntry;
    if (decodeOptions?.validate !== false) {
      validateEntry(entry, decodeOptions?.dim === undefined ? validateOptions : { ...validateOptions, dim: decodeOptions.dim });
    }
    return entry;
  }

  return Object.freeze({ reader, writer, writers, dim, encode, decode });
}

/** The error for a value avsc refused, with the path avsc reports. */
function schemaMismatch(type: avro.Type, entry: unknown, cause: unknown): InvalidEntryError {
  let field = '(entry)';
  let value: unknown = entry;
  let expected = 'a value of the schema';
  type.isValid(entry, {
    errorHook: (path, bad, badType) => {
      field = path.join('.');
      value = bad;
      expected = String(badType.typeName);
    },
  });
  return new InvalidEntryError(field, value, `must match the Avro schema (${expected})`, { cause });
}

type Convert = (value: unknown) => unknown;

/**
 * avsc decodes records into instances of generated classes; the entry handed
 * out is plain objects (what the TypeScript type and the Qdrant payload are,
 * and what assert.deepStrictEqual expects). Built from the reader type, so a
 * field added in a new version comes along. undefined means "leave as is".
 */
function plainConverter(type: avro.Type): Convert | undefined {
  if (avro.Type.isType(type, 'record', 'error')) {
    const fields = (type as avro.types.RecordType).fields;
    const converters = fields.map((f) => plainConverter(f.type as avro.Type));
    // Generated once per reader type, like avsc's own readers: an object literal
    // with fixed keys gets one hidden class and is several times faster than
    // assigning keys in a loop. Avro names match [A-Za-z_][A-Za-z0-9_]*, so
    // they are safe to write into the source.
    const props = fields.map((f, i) =>
      converters[i] === undefined ? `${f.name}: record.${f.name}` : `${f.name}: converters[${i}](record.${f.name})`,
    );
    return new Function('converters', `return (record) => ({ ${props.join(', ')} });`)(converters) as Convert;
  }
  if (avro.Type.isType(type, 'union')) {
    const branches = (type as avro.types.UnwrappedUnionType).types.filter((t) => t.typeName !== 'null');
    const converters = branches.map(plainConverter);
    if (converters.every((c) => c === undefined)) return undefined;
    const convert = converters[0];
    if (branches.length !== 1 || convert === undefined) {
      throw new SchemaError(`union ${JSON.stringify(type.schema())}: only null plus one record branch is supported`);
    }
    return (value) => (value === null ? null : convert(value));
  }
  if (avro.Type.isType(type, 'array')) {
    const convert = plainConverter((type as avro.types.ArrayType).itemsType as avro.Type);
    return convert && ((value) => (value as unknown[]).map(convert));
  }
  if (avro.Type.isType(type, 'map')) {
    const convert = plainConverter((type as avro.types.MapType).valuesType as avro.Type);
    return (
      convert &&
      ((value) => {
        const out: Record<string, unknown> = {};
        for (const [key, v] of Object.entries(value as Record<string, unknown>)) out[key] = convert(v);
        return out;
      })
    );
  }
  return undefined;
}

/** The codec over the production versions, 768 dimensions. */
export const defaultCodec: WitnessCodec = createCodec();

/** Validates and encodes with the default codec (newest production version, 768 dimensions). */
export function encodeEntry(entry: WitnessEntry): Buffer {
  return defaultCodec.encode(entry);
}

/** Decodes (and by default validates) with the default codec; any production version is accepted. */
export function decodeEntry(bytes: Uint8Array, options?: DecodeOptions): DecodedWitnessEntry {
  return defaultCodec.decode(bytes, options);
}
