// Test support exports shared clients; building them on first use means that
// importing a support module opens nothing (a unit test can import it freely).

/** `build()` on first property access, then that object for good (methods bound to it). */
export function lazy<T extends object>(build: () => T): T {
  let value: T | undefined;
  return new Proxy({} as T, {
    get(_target, prop) {
      value ??= build();
      const member: unknown = Reflect.get(value, prop, value);
      return typeof member === 'function' ? (member as (...args: unknown[]) => unknown).bind(value) : member;
    },
  });
}
