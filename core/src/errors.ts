// The error base of every witnesslog package. `code` is stable and safe as a
// metric label or a dead-letter reason; `retriable` tells callers whether trying
// the same call again later could ever succeed, so retry and dead-letter
// decisions read one flag (kafkajs's errors carry the same one).

export interface WitnessErrorOptions {
  retriable?: boolean;
  cause?: unknown;
}

/**
 * Base of every witnesslog error, in this package and the others (which pass
 * their own codes, hence the type parameter).
 */
export class WitnessError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly retriable: boolean;
  override readonly cause: unknown;

  constructor(code: Code, message: string, { retriable = false, cause }: WitnessErrorOptions = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = retriable;
    this.cause = cause;
  }
}

/** An option of a factory or call that is out of range (checked once, where the option is given). */
export class InvalidOptionError extends WitnessError<'WITNESS_INVALID_OPTION'> {
  readonly option: string;
  readonly value: unknown;
  /** What a good value looks like, for callers that report problems in their own form. */
  readonly expected: string;

  constructor(option: string, value: unknown, expected: string) {
    super('WITNESS_INVALID_OPTION', `invalid option ${option} = ${describeValue(value)} (${expected})`);
    this.option = option;
    this.value = value;
    this.expected = expected;
  }
}

const MAX_VALUE_CHARS = 80;

/** Short printable form of a value for error messages; a 32 KiB stack trace must not become a 32 KiB log line. */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') text = String(value);
  else if (value === undefined) text = 'undefined';
  else if (value === null) text = 'null';
  else if (ArrayBuffer.isView(value)) text = `${value.constructor.name}(${(value as Float32Array).length ?? value.byteLength})`;
  else if (Array.isArray(value)) text = value.length > 8 ? `Array(${value.length})` : safeJson(value);
  else text = safeJson(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
