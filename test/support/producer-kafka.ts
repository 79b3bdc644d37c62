// Reading back what the producer wrote: every message of a topic, in partition order,
// decoded (test/support/topic.ts does the reading).
import { decodeEntry, isCheckpointMessage, type DecodedWitnessEntry } from '@witnesslog/schemas';
import { countByKind, messageCount as countMessages, deleteTopics as removeTopics, readMessages } from './topic.js';

export interface Consumed {
  partition: number;
  offset: number;
  key: string;
  entry: DecodedWitnessEntry;
}

/** How many messages the topic holds (from its offsets). */
export function messageCount(brokers: string[], topic: string): Promise<number> {
  return countMessages({ brokers }, topic);
}

/** How many entries the topic holds: its messages but the SDK's checkpoints. */
export async function entryCount(brokers: string[], topic: string): Promise<number> {
  return (await countByKind({ brokers }, topic)).entries;
}

/** Consumes the topic from the beginning until `count` entries arrived; each decoded. The SDK's checkpoints (issue 26) are left out. */
export async function consumeAll(brokers: string[], topic: string, count: number, timeoutMs = 30_000): Promise<Consumed[]> {
  let checkpoints = 0;
  for (;;) {
    const read = await readMessages({ brokers }, topic, { count: count + checkpoints, timeoutMs });
    const entries = read.filter(({ message }) => !isCheckpointMessage(message.value ?? Buffer.alloc(0)));
    if (entries.length >= count || read.length < count + checkpoints) return entries.map(decoded);
    checkpoints = read.length - entries.length;
  }
}

function decoded({ partition, message }: Awaited<ReturnType<typeof readMessages>>[number]): Consumed {
  return {
    partition,
    offset: Number(message.offset),
    key: message.key!.toString(),
    entry: decodeEntry(message.value!),
  };
}

export function deleteTopics(brokers: string[], topics: string[]): Promise<void> {
  return removeTopics({ brokers }, topics);
}
