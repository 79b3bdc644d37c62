// The reason texts of the validators, from the validation table (validation.json,
// compiled into generated/validation-table.ts) that the Python SDK reads too, so
// the two SDKs name a broken rule in the same words.
import { validationTable } from './generated/validation-table.js';

/** Every reason the TypeScript validator gives: the shared ones and its own. */
export const reasons = Object.freeze({ ...validationTable.reasons, ...validationTable.typescriptReasons });

/** `template` with each {name} replaced by values[name]; built on failure only, never on the success path. */
export function fill(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
