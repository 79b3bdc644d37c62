// A bounded pass over an Avro body, run before avsc decodes it. avsc 5.7.9
// trusts every count and length it reads: an array block that claims 2^31-1
// items in a 3 KB message makes it loop and allocate 2^31 times (issue 13), and
// it turns bytes that are not UTF-8 into U+FFFD. This pass walks the same bytes
// by the writer schema, allocating nothing, and refuses a claimed count or
// length above the field's cap (DecodeBoundsError) or beyond the bytes left
// (TruncatedMessageError), and a string that is not strict UTF-8
// (InvalidUtf8Error), each naming the field. Once it has passed, avsc's work is
// bounded by the message: every item it reads takes at least one byte of it,
// except items of a zero-byte type, which the cap bounds. It walks the writer's
// schema, not the reader's, so resolution between versions is untouched.
import { isUtf8 } from 'node:buffer';
import avro from 'avsc';
import { DecodeBoundsError, InvalidUtf8Error } from './body-errors.js';
import { MalformedBodyError, SchemaError, TruncatedMessageError } from './errors.js';
import { decodeCaps } from './decode-caps.js';

/** Nesting of a recursive schema (none of ours is) beyond this is refused rather than overflowing the stack. */
const MAX_DEPTH = 64;
/** Strings up to this many bytes are checked by a loop for ASCII before node:buffer's isUtf8 is called. */
const ASCII_LOOP_BYTES = 64;

/** Where the pass is; one per compiled schema, reused by every call (decode is synchronous). */
interface Cursor {
  buf: Buffer;
  pos: number;
  /** Index of the item being read, by array nesting level, to name the field on failure. */
  readonly items: number[];
  depth: number;
}

type Check = (c: Cursor) => void;

/** Throws unless the body from `start` to the end of `buf` follows the schema within the caps. */
export type BodyCheck = (buf: Buffer, start: number) => void;

const EMPTY = Buffer.alloc(0);

export function compileBodyCheck(type: avro.Type): BodyCheck {
  const cursor: Cursor = { buf: EMPTY, pos: 0, items: [], depth: 0 };
  const check = compile(type, '', new Map());
  return (buf, start) => {
    cursor.buf = buf;
    cursor.pos = start;
    cursor.depth = 0;
    try {
      check(cursor);
    } finally {
      // The message must not stay reachable from the codec.
      cursor.buf = EMPTY;
    }
    if (cursor.pos !== buf.length) throw new MalformedBodyError(`${buf.length - cursor.pos} bytes after the end of the body`);
  };
}

/** A record type being compiled, and whether it turned out to contain itself. */
interface Pending {
  check: Check | undefined;
  recursive: boolean;
}

function compile(type: avro.Type, path: string, pending: Map<avro.Type, Pending>): Check {
  switch (type.typeName) {
    case 'null':
      return () => {};
    case 'boolean':
      return fixedCheck(path, 1);
    case 'int':
    case 'long':
      return (c) => void readLong(c, path);
    case 'float':
      return fixedCheck(path, 4);
    case 'double':
      return fixedCheck(path, 8);
    case 'fixed':
      return fixedCheck(path, (type as avro.types.FixedType).size);
    case 'string':
      return lengthCheck(path, true);
    case 'bytes':
      return lengthCheck(path, false);
    case 'enum':
      return enumCheck(path, (type as avro.types.EnumType).symbols.length);
    case 'array': {
      const items = (type as avro.types.ArrayType).itemsType as avro.Type;
      return blocksCheck(path, undefined, items, pending);
    }
    case 'map': {
      const values = (type as avro.types.MapType).valuesType as avro.Type;
      return blocksCheck(path, lengthCheck(`${path}[] (key)`, true), values, pending);
    }
    case 'record':
    case 'error':
      return recordCheck(type as avro.types.RecordType, path, pending);
    default:
      if (avro.Type.isType(type, 'union')) {
        const branches = (type as avro.types.UnwrappedUnionType).types.map((t) => compile(t, path, pending));
        return (c) => {
          const index = readLong(c, path);
          const branch = branches[index];
          if (branch === undefined) throw new MalformedBodyError(`${fieldName(c, path)}: invalid union index ${index}`);
          branch(c);
        };
      }
      if (avro.Type.isType(type, 'logical')) return compile((type as avro.types.LogicalType).underlyingType as avro.Type, path, pending);
      // avsc parses no other type names; a new one must be taught here, not skipped unchecked.
      throw new SchemaError(`no bounded check for Avro type ${type.typeName} at ${path === '' ? '(body)' : path}`);
  }
}

function recordCheck(type: avro.types.RecordType, path: string, pending: Map<avro.Type, Pending>): Check {
  const seen = pending.get(type);
  if (seen !== undefined) {
    // A record that contains itself: refer to its check, built once the outer compile returns.
    seen.recursive = true;
    return (c) => seen.check!(c);
  }
  const own: Pending = { check: undefined, recursive: false };
  pending.set(type, own);
  const fields = type.fields.map((f) => compile(f.type as avro.Type, path === '' ? f.name : `${path}.${f.name}`, pending));
  pending.delete(type);
  const readFields: Check = (c) => {
    for (let i = 0; i < fields.length; i++) fields[i]!(c);
  };
  own.check = own.recursive
    ? (c) => {
        if (++c.depth > MAX_DEPTH) throw new DecodeBoundsError(fieldName(c, path), c.depth, MAX_DEPTH, 'items');
        readFields(c);
        c.depth--;
      }
    : readFields;
  return own.check;
}

