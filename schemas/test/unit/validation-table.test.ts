// The validator reads its limits and reasons from the validation table
// (validation.json) that the Python SDK reads too, and answers the shared boundary
// cases (fixtures/validation-cases.json) as the Python tests expect
// (producer/python/tests/test_validation_table.py runs the same cases).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { InvalidOptionError, LOWERCASE_UUID_PATTERN } from '@witnesslog/core';
import { DEFAULT_DIM, InvalidEntryError, limits, timestampFromMicros, validateEntry } from '../../src/index.js';
import { checkDim } from '../../src/validate.js';
import { reasons } from '../../src/reasons.js';
import { schemaFiles } from '../../src/generated/schema-files.js';
import type { validationTable } from '../../src/generated/validation-table.js';
import { GOLDEN_DIM, goldenEntryValue } from '../../../test/support/golden-entry.js';

// The file itself, not the compiled copy (generated.test.ts shows the two are equal).
const table = JSON.parse(readFileSync(new URL('../../validation.json', import.meta.url), 'utf8')) as typeof validationTable;

interface Outcome {
  valid?: boolean;
  field?: string;
  reason?: string;
}
interface EntryCase extends Outcome {
  path: string;
  value: unknown;
  python?: Outcome;
}
interface DimCase extends Outcome {
  dim: unknown;
}
const cases = JSON.parse(readFileSync(new URL('../fixtures/validation-cases.json', import.meta.url), 'utf8')) as {
  entryCases: EntryCase[];
  dimCases: DimCase[];
};

/** A value of the cases file: JSON as written, or one of its forms (see valueForms there). */
function build(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(build);
  const v = value as Record<string, unknown>;
  if ('$repeat' in v) return (v.$repeat as string).repeat(v.times as number);
  if ('$list' in v) return Array.from({ length: v.times as number }, () => build(v.$list));
  if ('$number' in v) return Number(v.$number);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, build(x)]));
}

/** The golden entry with `path` set to the case's value (or left out). */
function entryOf(c: EntryCase): unknown {
  if (c.path === '') return build(c.value);
  const entry = goldenEntryValue();
  const keys = c.path.split('.');
  let parent = entry as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  const last = keys.at(-1)!;
  const value = c.value as { $delete?: boolean } | null;
  if (value !== null && typeof value === 'object' && value.$delete === true) delete parent[last];
  else parent[last] = build(c.value);
  return entry;
}

function outcome(run: () => void): Outcome {
  try {
    run();
    return { valid: true };
  } catch (err) {
    if (err instanceof InvalidEntryError) return { field: err.field, reason: err.reason };
    // InvalidOptionError keeps the reason in its message only: `invalid option dim = 0 (reason)`.
    if (err instanceof InvalidOptionError) return { reason: /\(([^()]*)\)$/.exec(err.message)![1] };
    throw err;
  }
}

const expected = ({ valid, field, reason }: Outcome): Outcome => (valid === true ? { valid } : field === undefined ? { reason } : { field, reason });

test('limits, the default dimension and the error codes are those of the table', () => {
  assert.deepStrictEqual({ ...limits }, table.limits);
  assert.ok(Object.isFrozen(limits));
  assert.equal(DEFAULT_DIM, table.defaultDim);
  assert.equal(new InvalidEntryError('f', 1, 'r').code, table.errorCodes.invalidEntry);
  assert.equal(new InvalidOptionError('o', 1, 'r').code, table.errorCodes.invalidOption);
});

test('the reasons are the shared ones of the table and the TypeScript ones', () => {
  assert.deepStrictEqual({ ...reasons }, { ...table.reasons, ...table.typescriptReasons });
});

test('the UUID shape, the model sizes, float32 and the timestamp range agree with the code and the schema', () => {
  assert.equal(LOWERCASE_UUID_PATTERN.source, table.uuidPattern);
  // The ModelSize enum, wherever in the schema it is defined (model_used refers to it by name).
  const enums = JSON.stringify(schemaFiles.find((f) => f.version === 1)!.schema).match(/"name":"ModelSize"[^}]*"symbols":(\[[^\]]*\])/);
  assert.deepStrictEqual(JSON.parse(enums![1]!), table.modelSizes);
  assert.equal(Math.fround(table.float32Max), table.float32Max, 'the largest float32');
  assert.equal(Math.fround(table.float32Max * (1 + 2 ** -23)), Infinity, 'nothing larger is a float32');
  assert.equal(timestampFromMicros(table.timestampMaxMicros), '2255-06-05T23:47:34.740990Z');
  assert.equal(timestampFromMicros(-table.timestampMaxMicros), '1684-07-28T00:12:25.259010Z');
  assert.ok(table.reasons.timestampRange.includes('1684-07-28..2255-06-05'));
});

test('every shared boundary case: the same field and reason as the Python SDK gives', () => {
  for (const c of cases.entryCases) {
    const got = outcome(() => validateEntry(entryOf(c), { dim: GOLDEN_DIM }));
    assert.deepStrictEqual(got, expected(c), `${c.path} = ${JSON.stringify(c.value).slice(0, 80)}`);
  }
  for (const c of cases.dimCases) {
    assert.deepStrictEqual(outcome(() => checkDim(c.dim)), expected(c), `dim ${JSON.stringify(c.dim)}`);
  }
});

test('every shared reason is one a boundary case gets, in one language at least', () => {
  const given = [...cases.entryCases, ...cases.dimCases].flatMap((c) => [c.reason, (c as EntryCase).python?.reason]);
  for (const [key, template] of Object.entries(table.reasons)) {
    const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '.+')}$`);
    assert.ok(given.some((r) => r !== undefined && pattern.test(r)), `no case gets reasons.${key}: ${template}`);
  }
});
