// The checkpoint record (witness-checkpoint.avsc, issue 26): what one SDK instance
// says about the seqs it assigned, so the log can prove it is complete. Its type,
// and the rules a checkpoint must keep to be believed: one that claims the
// impossible (a range above its own high mark, ranges out of order or
// overlapping, negative numbers, an id that is not a UUID) is refused with the
// field and value named, and the consumer dead-letters it rather than trust it.
import { LOWERCASE_UUID_PATTERN, WitnessError, describeValue } from '@witnesslog/core';
import { limits } from './validate.js';

export const undeliveredReasons = Object.freeze(['queue_full', 'send_failed', 'closed'] as const);
export type UndeliveredReason = (typeof undeliveredReasons)[number];

/** Seqs `from`..`to` (inclusive) assigned and never to be delivered, for `reason`. */
export interface UndeliveredRange {
  from: number;
  to: number;
  reason: UndeliveredReason;
}

/** Counts of entries refused before numbering (they take no seq). */
export interface RefusedCounts {
  invalid: number;
  sampled_out: number;
  redact_failed: number;
}

export interface WitnessCheckpoint {
  producer_id: string;
  service: string;
  host: string;
  checkpoint_seq: number;
  /** ms since the epoch (Avro timestamp-millis). */
  sent_at: number;
  /** The highest seq assigned; -1 when none. */
  high_seq: number;
  /** Cumulative since the instance started: sorted, non-overlapping, at most CHECKPOINT_MAX_RANGES. */
  undelivered: UndeliveredRange[];
  /** Ranges were left out (more than CHECKPOINT_MAX_RANGES): the instance cannot be reconciled. */
  truncated: boolean;
  refused: RefusedCounts;
  /** Sent by close(). */
  final: boolean;
}

/** A checkpoint stays small: past this many ranges the SDK keeps the first ones and sets `truncated`. */
export const CHECKPOINT_MAX_RANGES = 1000;

export const CHECKPOINT_INVALID = 'WITNESS_CHECKPOINT_INVALID';

/** A checkpoint that breaks a rule; names the field path and the value. */
export class InvalidCheckpointError extends WitnessError<typeof CHECKPOINT_INVALID> {
  readonly field: string;
  readonly value: unknown;
  readonly reason: string;

  constructor(field: string, value: unknown, reason: string) {
    super(CHECKPOINT_INVALID, `invalid witness checkpoint: ${field} = ${describeValue(value)} (${reason})`);
    this.field = field;
    this.value = value;
    this.reason = reason;
  }
}

/** Throws InvalidCheckpointError for the first broken rule. */
export function validateCheckpoint(value: unknown): asserts value is WitnessCheckpoint {
  if (typeof value !== 'object' || value === null) throw new InvalidCheckpointError('(checkpoint)', value, 'must be an object');
  const c = value as Record<string, unknown>;
  if (typeof c.producer_id !== 'string' || !LOWERCASE_UUID_PATTERN.test(c.producer_id)) {
    throw new InvalidCheckpointError('producer_id', c.producer_id, 'must be a lowercase UUID');
  }
  text(c.service, 'service', limits.producerServiceMaxChars);
  text(c.host, 'host', limits.producerHostMaxChars);
  count(c.checkpoint_seq, 'checkpoint_seq', 0);
  count(c.sent_at, 'sent_at', 0);
  const high = count(c.high_seq, 'high_seq', -1);
  ranges(c.undelivered, high);
  flag(c.truncated, 'truncated');
  flag(c.final, 'final');
  const refused = c.refused as Record<string, unknown> | null;
  if (typeof refused !== 'object' || refused === null) throw new InvalidCheckpointError('refused', refused, 'must be an object');
  for (const key of ['invalid', 'sampled_out', 'redact_failed']) count(refused[key], `refused.${key}`, 0);
}

function ranges(value: unknown, high: number): void {
  if (!Array.isArray(value)) throw new InvalidCheckpointError('undelivered', value, 'must be an array');
  if (value.length > CHECKPOINT_MAX_RANGES) {
    throw new InvalidCheckpointError('undelivered', `${value.length} ranges`, `at most ${CHECKPOINT_MAX_RANGES} (the SDK sets truncated beyond)`);
  }
  let previous = -1;
  for (let i = 0; i < value.length; i++) {
    const r = value[i] as Record<string, unknown>;
    const at = `undelivered[${i}]`;
    if (typeof r !== 'object' || r === null) throw new InvalidCheckpointError(at, r, 'must be a range');
    const from = count(r.from, `${at}.from`, 0);
    const to = count(r.to, `${at}.to`, 0);
    if (from > to) throw new InvalidCheckpointError(`${at}.from`, from, `must be at most to = ${to}`);
    if (to > high) throw new InvalidCheckpointError(`${at}.to`, to, `must be at most high_seq = ${high} (a seq the instance never assigned)`);
    if (i > 0 && from <= previous) {
      throw new InvalidCheckpointError(`${at}.from`, from, `must be above the previous range's to = ${previous} (ranges sorted, not overlapping)`);
    }
    if (!(undeliveredReasons as readonly unknown[]).includes(r.reason)) {
      throw new InvalidCheckpointError(`${at}.reason`, r.reason, `must be one of ${undeliveredReasons.join(', ')}`);
    }
    previous = to;
  }
}

function count(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidCheckpointError(field, value, `must be an integer >= ${min}`);
  }
  return value;
}

function text(value: unknown, field: string, max: number): void {
  if (typeof value !== 'string' || value.length < 1 || value.length > max) {
    throw new InvalidCheckpointError(field, value, `must be a string of 1..${max} characters`);
  }
}

function flag(value: unknown, field: string): void {
  if (typeof value !== 'boolean') throw new InvalidCheckpointError(field, value, 'must be a boolean');
}
