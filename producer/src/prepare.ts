// Turning what the caller hands record() into an encoded entry: read it once
// (snapshot.ts), sample, take the trace from OpenTelemetry when the caller gave
// none (otel.ts), redact, refuse a `producer` the caller set and set the SDK's
// (identity.ts), validate, encode. Every entry refused on the way
// is counted under its reason, and logged at most once per interval.
import { createCodec, InvalidEntryError, reasons, type SchemaVersion, type TraceContext, type WitnessCodec, type WitnessEntry } from '@witnesslog/schemas';
import type { Counts } from './counts.js';
import { RedactFailedError } from './errors.js';
import { rateLimiter, type Log } from './log.js';
import { identityAt, type InstanceIdentity } from './identity.js';
import type { ResolvedOptions } from './options.js';
import { otelTraceReader } from './otel.js';
import { snapshotEntry } from './snapshot.js';

/** An entry read, redacted, validated and encoded: what is left is to enqueue it. */
export interface Prepared {
  readonly key: string;
  readonly value: Buffer;
  readonly requestId: string;
  readonly success: boolean;
  readonly model: string;
}

/** Why an entry was not prepared; the drop is already counted. */
export interface Refused {
  readonly refused: Error;
}

export class EntryPreparer {
  private readonly codec: WitnessCodec;
  private readonly warnInvalid = rateLimiter(10_000);
  private readonly warnRedact = rateLimiter(10_000);
  /** The active span's ids; undefined when @opentelemetry/api is not installed. */
  private readonly activeTrace: (() => TraceContext | null) | undefined;
  /** Writing v2 or later: the SDK sets producer and trace (false only for the benchmark's v1 writer). */
  private readonly v2: boolean;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly counts: Counts,
    private readonly log: Log,
    private readonly identity: InstanceIdentity,
    writer?: SchemaVersion,
  ) {
    this.codec = createCodec({ dim: options.embeddingDim, ...(writer ? { reader: writer } : {}) });
    this.v2 = this.codec.writer.version >= 2;
    this.activeTrace = this.v2 ? otelTraceReader() : undefined;
  }

  /**
   * Read the entry once, then sample (record() only), redact, validate and encode that
   * one copy. Every drop is counted here, under its reason.
   */
  prepare(entry: unknown, sampled: boolean): Prepared | Refused {
    let snapshot: WitnessEntry;
    try {
      snapshot = snapshotEntry(entry);
    } catch (err) {
      return this.invalid(err);
    }
    const { sampleRate, redact } = this.options;
    // Not an object: nothing to sample or redact, the validator below names it.
    const entryLike = typeof snapshot === 'object' && snapshot !== null;
    // An entry with an error is always kept: failures are what the log is searched for.
    if (sampled && entryLike && sampleRate < 1 && snapshot.error === null && Math.random() >= sampleRate) {
      this.counts.dropped.sampled_out += 1;
      return SAMPLED_OUT;
    }
    // Before the hook, so it may strip the trace like any other field.
    if (entryLike && snapshot.trace === null && this.activeTrace !== undefined) snapshot.trace = this.activeTrace();
    if (redact !== undefined && entryLike) {
      try {
        const redacted: unknown = redact(snapshot);
        // The hook's own object is read once too, unless it returned our copy.
        snapshot = redacted === snapshot ? snapshot : snapshotEntry(redacted);
      } catch (err) {
        this.counts.dropped.redact_failed += 1;
        if (this.warnRedact()) {
          this.log.warn({ err: describeThrown(err), dropped_redact_failed: this.counts.dropped.redact_failed }, 'the redact hook threw; witness entry dropped (redact_failed)');
        }
        return { refused: new RedactFailedError(err) };
      }
    }
    try {
      if (this.v2 && typeof snapshot === 'object' && snapshot !== null) {
        if (snapshot.producer != null) throw new InvalidEntryError('producer', snapshot.producer, reasons.setBySdk);
        // The next seq: the recorder takes it (queued, or dropped and reported in a
        // checkpoint) or, if this entry is refused here, leaves it to the next one.
        snapshot.producer = identityAt(this.identity, this.counts.assigned);
      }
      const value = this.codec.encode(snapshot);
      // Validated: the key is a string of at most 256 characters, read from the copy.
      const key = snapshot.session_id;
      if (key.length + value.length > this.options.maxBatchBytes) {
        throw new InvalidEntryError('(encoded entry)', `${key.length + value.length} bytes`, `at most maxBatchBytes = ${this.options.maxBatchBytes} bytes once encoded`);
      }
      return { key, value, requestId: snapshot.request_id, success: snapshot.error === null, model: snapshot.model_used };
    } catch (err) {
      return this.invalid(err);
    }
  }

  /** Count and log an invalid entry; the error recordCritical rejects with. Never throws. */
  invalid(err: unknown): Refused {
    this.counts.dropped.invalid += 1;
    if (this.warnInvalid()) {
      this.log.warn({ err: invalidSummary(err), dropped_invalid: this.counts.dropped.invalid }, 'invalid witness entry dropped');
    }
    return { refused: asInvalidEntry(err) };
  }
}

const SAMPLED_OUT: Refused = Object.freeze({ refused: new Error('sampled out') });

/**
 * recordCritical rejects invalid entries with InvalidEntryError, whatever broke while
 * reading them. What was thrown may itself be hostile (a Proxy whose traps throw):
 * nothing here may throw in turn.
 */
function asInvalidEntry(err: unknown): Error {
  try {
    if (err instanceof InvalidEntryError) return err;
  } catch {
    /* instanceof on a Proxy runs its getPrototypeOf trap */
  }
  return new InvalidEntryError('(entry)', undefined, `reading it threw ${describeThrown(err)}`, { cause: err });
}

/** "Name: message" of whatever was thrown, or a placeholder when even that throws. */
export function describeThrown(err: unknown): string {
  try {
    if (err instanceof Error) return `${String(err.name)}: ${String(err.message)}`;
    return typeof err === 'object' && err !== null ? Object.prototype.toString.call(err) : String(err);
  } catch {
    return '(a value that throws when read)';
  }
}

function invalidSummary(err: unknown): Record<string, unknown> {
  try {
    if (err instanceof InvalidEntryError) return { name: err.name, code: err.code, field: err.field, reason: err.reason, message: err.message };
  } catch {
    /* a look-alike of ours whose getters throw; see asInvalidEntry */
  }
  return { message: describeThrown(err) };
}