function fixedCheck(path: string, size: number): Check {
  return (c) => {
    if (size > c.buf.length - c.pos) throw truncated(c, path);
    c.pos += size;
  };
}

function enumCheck(path: string, symbols: number): Check {
  return (c) => {
    const index = readLong(c, path);
    if (!(index >= 0 && index < symbols)) throw new MalformedBodyError(`${fieldName(c, path)}: invalid enum index ${index}`);
  };
}

function lengthCheck(path: string, utf8: boolean): Check {
  const cap = decodeCaps.fields[path] ?? decodeCaps.defaultBytes;
  return (c) => {
    const length = readLong(c, path);
    const start = c.pos;
    if (length < 0) throw new MalformedBodyError(`${fieldName(c, path)}: negative length ${length}`);
    if (length > cap) throw new DecodeBoundsError(fieldName(c, path), length, cap, 'bytes');
    if (length > c.buf.length - start) throw truncated(c, path);
    const end = start + length;
    if (utf8 && !isUtf8Range(c.buf, start, end)) throw new InvalidUtf8Error(fieldName(c, path), start, c.buf.subarray(start, end));
    c.pos = end;
  };
}

/**
 * Arrays and maps: blocks of `count` items, a count of 0 ending them; a
 * negative count is followed by the block's size in bytes (which avsc skips,
 * and so does this). `key` is set for maps.
 */
function blocksCheck(path: string, key: Check | undefined, items: avro.Type, pending: Map<avro.Type, Pending>): Check {
  const cap = decodeCaps.fields[path] ?? decodeCaps.defaultItems;
  const level = path.split('[]').length - 1;
  const item = compile(items, `${path}[]`, pending);
  const itemBytes = (key === undefined ? 0 : 1) + minBytes(items, new Set());
  // Items of one size and nothing to check inside (doubles, floats...) are skipped in one step.
  const size = key === undefined ? fixedSize(items) : undefined;
  return (c) => {
    let total = 0;
    for (;;) {
      let count = readLong(c, path);
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        readLong(c, path);
      }
      total += count;
      if (total > cap) throw new DecodeBoundsError(fieldName(c, path), total, cap, 'items');
      if (count * itemBytes > c.buf.length - c.pos) throw truncated(c, path);
      if (size !== undefined) {
        c.pos += count * size;
        continue;
      }
      for (let i = total - count; i < total; i++) {
        c.items[level] = i;
        if (key !== undefined) key(c);
        item(c);
      }
    }
  };
}

/** The fewest bytes a value of the type takes (a type that contains itself counts 0 for the inner copy). */
function minBytes(type: avro.Type, seen: Set<avro.Type>): number {
  const size = fixedSize(type);
  if (size !== undefined) return size;
  switch (type.typeName) {
    case 'null':
      return 0;
    case 'record':
    case 'error': {
      if (seen.has(type)) return 0;
      seen.add(type);
      let sum = 0;
      for (const f of (type as avro.types.RecordType).fields) sum += minBytes(f.type as avro.Type, seen);
      seen.delete(type);
      return sum;
    }
    default:
      if (avro.Type.isType(type, 'logical')) return minBytes((type as avro.types.LogicalType).underlyingType as avro.Type, seen);
      // boolean, int, long, enum, string, bytes, array, map, union: at least one byte.
      return 1;
  }
}

/** The size of a type whose every value takes the same bytes, with nothing to check inside. */
function fixedSize(type: avro.Type): number | undefined {
  switch (type.typeName) {
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return (type as avro.types.FixedType).size;
    default:
      return undefined;
  }
}

/**
 * Avro's zig-zag varint, as avsc reads it (the same value for every input
 * accepted here), but never past the end and never longer than the 10 bytes
 * a 64-bit long takes.
 */
function readLong(c: Cursor, path: string): number {
  const buf = c.buf;
  let pos = c.pos;
  let n = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw truncated(c, path);
    const b = buf[pos++]!;
    n += (b & 0x7f) * scale;
    if (b < 0x80) {
      c.pos = pos;
      return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
    }
    scale *= 128;
  }
  throw new MalformedBodyError(`${fieldName(c, path)}: varint longer than 10 bytes at offset ${c.pos}`);
}

function isUtf8Range(buf: Buffer, start: number, end: number): boolean {
  // Most strings (ids, codes, tags) are short and ASCII: a loop costs less than a subarray and a call.
  if (end - start <= ASCII_LOOP_BYTES) {
    // No branch per byte: OR them all, then look at the top bit once.
    let any = 0;
    for (let i = start; i < end; i++) any |= buf[i]!;
    if (any < 0x80) return true;
  }
  return isUtf8(buf.subarray(start, end));
}

function truncated(c: Cursor, path: string): TruncatedMessageError {
  return new TruncatedMessageError(`message of ${c.buf.length} bytes ends inside the body, in ${fieldName(c, path)} at offset ${c.pos}`);
}

/** The path with each `[]` filled in with the index being read: `tags[3]`. */
function fieldName(c: Cursor, path: string): string {
  if (path === '') return '(body)';
  let level = 0;
  return path.replace(/\[\]/g, () => `[${c.items[level++]}]`);
}
