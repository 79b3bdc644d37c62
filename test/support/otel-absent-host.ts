// A host process for the producer's OpenTelemetry test (producer/test/unit/
// otel-absent.test.ts): imports the SDK, creates two producers on the fake Kafka
// client, records one entry, and prints one JSON line saying how often the SDK
// looked @opentelemetry/api up (after the import, after the creations) and the
// trace the entry got. Mode `hidden` makes the package unresolvable to the SDK, as
// in an app that does not install it. (prom-client, which the SDK imports for its
// metrics, depends on the package itself and so always finds its own copy: its
// requests are let through and not counted.) The resolver patch is this host's:
// the SDK patches nothing. Imports are dynamic so the patch comes first.
import Module, { createRequire } from 'node:module';

const mode = process.argv[2];
const require = createRequire(import.meta.url);
let lookups = 0;

const resolver = Module as unknown as { _resolveFilename(request: string, parent?: { filename?: string }, ...rest: unknown[]): string };
const resolve = resolver._resolveFilename.bind(Module);
resolver._resolveFilename = (request, parent, ...rest) => {
  const fromPromClient = parent?.filename?.includes('/node_modules/prom-client/') === true;
  if (!fromPromClient && parent !== undefined && (request === '@opentelemetry/api' || request.startsWith('@opentelemetry/api/'))) {
    lookups += 1;
    if (mode === 'hidden') throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
  }
  return resolve(request, parent, ...rest);
};

let resolvable = true;
try {
  require.resolve('@opentelemetry/api');
} catch {
  resolvable = false;
}
lookups = 0;
const { createWitnessProducerWith } = await import('../../producer/src/producer.js');
const afterImport = lookups;
const { FakeKafka } = await import('./fake-kafka-producer.js');
const { entry } = await import('./entries.js');
const { createCodec } = await import('@witnesslog/schemas');

const kafka = new FakeKafka();
const producer = createWitnessProducerWith({ brokers: ['fake:9092'], env: {}, embeddingDim: 8, lingerMs: 0 }, { kafka });
const second = createWitnessProducerWith({ brokers: ['fake:9092'], env: {}, embeddingDim: 8, lingerMs: 0 }, { kafka: new FakeKafka() });
const afterCreate = lookups;
await second.close();
const accepted = producer.record(entry('otel-absent', { dim: 8 }));
await producer.flush();
const decoded = kafka.acknowledged.flatMap((r) => r.values).map((v) => createCodec({ dim: 8 }).decode(v));
await producer.close();
console.log(JSON.stringify({ resolvable, afterImport, afterCreate, accepted, trace: decoded[0]?.trace, delivered: producer.stats().delivered }));
