// The scheduled audit (issue 26): every WITNESS_AUDIT_INTERVAL the service audits
// the last WITNESS_AUDIT_WINDOW of the log (query/audit.ts) and sets
// witness_entries_unaccounted{service}, which the WitnessEntriesUnaccounted alert
// watches. A service that had unaccounted entries and has none now is set to 0,
// not removed, so the alert resolves. A failed pass leaves the last values and is
// logged: an unreachable Qdrant is the pipeline alerts' to page on.
import type { Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { DURATION_HINT, parseDuration } from '../duration.js';
import { ConfigError } from '../errors.js';
import type { WitnessQuery } from '../query/query.js';

export interface AuditMetricConfig {
  intervalMs: number;
  windowMs: number;
  graceMs: number;
}

export const AUDIT_METRIC_DEFAULTS = Object.freeze({ interval: '60s', window: '1h', grace: '2m' });

/** WITNESS_AUDIT_INTERVAL (default 60s; `off` turns it off), WITNESS_AUDIT_WINDOW (1h), WITNESS_AUDIT_GRACE (2m). */
export function auditMetricConfig(env: NodeJS.ProcessEnv): AuditMetricConfig | undefined {
  const interval = env.WITNESS_AUDIT_INTERVAL?.trim() || AUDIT_METRIC_DEFAULTS.interval;
  if (interval.toLowerCase() === 'off') return undefined;
  const problems: string[] = [];
  const duration = (name: string, text: string) => {
    const ms = parseDuration(text);
    if (ms === undefined) problems.push(`${name}=${JSON.stringify(text)}: expected ${DURATION_HINT}${name === 'WITNESS_AUDIT_INTERVAL' ? ', or off' : ''}`);
    return ms ?? 0;
  };
  const config = {
    intervalMs: duration('WITNESS_AUDIT_INTERVAL', interval),
    windowMs: duration('WITNESS_AUDIT_WINDOW', env.WITNESS_AUDIT_WINDOW?.trim() || AUDIT_METRIC_DEFAULTS.window),
    graceMs: duration('WITNESS_AUDIT_GRACE', env.WITNESS_AUDIT_GRACE?.trim() || AUDIT_METRIC_DEFAULTS.grace),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

export interface AuditMetric {
  /** One pass now; resolves when the gauge is set (or the pass failed and was logged). */
  runOnce(): Promise<void>;
  start(): void;
  /** Stops the schedule and waits for a pass under way. Safe to call twice. */
  stop(): Promise<void>;
}

export function createAuditMetric({ query, gauge, config, logger, now = Date.now }: {
  query: Pick<WitnessQuery, 'audit'>;
  gauge: Gauge<'service'>;
  config: AuditMetricConfig;
  logger: Logger;
  now?: () => number;
}): AuditMetric {
  const seen = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function pass(): Promise<void> {
    try {
      const report = await query.audit({ since: new Date(now() - config.windowMs), graceMs: config.graceMs });
      const byService = new Map<string, number>([...seen].map((s) => [s, 0]));
      for (const p of report.producers) {
        const service = p.service ?? 'unknown';
        byService.set(service, (byService.get(service) ?? 0) + p.unaccounted);
      }
      for (const [service, n] of byService) {
        gauge.set({ service }, n);
        seen.add(service);
      }
      if (report.unaccounted > 0) logger.warn({ unaccounted: report.unaccounted }, 'the scheduled audit found unaccounted entries: run witness audit');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'the scheduled audit failed; witness_entries_unaccounted keeps its last values');
    }
  }

  const runOnce = (): Promise<void> => (running ??= pass().finally(() => (running = undefined)));
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runOnce().then(schedule), config.intervalMs);
    timer.unref();
  };
  return {
    runOnce,
    start: () => void runOnce().then(schedule),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
