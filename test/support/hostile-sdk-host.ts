// A serving node in its own process handing the SDK hostile objects (issue 13,
// findings 5-8), then good entries. Nothing here catches an unhandled rejection
// or an uncaught exception: if the SDK threw into the caller, or left a timer
// that rejects (recordCritical's timeout), Node ends this process with a
// non-zero code. Prints one JSON line: what threw synchronously, the request ids
// of the entries that must be stored, and the SDK's stats after close().
//
// Env: BROKERS, TOPIC, DIM.
import { setTimeout as sleep } from 'node:timers/promises';
import { createWitnessProducer } from '@witnesslog/producer';
import type { WitnessEntry } from '@witnesslog/schemas';
import { Registry } from 'prom-client';
import { testEntry } from './entries.js';

const DIM = Number(process.env.DIM);
const CRITICAL_TIMEOUT_MS = 500;
const producer = createWitnessProducer({
  brokers: process.env.BROKERS!.split(','),
  topic: process.env.TOPIC!,
  embeddingDim: DIM,
  registry: new Registry(),
  criticalTimeoutMs: CRITICAL_TIMEOUT_MS,
  lingerMs: 20,
});

const trap = () => {
  throw new Error('looked at the thrown value');
};
const hostileThrown = () => new Proxy({}, { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });
const namelessThrown = () => ({
  get name(): string {
    throw new Error('name');
  },
});

function withGetter(i: number, get: () => unknown): WitnessEntry {
  const e = testEntry(DIM, i, `hostile-${i}`);
  Object.defineProperty(e, 'session_id', { get, enumerable: true });
  return e;
}

const threw: string[] = [];
const pending: Array<Promise<unknown>> = [];
function probe(name: string, call: () => unknown): void {
  try {
    const result = call();
    if (result instanceof Promise) pending.push(result.catch(() => 'rejected'));
  } catch {
    threw.push(name);
  }
}

// Finding 5: getters that throw values whose own properties throw.
probe('record: getter throws a Proxy', () => producer.record(withGetter(0, () => { throw hostileThrown(); })));
probe('record: getter throws {get name(){throw}}', () => producer.record(withGetter(1, () => { throw namelessThrown(); })));
probe('record: the entry is a Proxy that throws', () => producer.record(new Proxy(testEntry(DIM, 2), { get: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, getPrototypeOf: trap }) as WitnessEntry));
// Finding 6: an array-like whose length getter throws.
probe('recordBatch: length throws', () => producer.recordBatch({ get length(): number { throw hostileThrown(); } } as unknown as WitnessEntry[]));
probe('recordBatch: length 2^40', () => producer.recordBatch({ length: 2 ** 40 } as unknown as WitnessEntry[]));
// Finding 7: recordCritical with such an entry rejects (never throws), and its timer cannot end the process.
probe('recordCritical: getter throws a Proxy', () => producer.recordCritical(withGetter(3, () => { throw hostileThrown(); })));

// Finding 8: a session_id that is valid on the first two reads and a number after. Read once, the entry is
// valid as read and stored as read.
const mustStore: string[] = [];
for (let i = 0; i < 20; i++) {
  let reads = 0;
  const e = withGetter(100 + i, () => (++reads <= 2 ? `flip-${i}` : 12345));
  probe(`record: flipping session_id ${i}`, () => producer.record(e));
  mustStore.push(e.request_id);
}

// Good entries around them, one of them critical and awaited.
for (let i = 0; i < 40; i++) {
  const e = testEntry(DIM, 200 + i, `good-${i}`);
  probe(`record: good ${i}`, () => producer.record(e));
  mustStore.push(e.request_id);
}
const critical = testEntry(DIM, 300, 'good-critical');
await producer.recordCritical(critical);
mustStore.push(critical.request_id);

// Past every critical timeout: a stray timer would have ended the process by now.
await sleep(CRITICAL_TIMEOUT_MS * 3);
const outcomes = await Promise.all(pending);
await producer.close();
process.stdout.write(`${JSON.stringify({ threw, mustStore, criticalOutcomes: outcomes, stats: producer.stats() })}\n`);
