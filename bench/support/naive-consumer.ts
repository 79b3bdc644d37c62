// The consumer a user would write instead of ours: kafkajs eachMessage, decode,
// one awaited upsert (wait=true) per message, float vectors as produced.
// Time-boxed: at one round trip per entry it would take minutes for a topic.
// It runs in the calling process, so process.cpuUsage() is its CPU.
import { performance } from 'node:perf_hooks';
import { QdrantClient } from '@qdrant/js-client-rest';
import type { Kafka } from 'kafkajs';
import type { WitnessCodec } from '@witnesslog/schemas';

export interface NaiveRun {
  entries: number;
  rate: number;
  cpuUsPerEntry: number;
}

export interface NaiveOptions {
  kafka: Kafka;
  codec: WitnessCodec;
  topic: string;
  groupId: string;
  url: string;
  collection: string;
  /** Stops after this many entries or seconds, whichever comes first. */
  maxEntries: number;
  seconds: number;
}

export async function runNaiveConsumer(o: NaiveOptions): Promise<NaiveRun> {
  const client = new QdrantClient({ url: o.url, checkCompatibility: false });
  const consumer = o.kafka.consumer({ groupId: o.groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: o.topic, fromBeginning: true });
  let count = 0;
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  let stopAt = Number.POSITIVE_INFINITY;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (count === 0) {
        t0 = performance.now();
        cpu0 = process.cpuUsage();
        stopAt = t0 + o.seconds * 1000;
      }
      if (performance.now() >= stopAt || count >= o.maxEntries) return done();
      const entry = o.codec.decode(message.value!);
      const { query_embedding, response_embedding, ...payload } = entry;
      await client.upsert(o.collection, {
        wait: true,
        points: [{ id: entry.request_id, vector: { query: Array.from(query_embedding), response: Array.from(response_embedding) }, payload }],
      });
      count += 1;
    },
  });
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await consumer.disconnect();
  return { entries: count, rate: count / seconds, cpuUsPerEntry: (cpu.user + cpu.system) / count };
}
