// Schema versions: one .avsc file per version at the package root, each parsed
// once into an avsc Type with its CRC-64-AVRO fingerprint. A version is never
// edited after it shipped; a change is a new file. The files are compiled into
// generated/schema-files.ts (scripts/generate-schemas.ts): importing the package
// reads no file, so it works bundled into one file and in a read-only image.
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { parsingCanonicalForm } from './canonical-form.js';
import { crc64Avro, fingerprintHex } from './crc64.js';
import { SchemaError } from './errors.js';
import { deepFreeze } from '@witnesslog/core';
import { schemaFiles } from './generated/schema-files.js';
import { logicalTypes } from './logical-types.js';

export interface SchemaVersion {
  readonly version: number;
  /** The schema as written in its file (doc strings included). */
  readonly schema: object;
  readonly type: avro.Type;
  readonly canonicalForm: string;
  /** CRC-64-AVRO of the Parsing Canonical Form, unsigned. */
  readonly fingerprint: bigint;
  /** The same as 16 hex digits, most significant first. */
  readonly fingerprintHex: string;
}

/** Parses a schema (JSON value) into a version; throws SchemaError when avsc rejects it. */
export function createSchemaVersion(version: number, source: object): SchemaVersion {
  // A private, frozen copy: the fingerprint must keep describing the schema as it is now.
  const schema = deepFreeze(structuredClone(source));
  let type: avro.Type;
  try {
    // Unions stay unwrapped (`null` or the value) so the decoded value is the
    // TypeScript shape; 'never' makes an ambiguous union fail here, at start-up.
    type = avro.Type.forSchema(schema as avro.Schema, { logicalTypes, wrapUnions: 'never' });
  } catch (err) {
    throw new SchemaError(`schema version ${version} is not a valid Avro schema: ${(err as Error).message}`, err);
  }
  const canonicalForm = parsingCanonicalForm(schema);
  const fingerprint = crc64Avro(canonicalForm);
  return Object.freeze({ version, schema, type, canonicalForm, fingerprint, fingerprintHex: fingerprintHex(fingerprint) });
}

/** Reads a .avsc file into a version (a schema of your own; the production versions are compiled in). */
export function loadSchemaVersion(version: number, file: string | URL): SchemaVersion {
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SchemaError(`cannot read schema version ${version} from ${String(file)}: ${(err as Error).message}`, err);
  }
  if (schema === null || typeof schema !== 'object') throw new SchemaError(`${String(file)} does not hold a schema object`);
  return createSchemaVersion(version, schema);
}

/** The production versions, oldest first. Decoders accept all of them; encoders write the last. */
export const schemaVersions: readonly SchemaVersion[] = Object.freeze(
  schemaFiles.map(({ version, schema }) => createSchemaVersion(version, schema)),
);

export const currentSchemaVersion: SchemaVersion = schemaVersions[schemaVersions.length - 1]!;
