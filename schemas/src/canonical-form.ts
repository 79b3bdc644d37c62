// Parsing Canonical Form, as the Avro specification defines it ("Parsing
// Canonical Form for Schemas"): primitives as bare names, full names without
// namespaces, only name/type/fields/symbols/items/values/size kept (so doc,
// aliases, defaults, order and logicalType go), keys in that order, no
// whitespace. Written out rather than taken from avsc's Type#schema() so the
// fingerprint does not depend on how a library version prints schemas; the
// tests check the two agree on our schemas.
import { SchemaError } from './errors.js';

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** The Parsing Canonical Form of a schema given as parsed JSON. */
export function parsingCanonicalForm(schema: unknown): string {
  return canonical(schema, '', new Set());
}

function canonical(schema: unknown, namespace: string, defined: Set<string>): string {
  if (typeof schema === 'string') {
    return PRIMITIVES.has(schema) ? JSON.stringify(schema) : JSON.stringify(fullName(schema, namespace));
  }
  if (Array.isArray(schema)) return `[${schema.map((branch) => canonical(branch, namespace, defined)).join(',')}]`;
  if (schema === null || typeof schema !== 'object') throw new SchemaError(`not an Avro schema: ${String(schema)}`);

  const node = schema as Record<string, unknown>;
  const type = node.type;
  if (typeof type !== 'string') return canonical(type, namespace, defined);
  if (PRIMITIVES.has(type)) return JSON.stringify(type);
  switch (type) {
    case 'array':
      return `{"type":"array","items":${canonical(node.items, namespace, defined)}}`;
    case 'map':
      return `{"type":"map","values":${canonical(node.values, namespace, defined)}}`;
    case 'record':
    case 'error':
    case 'enum':
    case 'fixed': {
      if (typeof node.name !== 'string') throw new SchemaError(`${type} without a name`);
      const name = fullName(node.name, typeof node.namespace === 'string' ? node.namespace : namespace);
      // A named type is written in full once; later occurrences are references.
      if (defined.has(name)) return JSON.stringify(name);
      defined.add(name);
      const head = `{"name":${JSON.stringify(name)},"type":${JSON.stringify(type)}`;
      if (type === 'enum') return `${head},"symbols":${JSON.stringify(node.symbols)}}`;
      if (type === 'fixed') return `${head},"size":${String(Number(node.size))}}`;
      // Names inside a record without their own namespace take the record's.
      const inner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '';
      if (!Array.isArray(node.fields)) throw new SchemaError(`record ${name} without fields`);
      const fields = node.fields.map((field: unknown) => {
        const f = field as Record<string, unknown>;
        return `{"name":${JSON.stringify(f.name)},"type":${canonical(f.type, inner, defined)}}`;
      });
      return `${head},"fields":[${fields.join(',')}]}`;
    }
    default:
      // {"type": "SomeNamedType"} refers to a type defined earlier.
      return JSON.stringify(fullName(type, namespace));
  }
}

function fullName(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}
