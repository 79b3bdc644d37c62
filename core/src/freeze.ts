// Configuration and schemas are handed out frozen all the way down, so no caller
// can change what another one reads.

/** Freezes `value` and every object inside it; returns it for chaining. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    // Freeze before descending: a cycle then stops at an object already frozen.
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
