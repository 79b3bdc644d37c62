// A serving node in its own process, for the graceful-stop scenario: it records
// entries through the SDK at RATE per second until SIGTERM, then calls close() as
// the README tells hosts to, and reports the outcome of every entry and its final
// stats and metrics to the parent over IPC before exiting 0.
//
// Run by the test (node --import tsx) with ipc on fd 3 and serialization 'advanced',
// so entries cross with their Float32Array embeddings intact. Env: BROKERS, TOPIC,
// RATE, LINGER_MS.
import { createWitnessProducer } from '@witnesslog/producer';
import type { WitnessEntry } from '@witnesslog/schemas';
import { Registry } from 'prom-client';
import { DIM, recordClassified, type RecordOutcome } from './ledger.js';
import { testEntry } from '../entries.js';

export type HostMessage =
  | { type: 'recorded'; items: Array<{ entry: WitnessEntry; outcome: RecordOutcome }>; pending: number }
  | { type: 'closed'; stats: ReturnType<ReturnType<typeof createWitnessProducer>['stats']>; metrics: string; closeMs: number; pendingAtSigterm: number };

const send = (message: HostMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

const registry = new Registry();
const producer = createWitnessProducer({
  brokers: process.env.BROKERS!.split(','),
  topic: process.env.TOPIC!,
  embeddingDim: DIM,
  registry,
  // Entries wait in the queue for a while (a batch fills for up to LINGER_MS): at
  // SIGTERM there is nearly always something pending for close() to deliver.
  lingerMs: Number(process.env.LINGER_MS ?? 2000),
  maxBatchEntries: 10_000,
  flushTimeoutMs: 60_000,
});
const rate = Number(process.env.RATE ?? 100);
const sessions = Array.from({ length: 32 }, (_, i) => `host-${process.pid}-session-${i}`);
let n = 0;
let batch: Array<{ entry: WitnessEntry; outcome: RecordOutcome }> = [];
const started = Date.now();
const timer = setInterval(() => {
  const due = Math.floor(((Date.now() - started) * rate) / 1000);
  while (n < due) {
    const entry = testEntry(DIM, n, sessions[n % sessions.length]!);
    batch.push({ entry, outcome: recordClassified(producer, entry) });
    n += 1;
  }
  if (batch.length > 0) {
    void send({ type: 'recorded', items: batch, pending: producer.stats().pending });
    batch = [];
  }
}, 20);

process.once('SIGTERM', () => {
  clearInterval(timer);
  // The last requests served before the stop: recorded synchronously, so they are
  // certainly still pending when close() is called, whatever the send loop was doing.
  for (let i = 0; i < 20; i++, n++) {
    const entry = testEntry(DIM, n, sessions[n % sessions.length]!);
    batch.push({ entry, outcome: recordClassified(producer, entry) });
  }
  void (async () => {
    const pendingAtSigterm = producer.stats().pending;
    if (batch.length > 0) await send({ type: 'recorded', items: batch, pending: pendingAtSigterm });
    const t0 = Date.now();
    await producer.close();
    await send({ type: 'closed', stats: producer.stats(), metrics: await registry.metrics(), closeMs: Date.now() - t0, pendingAtSigterm });
    process.exit(0);
  })();
});
