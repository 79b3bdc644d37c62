// Retention by the service: with WITNESS_RETENTION set (e.g. 7d), the consumer
// deletes the entries whose `timestamp` is older than the window, on a schedule.
// The delete goes through the `timestamp` payload index in bounded chunks: scroll
// at most `chunk` ids older than the cut-off, delete those ids, repeat. One giant
// delete-by-filter would hold Qdrant's update queue (and so the consumer's upserts)
// for as long as it takes; a chunk lets an upsert in between. Kafka's topic
// retention (retention.ms, docker-compose.yml) bounds the other end: how long the
// pipeline may be down without losing entries (consumer/README.md documents both).
import type { QdrantClient } from '@qdrant/js-client-rest';
import { Counter, Gauge, type Registry } from 'prom-client';
import { DURATION_HINT, parseDuration } from '../duration.js';
import { ConfigError } from '../errors.js';

export const retentionMetricNames = Object.freeze({
  /** Entries deleted because they were older than the retention window. */
  deleted: 'witness_retention_deleted_entries_total',
  /** When the last retention pass finished without error (unix seconds). */
  lastRun: 'witness_retention_last_run_timestamp_seconds',
  /** Retention passes, by `outcome` (ok | error). */
  runs: 'witness_retention_runs_total',
});

export interface RetentionConfig {
  /** Entries older than this many milliseconds are deleted. */
  windowMs: number;
  /** Time between two passes. */
  intervalMs: number;
  /** Ids scrolled and deleted per request. */
  chunk: number;
}

export const RETENTION_DEFAULTS = Object.freeze({ interval: '10m', chunk: 1000 });

/**
 * WITNESS_RETENTION (a duration like 7d; unset or empty: off), WITNESS_RETENTION_INTERVAL
 * (default 10m) and WITNESS_RETENTION_CHUNK (default 1000, 1..10000). Undefined when off;
 * a ConfigError naming each bad variable and its value otherwise.
 */
export function retentionConfig(env: NodeJS.ProcessEnv): RetentionConfig | undefined {
  const window = env.WITNESS_RETENTION?.trim();
  if (!window) return undefined;
  const problems: string[] = [];
  const duration = (name: string, text: string) => {
    const ms = parseDuration(text);
    if (ms === undefined) problems.push(`${name}=${JSON.stringify(text)}: expected ${DURATION_HINT}`);
    return ms ?? 0;
  };
  const windowMs = duration('WITNESS_RETENTION', window);
  const intervalMs = duration('WITNESS_RETENTION_INTERVAL', env.WITNESS_RETENTION_INTERVAL?.trim() || RETENTION_DEFAULTS.interval);
  const chunkText = env.WITNESS_RETENTION_CHUNK?.trim() || String(RETENTION_DEFAULTS.chunk);
  const chunk = Number(chunkText);
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 10_000) {
    problems.push(`WITNESS_RETENTION_CHUNK=${JSON.stringify(chunkText)}: expected an integer from 1 to 10000`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ windowMs, intervalMs, chunk });
}

/** The two Qdrant calls retention makes. */
export type RetentionClient = Pick<QdrantClient, 'scroll' | 'delete'>;

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RetentionOptions extends RetentionConfig {
  client: RetentionClient;
  collection: string;
  /** The metrics go here; none without it. */
  registry?: Registry;
  logger?: Logger;
  /** Milliseconds since the epoch; tests move it. */
  clock?: () => number;
}

export interface Retention {
  /** One pass: deletes every entry older than now - window, chunk by chunk; resolves to how many. */
  runOnce(): Promise<number>;
  /** A pass now, then one every intervalMs; a failed pass is logged, counted and tried again next time. */
  start(): void;
  /** Stops the schedule and waits for a running pass to finish its current chunk. Safe to call twice. */
  stop(): Promise<void>;
}

const silent: Logger = { info() {}, warn() {} };

export function createRetention({ client, collection, windowMs, intervalMs, chunk, registry, logger = silent, clock = Date.now }: RetentionOptions): Retention {
  const registers = registry ? [registry] : [];
  const deleted = new Counter({ name: retentionMetricNames.deleted, help: 'Witness entries deleted as older than the retention window (WITNESS_RETENTION)', registers });
  const lastRun = new Gauge({ name: retentionMetricNames.lastRun, help: 'When the last retention pass finished without error, unix seconds', registers });
  const runs = new Counter({ name: retentionMetricNames.runs, help: 'Retention passes by outcome', labelNames: ['outcome'] as const, registers });
  // Both outcomes exist from the start, so an alert on errors sees 0 rather than no data.
  runs.inc({ outcome: 'ok' }, 0);
  runs.inc({ outcome: 'error' }, 0);

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  async function pass(): Promise<number> {
    const cutoff = new Date(clock() - windowMs).toISOString();
    const filter = { must: [{ key: 'timestamp', range: { lt: cutoff } }] };
    let total = 0;
    while (!stopped) {
      const { points } = await client.scroll(collection, { filter, limit: chunk, with_payload: false, with_vector: false });
      if (points.length === 0) break;
      await client.delete(collection, { points: points.map((p) => p.id), wait: true });
      total += points.length;
      deleted.inc(points.length);
      if (points.length < chunk) break;
    }
    lastRun.set(clock() / 1000);
    runs.inc({ outcome: 'ok' });
    if (total > 0) logger.info({ deleted: total, cutoff, collection }, 'retention: deleted entries older than the window');
    return total;
  }

  const runOnce = (): Promise<number> => {
    // One pass at a time: a slow pass and the next tick must not delete side by side.
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  const tick = () => {
    runOnce().catch((err: unknown) => {
      runs.inc({ outcome: 'error' });
      logger.warn({ err, collection }, 'retention pass failed; trying again at the next interval');
    });
  };

  return {
    runOnce,
    start() {
      if (timer || stopped) return;
      tick();
      timer = setInterval(tick, intervalMs);
      // The schedule alone must not keep the process alive at shutdown.
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      timer = undefined;
      await running?.catch(() => {});
    },
  };
}
