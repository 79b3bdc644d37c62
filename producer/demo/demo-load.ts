// witness-demo-load: a small serving-fleet imitation for the `demo` profile of
// docker-compose, so a newcomer sees entries flow into Qdrant and the dashboards.
// It records through the SDK exactly as a serving node would (importing the
// package by its name): fire-and-forget, with the SDK's metrics on its own
// /metrics. A program, not part of the SDK: it lives beside src/, not in it,
// and the package does not ship it.
//
// Environment (all optional): WITNESS_KAFKA_BROKERS (127.0.0.1:9092), WITNESS_TOPIC
// (witness.entries), WITNESS_EMBEDDING_DIM (768), DEMO_RATE entries/s (50),
// DEMO_ERROR_RATE (0.05), DEMO_DURATION_S (0 = until SIGTERM), DEMO_METRICS_HOST
// (127.0.0.1), DEMO_METRICS_PORT (9465; 0 = no metrics server).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { createWitnessEntry, withError, withLatency, withQuality, type ModelSize, type WitnessEntry } from '@witnesslog/schemas';
import { createWitnessProducer } from '@witnesslog/producer';

const MODELS: readonly ModelSize[] = ['tiny', 'small', 'medium', 'large'];
// What a real fleet fails with, so the per-error-code views have something to show.
const ERRORS = [
  { code: 'TIMEOUT', message: 'generation exceeded its deadline' },
  { code: 'CONTEXT_OVERFLOW', message: 'prompt and context exceed the model window' },
  { code: 'RATE_LIMITED', message: 'model pool saturated' },
] as const;
// Queries cluster around a few topics, so "find similar requests" finds neighbours.
const TOPICS = 8;

export interface DemoLoadOptions {
  brokers: string[];
  topic: string;
  dim: number;
  rate: number;
  errorRate: number;
  durationS: number;
  metricsHost: string;
  metricsPort: number;
}

/** Reads the options from the environment; a bad value names the variable and value. */
export function demoLoadOptions(env: NodeJS.ProcessEnv = process.env): DemoLoadOptions {
  const number = (name: string, fallback: number, min: number, max: number): number => {
    const text = env[name]?.trim();
    if (!text) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name}=${JSON.stringify(text)}: expected a number from ${min} to ${max}`);
    return n;
  };
  return {
    brokers: (env.WITNESS_KAFKA_BROKERS?.trim() || '127.0.0.1:9092').split(',').map((b) => b.trim()),
    topic: env.WITNESS_TOPIC?.trim() || 'witness.entries',
    dim: number('WITNESS_EMBEDDING_DIM', 768, 1, 65_536),
    rate: number('DEMO_RATE', 50, 0.1, 100_000),
    errorRate: number('DEMO_ERROR_RATE', 0.05, 0, 1),
    durationS: number('DEMO_DURATION_S', 0, 0, 1e9),
    metricsHost: env.DEMO_METRICS_HOST?.trim() || '127.0.0.1',
    metricsPort: number('DEMO_METRICS_PORT', 9465, 0, 65_535),
  };
}

/** One plausible request: its topic decides the embedding's direction, its model the latency. */
export function demoEntry(dim: number, errorRate: number, sessionId: string, random = Math.random): WitnessEntry {
  const topic = Math.floor(random() * TOPICS);
  const vector = (seed: number) => Array.from({ length: dim }, (_, i) => Math.sin((i + 1) * (seed + 1)) + (random() - 0.5) * 0.3);
  const modelIndex = Math.min(3, Math.floor(random() * 4));
  const model = MODELS[modelIndex]!;
  const p = [0.1, 0.1, 0.1, 0.1];
  p[modelIndex] = 0.7;
  let entry = createWitnessEntry(sessionId, vector(topic), {
    model,
    context_size: 512 * 2 ** modelIndex,
    temperature: 0.7,
    top_p: 0.9,
    confidence: 0.5 + random() * 0.5,
    model_probs: p,
  });
  const scale = 2 ** modelIndex;
  entry = withLatency(entry, {
    embedding_ms: 2 + random() * 3,
    retrieval_ms: 5 + random() * 20,
    routing_ms: 0.5 + random(),
    attention_ms: 10 * scale * (0.5 + random()),
    generation_ms: 60 * scale * (0.5 + random()),
  });
  entry = withQuality(entry, 0.5 + random() * 0.5);
  entry = { ...entry, response_embedding: vector(topic + TOPICS), context_doc_ids: [randomUUID(), randomUUID()], tags: ['demo', `topic-${topic}`] };
  if (random() < errorRate) entry = withError(entry, { ...ERRORS[Math.floor(random() * ERRORS.length)]!, recovery_attempted: random() < 0.5 });
  return entry;
}

async function main(): Promise<void> {
  const options = demoLoadOptions();
  const registry = new Registry();
  const producer = createWitnessProducer({ brokers: options.brokers, topic: options.topic, embeddingDim: options.dim, registry, clientId: 'witness-demo-load' });
  let server: Server | undefined;
  if (options.metricsPort > 0) {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
    }).listen(options.metricsPort, options.metricsHost);
  }
  const sessions = Array.from({ length: 20 }, () => randomUUID());
  // Ticks of 100 ms carry a fractional backlog, so low rates are honoured too.
  let owed = 0;
  const tick = setInterval(() => {
    owed += options.rate / 10;
    for (; owed >= 1; owed -= 1) producer.record(demoEntry(options.dim, options.errorRate, sessions[Math.floor(Math.random() * sessions.length)]!));
  }, 100);
  const report = setInterval(() => console.log(JSON.stringify({ msg: 'witness demo load', ...producer.stats() })), 10_000);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(tick);
    clearInterval(report);
    await producer.close();
    console.log(JSON.stringify({ msg: 'witness demo load stopped', ...producer.stats() }));
    server?.close();
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  if (options.durationS > 0) setTimeout(() => void stop(), options.durationS * 1000);
}

// Run as a program (node producer/demo/dist/demo-load.js), not when imported by a test.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`witness-demo-load: ${(err as Error).message}`);
    process.exit(2);
  });
}
