// Reading environment variables the same way in every package: blank counts as
// unset, booleans are one set of words, integers are whole and in range, and a
// renamed variable still works under its old name with a warning. Every refusal
// is an InvalidOptionError naming the variable and its value.
import { InvalidOptionError } from '../errors.js';

export type EnvMap = Readonly<Record<string, string | undefined>>;

/** An old variable name that was read (or ignored, when its replacement is set too). */
export interface Deprecation {
  readonly old: string;
  readonly replacement: string;
  /** Both were set: the replacement's value is used and the old one ignored. */
  readonly ignored: boolean;
}

/** The one line a deprecation is logged as. */
export function deprecationMessage(d: Deprecation): string {
  return d.ignored
    ? `${d.old} is deprecated and ignored: ${d.replacement} is also set and wins; remove ${d.old}`
    : `${d.old} is deprecated: rename it to ${d.replacement}`;
}

/** A variable as read: the name it was found under (old or new) and its value. */
export interface EnvValue {
  readonly name: string;
  readonly value: string;
}

export interface EnvReader {
  /** The trimmed value of `name`, or of its old name when only that is set; undefined when blank. */
  get(name: string): EnvValue | undefined;
  /** As get, untrimmed: a password may end in a space. */
  raw(name: string): EnvValue | undefined;
  /** The old names read (or ignored) so far, once each. */
  readonly deprecations: readonly Deprecation[];
}

/**
 * Reads `env`, falling back from a new name to its old one (`legacy`: new -> old).
 * The old name is looked at only when the caller lists it, so a serving node's
 * own KAFKA_* settings never reach the SDK.
 */
export function envReader(env: EnvMap, legacy: Readonly<Record<string, string>> = {}): EnvReader {
  if (typeof env !== 'object' || env === null) throw new InvalidOptionError('env', env, 'an object of variables, like process.env');
  const deprecations: Deprecation[] = [];
  const seen = new Set<string>();
  const present = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const raw = (name: string): EnvValue | undefined => {
    const value = present(name);
    const old = legacy[name];
    const oldValue = old === undefined ? undefined : present(old);
    if (old !== undefined && oldValue !== undefined && !seen.has(old)) {
      seen.add(old);
      deprecations.push({ old, replacement: name, ignored: value !== undefined });
    }
    if (value !== undefined) return { name, value };
    return old !== undefined && oldValue !== undefined ? { name: old, value: oldValue } : undefined;
  };
  return {
    raw,
    get(name) {
      const v = raw(name);
      return v === undefined ? undefined : { name: v.name, value: v.value.trim() };
    },
    deprecations,
  };
}

/** `true|false|1|0`, in any case: the one set of boolean words every package accepts. */
export function parseBool(v: EnvValue): boolean {
  const text = v.value.trim().toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new InvalidOptionError(v.name, v.value, 'true, false, 1 or 0');
}

/** A whole number from min to max (digits only: no 1e3, no 0x10, no 1.0). */
export function parseInteger(v: EnvValue, min: number, max: number): number {
  const text = v.value.trim();
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidOptionError(v.name, v.value, `an integer from ${min} to ${max}`);
  }
  return n;
}
