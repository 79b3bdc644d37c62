// The Kafka client's log lines in our logs, one shape for every package: the
// client's own fields, its namespace under `kafkajs` and its level under
// `kafkajs_level`. Never a second `level` key: the logger's own (pino's numeric
// one) is already there, and log shippers misread a line that has two. The
// entry is typed by its shape, so this package does not depend on the client.

/** A log entry as kafkajs hands it to a `logCreator`. */
export interface ClientLogEntry {
  namespace: string;
  /** ERROR, WARN, INFO or DEBUG. */
  label: string;
  log: { message?: unknown; timestamp?: unknown; logger?: unknown; level?: unknown; [key: string]: unknown };
}

type Level = 'error' | 'warn' | 'info' | 'debug';
export type LevelLogger = Record<Level, (obj: object, msg: string) => void>;

const LEVELS: Readonly<Record<string, Level>> = { ERROR: 'error', WARN: 'warn', INFO: 'info', DEBUG: 'debug' };

/**
 * The function a kafkajs `logCreator` returns, writing to `log`. By default each
 * line keeps the client's level; `level` puts every line at one level (a library
 * is a guest in its host's logs: the producer sends the client's detail to debug).
 */
export function clientLogSink(log: LevelLogger, { level }: { level?: Level } = {}): (entry: ClientLogEntry) => void {
  return ({ namespace, label, log: { message, timestamp: _timestamp, logger: _logger, level: _level, ...extra } }) =>
    // kafkajs puts its own timestamp and logger name in every entry; the logger has both.
    log[level ?? LEVELS[label] ?? 'debug']({ ...extra, kafkajs: namespace, kafkajs_level: label }, String(message));
}
