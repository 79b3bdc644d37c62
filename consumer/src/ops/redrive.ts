// Re-driving dead letters (witness dlq redrive): each letter's original key,
// value and headers go back on its source topic, plus REDRIVEN_FROM_HEADER
// naming the letter, at most `ratePerSecond` a second.
//
// Resumable: progress is the committed offset of the consumer group
// `witness-redrive-<dlqTopic>` (with `-<reason>` appended when a reason is
// given, so re-driving one reason does not pass over the letters of another),
// committed after each letter the broker acknowledged (acks=all). An
// interrupted run resumes after the last committed letter; a second run finds
// nothing new. Letters a --since filter passes over are committed past too.
// A letter re-driven twice anyway (a crash between produce and commit) is
// absorbed by the consumer: the log is append-only per request id, and a
// conflicting repeat is dead-lettered again with its reason.
import type kafkajs from 'kafkajs';
import { consumeLetters, readLetters, REDRIVEN_FROM_HEADER, type Letter } from './dlq-reader.js';
import { createTokenBucket } from './token-bucket.js';

export interface RedriveOptions {
  kafka: kafkajs.Kafka;
  dlqTopic: string;
  reason?: string;
  since?: Date;
  ratePerSecond: number;
  dryRun: boolean;
  /** Called after each letter re-driven (or, with dryRun, that would be). */
  onLetter?: (letter: Letter) => void;
}

export interface RedriveResult {
  groupId: string;
  redriven: Letter[];
  /** Letters that matched but cannot go back (their value was left out to fit the DLQ): still in the DLQ. */
  unredrivable: Letter[];
}

export function redriveGroupId(dlqTopic: string, reason?: string): string {
  return `witness-redrive-${dlqTopic}${reason ? `-${reason}` : ''}`;
}

export function matches(l: Letter, { reason, since }: { reason?: string | undefined; since?: Date | undefined }): boolean {
  if (reason !== undefined && l.reason !== reason) return false;
  if (since !== undefined && (l.at === null || Date.parse(l.at) < since.getTime())) return false;
  return true;
}

export async function redrive({ kafka, dlqTopic, reason, since, ratePerSecond, dryRun, onLetter }: RedriveOptions): Promise<RedriveResult> {
  const groupId = redriveGroupId(dlqTopic, reason);
  const result: RedriveResult = { groupId, redriven: [], unredrivable: [] };
  const take = (l: Letter): boolean => {
    if (!matches(l, { reason, since })) return false;
    if (l.unredrivable) result.unredrivable.push(l);
    return l.unredrivable === null;
  };
  if (dryRun) {
    // What a real run would send: the letters after the group's committed offsets, read without joining it.
    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [dlqTopic] }).finally(() => admin.disconnect());
    const done = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    for (const l of await readLetters(kafka, dlqTopic)) {
      if (BigInt(l.offset) >= (done.get(l.partition) ?? 0n) && take(l)) {
        result.redriven.push(l);
        onLetter?.(l);
      }
    }
    return result;
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const bucket = createTokenBucket(ratePerSecond);
  try {
    await consumeLetters(kafka, dlqTopic, {
      groupId,
      onLetter: async (l, consumer) => {
        if (take(l)) {
          await bucket.take();
          const from = `${dlqTopic}/${l.partition}:${l.offset}`;
          await producer.send({ topic: l.sourceTopic, acks: -1, messages: [{ key: l.key, value: l.value, headers: { ...l.headers, [REDRIVEN_FROM_HEADER]: from } as kafkajs.IHeaders }] });
          result.redriven.push(l);
          onLetter?.(l);
        }
        // Committed once the letter is on its source topic (or passed over): a rerun resumes after it.
        await consumer.commitOffsets([{ topic: dlqTopic, partition: l.partition, offset: String(BigInt(l.offset) + 1n) }]);
      },
    });
  } finally {
    await producer.disconnect();
  }
  return result;
}
