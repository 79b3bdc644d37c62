// Checkpoints (issue 26): what this instance says about the seqs it assigned, sent
// on the witness topic beside its entries so the log can prove it is complete.
// UndeliveredRanges keeps the seqs that will never be delivered (queue_full,
// closed, send_failed) as sorted, merged ranges, cumulative since the instance
// started and bounded in memory; Checkpoints turns that and the refusal counts
// into the next record, numbered from 0.
import { CHECKPOINT_MAX_RANGES, encodeCheckpoint, type UndeliveredRange, type UndeliveredReason, type WitnessCheckpoint } from '@witnesslog/schemas';
import type { Counts } from './counts.js';
import type { InstanceIdentity } from './identity.js';
import type { OutgoingMessage } from './kafka.js';
import type { Log } from './log.js';

export class UndeliveredRanges {
  private readonly ranges: UndeliveredRange[] = [];
  /** Ranges were left out past CHECKPOINT_MAX_RANGES; stays true (the record is cumulative). */
  truncated = false;

  constructor(private readonly max = CHECKPOINT_MAX_RANGES) {}

  /** Seqs `from`..`to` will never be delivered. Drops come mostly in order: the common case is O(1). */
  add(from: number, to: number, reason: UndeliveredReason): void {
    if (to < from) return;
    const r = this.ranges;
    // Where the range goes: after every range ending below `from`.
    let i = r.length;
    while (i > 0 && r[i - 1]!.to >= from) i -= 1;
    const before = r[i - 1];
    const after = r[i];
    if (before !== undefined && before.reason === reason && before.to + 1 === from) {
      before.to = to;
      if (after !== undefined && after.reason === reason && after.from === to + 1) {
        before.to = after.to;
        r.splice(i, 1);
      }
      return;
    }
    if (after !== undefined && after.reason === reason && after.from === to + 1) {
      after.from = from;
      return;
    }
    r.splice(i, 0, { from, to, reason });
    if (r.length > this.max) {
      // Bounded: the highest range goes and the record says it is incomplete.
      r.pop();
      this.truncated = true;
    }
  }

  /** A copy, for a record. */
  list(): UndeliveredRange[] {
    return this.ranges.map((x) => ({ ...x }));
  }
}

export class Checkpoints {
  private next = 0;
  private lastSent = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly identity: InstanceIdentity,
    private readonly counts: Counts,
    private readonly log: Log,
  ) {}

  /** Every intervalMs, hand the next checkpoint (if any) to `offer`. */
  start(intervalMs: number, offer: (message: OutgoingMessage) => void): void {
    // unref'd: a checkpoint must not keep the host's process alive.
    this.timer = setInterval(() => {
      try {
        const message = this.message(false);
        if (message !== undefined) offer(message);
      } catch (err) {
        this.log.error({ err: String(err) }, 'witness producer could not make a checkpoint (a bug)');
      }
    }, intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Keyed by the producer id: one partition holds all of this instance's checkpoints. */
  message(final: boolean): OutgoingMessage | undefined {
    const value = this.build(final);
    return value === undefined ? undefined : { key: this.identity.id, value };
  }

  /**
   * The next checkpoint, encoded; undefined when there is nothing to say: nothing changed
   * since the last one (unless final), or the instance never numbered nor refused an entry.
   */
  build(final: boolean, now = Date.now()): Buffer | undefined {
    const c = this.counts;
    if (c.assigned === 0 && c.dropped.invalid + c.dropped.sampled_out + c.dropped.redact_failed === 0) return undefined;
    const record: WitnessCheckpoint = {
      producer_id: this.identity.id,
      service: this.identity.service,
      host: this.identity.host,
      checkpoint_seq: this.next,
      sent_at: now,
      high_seq: c.assigned - 1,
      undelivered: c.undelivered.list(),
      truncated: c.undelivered.truncated,
      refused: { invalid: c.dropped.invalid, sampled_out: c.dropped.sampled_out, redact_failed: c.dropped.redact_failed },
      final,
    };
    const state = JSON.stringify([record.high_seq, record.undelivered, record.truncated, record.refused]);
    if (!final && state === this.lastSent) return undefined;
    this.lastSent = state;
    this.next += 1;
    return encodeCheckpoint(record);
  }
}
