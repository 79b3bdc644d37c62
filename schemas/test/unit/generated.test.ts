// The schemas compiled into the code (src/generated/schema-files.ts) are the .avsc
// files at the package root, and the validation table (src/generated/validation-table.ts)
// is validation.json (issue 14). That importing reads no file is shown by
// test/packaging.test.ts, which runs an esbuild bundle away from the package.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  generatedFile,
  generatedValidationFile,
  packageRoot,
  renderSchemaModule,
  renderValidationModule,
  schemaFiles,
  validationFile,
} from '../../scripts/generate-schemas.js';
import { schemaFiles as compiled } from '../../src/generated/schema-files.js';
import { validationTable } from '../../src/generated/validation-table.js';
import { loadSchemaVersion, schemaVersions } from '@witnesslog/schemas';

test('the generated module is what the generator makes of the .avsc files today', () => {
  assert.equal(readFileSync(generatedFile, 'utf8'), renderSchemaModule(), 'stale: run node --import tsx schemas/scripts/generate-schemas.ts');
});

test('each compiled schema equals its file, and gives the same fingerprint as loading the file', () => {
  const files = schemaFiles();
  assert.ok(files.length >= 1);
  assert.deepEqual(
    compiled.map((c) => c.version),
    files.map((f) => f.version),
  );
  for (const file of files) {
    const inCode = compiled.find((c) => c.version === file.version)!;
    assert.deepEqual(inCode.schema, file.schema, file.file);
    const fromFile = loadSchemaVersion(file.version, join(packageRoot, file.file));
    const version = schemaVersions.find((v) => v.version === file.version)!;
    assert.equal(version.fingerprintHex, fromFile.fingerprintHex, file.file);
  }
});


test('the generated validation table is what the generator makes of validation.json today, and equals it', () => {
  assert.equal(readFileSync(generatedValidationFile, 'utf8'), renderValidationModule(), 'stale: run node --import tsx schemas/scripts/generate-schemas.ts');
  assert.deepStrictEqual(validationTable, JSON.parse(readFileSync(validationFile, 'utf8')));
});
