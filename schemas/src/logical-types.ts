// avsc logical types that give the TypeScript shape straight out of the decoder:
// timestamp-micros as an RFC 3339 string, and bytes marked `float32-vector` as
// a Float32Array. Other Avro implementations ignore the unknown
// `float32-vector` and see plain bytes, as the specification requires.
import { endianness } from 'node:os';
import avro from 'avsc';
import { MalformedBodyError } from './errors.js';
import { Slab } from './slab.js';
import { parseTimestamp, timestampFromMicros } from './timestamp.js';

/** The part of avsc's internal Tap that Float32VectorType reads (avsc is pinned to 5.7.9). */
interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
}

// Float32Array uses the host's byte order and the wire is little-endian; on the
// (rare) big-endian host every value is swapped. Decided once, here.
const LITTLE_ENDIAN = endianness() === 'LE';
// Returned only for a truncated message, which decode() then rejects.
const EMPTY = new Float32Array(0);
// An empty response_embedding is common; allocating for it cost as much as the rest of the entry.
const EMPTY_BYTES = Buffer.alloc(0);

const identity = <T>(value: T): T => value;

export class TimestampMicrosType extends avro.types.LogicalType {
  protected override _fromValue(micros: number): string {
    return timestampFromMicros(micros);
  }

  /** undefined tells avsc the value is invalid (validateEntry has named the problem already). */
  protected override _toValue(value: unknown): number | undefined {
    const micros = parseTimestamp(value);
    return typeof micros === 'number' ? micros : undefined;
  }

  protected override _resolve(writer: avro.Type): ((value: unknown) => unknown) | undefined {
    // The writer's own _read already produced the string.
    if (writer instanceof TimestampMicrosType) return identity;
    if (avro.Type.isType(writer, 'long', 'int')) return (micros) => this._fromValue(micros as number);
    return undefined;
  }
}

export class Float32VectorType extends avro.types.LogicalType {
  /** Decoded vectors are cut from here: one allocation per ~20 vectors instead of one each. */
  private readonly slab = new Slab();
  /**
   * number[] input is converted here, reused from call to call: avsc copies the
   * bytes into the message before it asks for the next value, and encoding is
   * synchronous, so nothing can see the scratch change.
   */
  private scratch = new Float32Array(0);

  protected override _fromValue(bytes: Buffer): Float32Array {
    if (bytes.length % 4 !== 0) throw new MalformedBodyError(`float32 vector of ${bytes.length} bytes: not a multiple of 4`);
    return this.copyOut(bytes, 0, bytes.length);
  }

  protected override _toValue(value: unknown): Buffer | undefined {
    if (value instanceof Float32Array) {
      // A view, not a copy: avsc copies it into the output once.
      if (LITTLE_ENDIAN) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      return bigEndianToWire(value);
    }
    if (Array.isArray(value)) {
      if (value.length === 0) return EMPTY_BYTES;
      if (this.scratch.length !== value.length) this.scratch = new Float32Array(value.length);
      this.scratch.set(value);
      return this._toValue(this.scratch);
    }
    return undefined;
  }

  /**
   * Replaces avsc's bytes read, which copies into a shared 4 KiB pool at any
   * offset (a Float32Array over it would often be misaligned and need a second
   * copy). Here the vector is copied once, straight from the message.
   */
  _read(tap: Tap): Float32Array {
    const length = tap.readLong();
    const start = tap.pos;
    const end = start + length;
    tap.pos = end;
    if (length < 0) throw new MalformedBodyError(`float32 vector with negative length ${length}`);
    // Past the end: the tap is now invalid and decode() reports the message as truncated.
    if (end > tap.buf.length) return EMPTY;
    if (length % 4 !== 0) throw new MalformedBodyError(`float32 vector of ${length} bytes: not a multiple of 4`);
    return this.copyOut(tap.buf, start, end);
  }

  protected override _resolve(writer: avro.Type): ((value: unknown) => unknown) | undefined {
    if (writer instanceof Float32VectorType) return identity;
    if (avro.Type.isType(writer, 'bytes')) return (bytes) => this._fromValue(bytes as Buffer);
    return undefined;
  }

  /**
   * Always a copy, never a view of the message even when one would be aligned:
   * a view would keep the whole Kafka fetch buffer alive and alias bytes the
   * client may reuse.
   */
  private copyOut(bytes: Buffer, start: number, end: number): Float32Array {
    if (start === end) return new Float32Array(0);
    const vector = this.slab.float32((end - start) / 4);
    if (LITTLE_ENDIAN) {
      new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength).set(bytes.subarray(start, end));
    } else {
      const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
      for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(i * 4, true);
    }
    return vector;
  }
}

function bigEndianToWire(vector: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) out.writeFloatLE(vector[i]!, i * 4);
  return out;
}

/** The logicalTypes option every schema version is parsed with. */
export const logicalTypes = {
  'timestamp-micros': TimestampMicrosType,
  'float32-vector': Float32VectorType,
};
