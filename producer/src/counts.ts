// The producer's counts: plain numbers, updated synchronously on the caller's path and
// in the send loop, read by stats() and by the metric collectors. Single-threaded
// updates keep the invariants exact at every instant:
//   recorded  = delivered + dropped.send_failed + pending
//   attempted = recorded + every drop reason but send_failed (refused before acceptance)
//   assigned  = recorded + queue_full + closed (seqs taken: issue 26 numbers those drops too)
import { modelSizes } from '@witnesslog/schemas';
import { UndeliveredRanges } from './checkpoint.js';
import type { DropReason } from './metrics.js';

/** The `model` label values: the four sizes, and `other` as a guard (validation lets nothing else through). */
export type WitnessedModel = (typeof modelSizes)[number] | 'other';
const witnessedModels: readonly WitnessedModel[] = [...modelSizes, 'other'];

export class Counts {
  /** Accepted entries. */
  recorded = 0;
  /** Seqs assigned (the next entry's producer.seq): accepted entries plus those dropped as queue_full or closed. */
  assigned = 0;
  /** The assigned seqs that will never be delivered, for the checkpoints. */
  readonly undelivered = new UndeliveredRanges();
  /** Accepted entries witnessing a request without error. */
  success = 0;
  /** Accepted entries witnessing a request with an error. */
  error = 0;
  /** success and error per model_used: the fleet's own error rate, per model, for the page (issue #15). */
  readonly witnessed = Object.fromEntries(witnessedModels.map((m) => [m, { success: 0, error: 0 }])) as Record<WitnessedModel, { success: number; error: number }>;
  delivered = 0;
  readonly dropped: Record<DropReason, number> = {
    queue_full: 0,
    invalid: 0,
    send_failed: 0,
    closed: 0,
    sampled_out: 0,
    redact_failed: 0,
  };
}

export interface WitnessProducerStats {
  /** Every entry handed to record/recordBatch/recordCritical: total + refused ones. */
  attempted: number;
  /** Accepted entries (a dropped entry is counted as dropped, not here). */
  total: number;
  /** Accepted entries of requests that succeeded (no error field). */
  success: number;
  /** Accepted entries of requests that failed (error field set). */
  error: number;
  /** success / total; 1 before the first entry (no failed request seen). */
  success_rate: number;
  /** Acknowledged by the broker. */
  delivered: number;
  /** Accepted, neither delivered nor dropped yet: queued or in flight. */
  pending: number;
  /** Encoded bytes of the pending entries. */
  pending_bytes: number;
  dropped: Record<DropReason, number>;
  /** Accepting entries (false once close() was called). */
  running: boolean;
  /** The last exchange with the broker succeeded. */
  connected: boolean;
  /** The sampleRate in force (entries sampled out are in dropped.sampled_out). */
  sample_rate: number;
  /** kafkajs computes record-batch CRCs with the SDK's function (option fastCrc32c; process-wide). */
  fast_crc32c: boolean;
  /**
   * This instance's identity, as written into each entry's `producer` (schema v2), and
   * the last seq assigned (null before the first): seqs 0..last_seq were each delivered,
   * are pending, or are in the instance's checkpoints as undelivered (issue 26).
   */
  producer: { id: string; service: string; host: string; last_seq: number | null };
}
