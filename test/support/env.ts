// Where the running local stack is (local/stack.ts sets these for the tests) and
// small helpers that give every test its own topic, group and collection names.
import { randomBytes } from 'node:crypto';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const qdrantUrl = process.env.QDRANT_URL ?? 'http://127.0.0.1:6333';
export const prometheusUrl = process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090';

/** A name no other test (or earlier run) uses: `prefix-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
