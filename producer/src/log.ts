// The SDK's logging: through the caller's logger only, silent without one, and a
// logger that throws (a broken transport) never reaches record() or the send loop.
import type { ProducerLogger } from './options.js';

type Level = keyof ProducerLogger;
export type Log = Record<Level, (obj: object, msg: string) => void>;

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };

export function createLog(logger: ProducerLogger | undefined, bindings: Record<string, unknown>): Log {
  if (logger === undefined) return silent;
  let base: ProducerLogger = logger;
  // pino and its kin bind context once with child(); others get it merged per call.
  const child = (logger as { child?: unknown }).child;
  let merge = true;
  if (typeof child === 'function') {
    try {
      const c = child.call(logger, bindings) as ProducerLogger;
      if (c && typeof c.warn === 'function') {
        base = c;
        merge = false;
      }
    } catch {
      /* fall back to merging */
    }
  }
  const level =
    (name: Level) =>
    (obj: object, msg: string): void => {
      try {
        base[name](merge ? { ...bindings, ...obj } : obj, msg);
      } catch {
        /* a failing logger must not fail the caller */
      }
    };
  return { debug: level('debug'), info: level('info'), warn: level('warn'), error: level('error') };
}

/** True at most once per interval: for warnings that an outage would repeat per entry. */
export function rateLimiter(intervalMs: number, now: () => number = Date.now): () => boolean {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last < intervalMs) return false;
    last = t;
    return true;
  };
}
