// A profiling aid for the consumer's write path (issue 23, the levers): fills a
// topic with N full 768-d entries once, then runs the witness-consumer service
// under `node --cpu-prof` until every entry is in Qdrant, and prints points/s,
// the process's CPU per entry and the profile's top self-time lines.
//   node --conditions=witnesslog-src --import tsx bench/support/ingest-profile.ts [topic] [extra ENV=value ...]
// With a topic name it reuses that topic (filled by an earlier run).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { QdrantClient } from '@qdrant/js-client-rest';
import kafkajs from 'kafkajs';
import { createCodec } from '@witnesslog/schemas';
import { DIM, makeEntries } from './entries.js';

const COUNT = Number(process.env.PROFILE_ENTRIES ?? 6000);
const brokers = (process.env.WITNESS_KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? 9092}`).split(',');
const qdrantUrl = process.env.WITNESS_QDRANT_URL ?? `http://127.0.0.1:${process.env.QDRANT_PORT ?? 6333}`;
const kafka = new kafkajs.Kafka({ brokers, clientId: 'ingest-profile', logLevel: kafkajs.logLevel.NOTHING });

// One producer send per partition's share, all entries at once: the topic is filled once and reused.
async function fill(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect().then(() => admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).finally(() => admin.disconnect());
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  const codec = createCodec({ dim: DIM });
  const messages = makeEntries(COUNT).map((e) => ({ key: e.session_id, value: codec.encode(e) }));
  await producer.connect();
  for (let at = 0; at < messages.length; at += 500) await producer.send({ topic, acks: -1, messages: messages.slice(at, at + 500) });
  await producer.disconnect();
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; }

function topSelf(dir: string, lines = 15): string[] {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const { functionName, url, lineNumber } = byNode.get(id)!.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^.*wt-ingest\//, '')}:${lineNumber + 1}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, lines).map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}`);
}

async function main(): Promise<void> {
  const [given, ...extra] = process.argv.slice(2);
  const topic = given && !given.includes('=') ? given : `profile_${randomUUID().slice(0, 8)}`;
  if (topic !== given) await fill(topic);
  const collection = `profile_${randomUUID().slice(0, 8)}`;
  const dir = join('.run', 'profiles', collection);
  mkdirSync(dir, { recursive: true });
  const env = {
    ...process.env,
    WITNESS_KAFKA_BROKERS: brokers.join(','),
    WITNESS_QDRANT_URL: qdrantUrl,
    WITNESS_TOPIC: topic,
    WITNESS_DLQ_TOPIC: `${topic}.dlq`,
    WITNESS_GROUP_ID: collection,
    WITNESS_COLLECTION: collection,
    LOG_LEVEL: 'warn',
    METRICS_PORT: process.env.METRICS_PORT ?? '0',
    ...Object.fromEntries(extra.concat(given?.includes('=') ? [given] : []).map((kv) => kv.split('=') as [string, string])),
  };
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--conditions=witnesslog-src', '--import', 'tsx', 'consumer/src/service/main.ts'], { env, stdio: 'inherit' });
  const qdrant = new QdrantClient({ url: qdrantUrl, checkCompatibility: false });
  const count = async () => (await qdrant.count(collection, { exact: true }).catch(() => ({ count: 0 }))).count;
  while ((await count()) === 0) await sleep(20);
  const cpu0 = cpuSeconds(child.pid!);
  const t0 = performance.now();
  while ((await count()) < COUNT) await sleep(20);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(child.pid!) - cpu0;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  console.log(`topic ${topic} (${COUNT} entries), ${Object.keys(env).filter((k) => extra.some((e) => e.startsWith(`${k}=`))).map((k) => `${k}=${env[k as keyof typeof env]}`).join(' ')}`);
  console.log(`${Math.round(COUNT / seconds)} points/s, ${Math.round((cpu * 1e6) / COUNT)} µs consumer CPU per entry (whole process, after the first point)`);
  for (const line of topSelf(dir)) console.log(line);
  await qdrant.deleteCollection(collection);
}

await main();
