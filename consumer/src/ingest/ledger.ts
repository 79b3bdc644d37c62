// The commit ledger: which partitions we own, what we committed on each, and the
// commit itself. Only the flush pipeline calls commit(), and only after the batch
// was acknowledged by Qdrant and every dead letter of it by the DLQ topic: a
// commit ahead of the write is how pipelines lose data when the sink is down.
//
// Batches are flushed one at a time in FIFO order, so when a flush commits
// "partition p up to offset o" every earlier message of p was settled by this or
// an earlier flush. Commits go only to partitions we still own, and never backwards.
import type { Logger } from 'pino';
import type { GroupConsumer, TopicPartitionOffset } from './kafka.js';
import type { ConsumerMetrics } from './metrics.js';

/** The position of a received message, as the ledger needs it. */
export interface Position {
  topic: string;
  partition: number;
  offset: string;
  /** On the last message of a fetched batch: the offset after the batch (past trailing control records). */
  batchEnd: string | undefined;
}

export interface CommitLedger {
  /** Partitions assigned at the last join, each sorted. */
  readonly assignment: Record<string, number[]>;
  /** Records a fetched batch's high watermark (for the lag gauge). */
  fetched(topic: string, partition: number, highWatermark: string, firstOffset: string | null): void;
  /** Commits the end of `items` on each partition still ours; resolves to what was committed ([] when the commit failed). */
  commit(items: readonly Position[]): Promise<TopicPartitionOffset[]>;
  /** A new generation: forget commits and partitions no longer ours. */
  joined(assignment: Record<string, number[]>): void;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export function createCommitLedger({
  consumer,
  metrics,
  logger,
}: {
  consumer: Pick<GroupConsumer, 'commitOffsets'>;
  metrics: ConsumerMetrics;
  logger: Logger;
}): CommitLedger {
  let assignment: Record<string, number[]> = {};
  let assigned = new Set<string>();
  /** Next offset we committed, per partition: commits never go backwards. */
  const committed = new Map<string, bigint>();
  /** High watermark of the last fetched batch, per partition, for the lag gauge. */
  const highWatermarks = new Map<string, bigint>();

  function setLag(topic: string, partition: number): void {
    const k = key(topic, partition);
    const hw = highWatermarks.get(k);
    const next = committed.get(k);
    if (hw === undefined || next === undefined) return;
    metrics.lag.set({ topic, partition: String(partition) }, Number(hw > next ? hw - next : 0n));
  }

  return {
    get assignment() {
      return assignment;
    },

    fetched(topic, partition, highWatermark, firstOffset) {
      const k = key(topic, partition);
      highWatermarks.set(k, BigInt(highWatermark));
      if (!committed.has(k) && firstOffset !== null) {
        // Before our first commit the fetch started at the committed offset: the first one fetched.
        metrics.lag.set({ topic, partition: String(partition) }, Number(BigInt(highWatermark) - BigInt(firstOffset)));
      }
    },

    async commit(items) {
      // Walking backwards, the first message seen of each partition is its last: FIFO order.
      const next = new Map<string, { topic: string; partition: number; offset: bigint }>();
      for (let i = items.length - 1; i >= 0; i--) {
        const item = items[i]!;
        const k = key(item.topic, item.partition);
        if (next.has(k)) continue;
        const offset = item.batchEnd !== undefined ? BigInt(item.batchEnd) : BigInt(item.offset) + 1n;
        next.set(k, { topic: item.topic, partition: item.partition, offset });
      }
      const offsets: TopicPartitionOffset[] = [];
      const keys: string[] = [];
      for (const [k, { topic, partition, offset }] of next) {
        if (!assigned.has(k)) {
          // Revoked while we wrote: its new owner reads from the last commit and rewrites the same points.
          metrics.commits.inc({ result: 'skipped_revoked' });
          continue;
        }
        const previous = committed.get(k);
        if (previous !== undefined && previous >= offset) continue;
        offsets.push({ topic, partition, offset: offset.toString() });
        keys.push(k);
      }
      if (offsets.length === 0) return offsets;
      try {
        await consumer.commitOffsets(offsets);
      } catch (err) {
        // Written but not committed: these entries will be delivered and upserted again, harmlessly.
        metrics.commits.inc({ result: 'failed' });
        logger.warn({ err: (err as Error).message, offsets }, 'offset commit failed; the entries are written and will be delivered again');
        return [];
      }
      metrics.commits.inc({ result: 'ok' });
      for (let i = 0; i < offsets.length; i++) {
        committed.set(keys[i]!, BigInt(offsets[i]!.offset));
        setLag(offsets[i]!.topic, offsets[i]!.partition);
      }
      return offsets;
    },

    joined(memberAssignment) {
      assignment = Object.fromEntries(Object.entries(memberAssignment).map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]));
      assigned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => key(t, p))));
      for (const k of [...highWatermarks.keys()]) {
        if (assigned.has(k)) continue;
        const [topic, partition] = k.split('\u0000') as [string, string];
        highWatermarks.delete(k);
        metrics.lag.remove({ topic, partition });
      }
      // Our record of commits is no longer the broker's: kafkajs fetches every assigned
      // partition again from its committed offset. From now on it only guards against a
      // commit of an older in-flight batch being overtaken.
      committed.clear();
    },
  };
}
