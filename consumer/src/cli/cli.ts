// witness: the postmortem command line over the witness log (main.ts runs it).
//
//   witness search --like <request-id> | --vector-file <file>   [filters]
//   witness get <request-id>
//   witness list [filters]
//   witness stats [filters]
//   witness prune --older-than <duration>
//   witness replay --from-beginning --collection <new>
//
// Exit codes, so scripts can branch on the answer: 0 found; 1 nothing found
// where something was asked for (get, search, list); 2 bad usage (unknown flag,
// bad value, unknown collection or topic, wrong vector dimension); 3 Qdrant or
// Kafka unreachable; 4 an unexpected failure (a bug: the stack is printed).
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { InvalidOptionError, deprecationMessage, type Deprecation } from '@witnesslog/core';
import {
  COMMANDS,
  COMMON,
  OPTIONS,
  UsageError,
  duration,
  integer,
  toFilter,
  type Flag,
  type Values,
} from './args.js';
import { entriesTable, json, recordJson, statsTable } from './format.js';
import { CONFIG_DEFAULTS, isHttpUrl, loadCliSettings, loadConfig, type CliSettings } from '../config.js';
import { ConfigError, QdrantRejectedError, WitnessConsumerError } from '../errors.js';
import { isKafkaUnreachable } from '../ingest/kafka.js';
import { createWitnessQuery, isUnreachable } from '../query/query.js';
import { replayTopic } from '../ops/replay.js';
import { isPostmortem, runPostmortem } from './postmortem.js';
import { runGet, runSearch } from './lookup.js';
import { runAudit } from './audit.js';
import { runDlq } from './dlq.js';

export const EXIT = Object.freeze({ found: 0, nothingFound: 1, usage: 2, unreachable: 3, internal: 4 });

const USAGE = `usage: witness <command> [options]

commands:
  search --like <request-id> | --vector-file <file>   nearest entries (--using query|response, --limit n)
  get <request-id>                                    one entry
  get --trace <trace_id>                              the entries of one distributed trace, oldest first
  list                                                newest first (--oldest: oldest first; --limit n, --cursor c)
  stats                                               totals, success rate, per model and per error code
  prune --older-than <duration>                       delete entries older than the cut-off (--dry-run)
  replay --from-beginning --collection <new>          re-ingest the topic into another collection
  clusters                                            group entries by embedding similarity (--using, --sample n, --min-size k, --threshold s)
  routing                                             router's choice vs model served, confidence, unsure decisions (--max-entries n)
  quality                                             quality_score and success per time bucket and model (--every 1h, --max-entries n)
  latency                                             p50/p95/p99 per latency component, how often each was slowest (--max-entries n)
  audit                                               every producer's entries: stored, dead-lettered, dropped, in flight, unaccounted
                                                      (--since 1h, --service S, --producer ID, --grace 2m; exit 1 when something is unaccounted)
  dlq list                                            the dead letters (--reason R, --since 1d; --topic: another DLQ topic than WITNESS_DLQ_TOPIC)
  dlq show <partition>:<offset>                       one dead letter: reason, error, source, key, headers
  dlq redrive                                         put letters back on their source topic, resumable (--reason R, --since 1d, --rate 100/s, --dry-run)

filters (search, list, stats, clusters, routing, quality, latency):
  --session <id>  --model <name> (repeatable)  --errors | --ok  --error-code <code>
  --since <30m|1h|7d|RFC 3339>  --until <...>  --tag <t> (repeatable; any of, or all of with --all-tags)
  --min-quality <0..1>  --max-latency <ms>
  --trace <trace_id>  --service <producer.service>  --producer <producer.id>

common: --url <qdrant url> (WITNESS_QDRANT_URL; else QDRANT_PORT, the local stack's: http://127.0.0.1:$QDRANT_PORT)
        --collection <name> (WITNESS_COLLECTION)  --json  --help
        WITNESS_QDRANT_API_KEY is read from the environment only, so it stays out of shell history;
        Qdrant's read-only key is enough for every command but prune and replay.

exit codes: 0 found, 1 nothing found, 2 bad usage (or a read-only key for prune, replay), 3 backend unreachable, 4 unexpected failure
`;


export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const target: { url?: string } = {};
  try {
    return await dispatch(argv, env, io, target);
  } catch (err) {
    return report(err, io, target.url);
  }
}

async function dispatch(argv: string[], env: NodeJS.ProcessEnv, io: CliIo, target: { url?: string }): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    io.stdout(USAGE);
    return EXIT.found;
  }
  if (command === undefined) throw new UsageError('a command is required');
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command "${command}" (one of ${Object.keys(COMMANDS).join(', ')})`);
  for (const flag of Object.keys(values) as Flag[]) {
    if (!COMMON.includes(flag) && !spec.flags.includes(flag)) throw new UsageError(`--${flag} is not an option of "witness ${command}"`);
  }
  if (command === 'dlq') {
    const { warn } = cliSettings(env, io);
    return runDlq(rest, values, env, warn, io);
  }
  // `get --trace <id>` is the one command whose positional may be left out.
  if (rest.length !== spec.positionals && !(command === 'get' && values.trace !== undefined && rest.length === 0)) {
    throw new UsageError(spec.positionals === 0 ? `unexpected argument "${rest[0]}"` : `"witness ${command}" takes exactly one request id`);
  }

  const { settings, warn } = cliSettings(env, io);
  const url = values.url === undefined ? settings.qdrantUrl : values.url.trim() || CONFIG_DEFAULTS.WITNESS_QDRANT_URL;
  if (!isHttpUrl(url)) throw new UsageError(`--url ${JSON.stringify(url)}: expected an http:// or https:// URL (or set WITNESS_QDRANT_URL)`);
  target.url = url;
  const collection = values.collection === undefined ? settings.collection : values.collection.trim() || CONFIG_DEFAULTS.WITNESS_COLLECTION;
  const apiKey = settings.apiKey;

  if (command === 'replay') return replay(values, env, { url, collection, settings, warn }, io);

  const q = createWitnessQuery({ url, collection, ...(apiKey ? { apiKey } : {}) });
  const out = (text: string, data: unknown) => io.stdout(values.json ? json(data) : text);
  if (isPostmortem(command)) return runPostmortem(command, values, q, io.stdout).then(() => EXIT.found);

  switch (command) {
    case 'get':
      return runGet(q, rest[0], values, collection, io);
    case 'search':
      return runSearch(q, values, collection, io);
    case 'audit':
      return runAudit(q, values, io);
    case 'list': {
      const order = values.oldest ? 'oldest' : 'newest';
      const page = await q.list({ filter: toFilter(values), limit: integer('--limit', values.limit, 20), order, cursor: values.cursor ?? null });
      const more = page.nextCursor ? `\nmore: witness list --cursor ${page.nextCursor} (same filters${values.oldest ? ', --oldest' : ''})\n` : '';
      out(page.entries.length === 0 ? 'no matching entries\n' : entriesTable(page.entries) + more, {
        entries: page.entries.map(recordJson),
        nextCursor: page.nextCursor,
      });
      return page.entries.length === 0 ? EXIT.nothingFound : EXIT.found;
    }
    case 'stats': {
      const stats = await q.stats({ filter: toFilter(values) });
      // Zero is an answer to "how many": stats exits 0 even for an empty selection.
      out(statsTable(stats), stats);
      return EXIT.found;
    }
    case 'prune': {
      if (values['older-than'] === undefined) throw new UsageError('prune needs --older-than <duration> (e.g. 30d)');
      const cutoff = new Date(Date.now() - duration('--older-than', values['older-than']));
      const dryRun = values['dry-run'] === true;
      const n = dryRun ? await q.count({ filter: { until: cutoff } }) : await q.prune(cutoff);
      const verb = dryRun ? 'would delete' : 'deleted';
      out(`${verb} ${n} entries older than ${cutoff.toISOString()} from ${collection}\n`, { [dryRun ? 'wouldDelete' : 'deleted']: n, cutoff: cutoff.toISOString(), collection });
      return EXIT.found;
    }
  }
  throw new UsageError(`unknown command "${command}"`);
}

/** The settings from the environment, and the warner of old variable names (once each, already called for the settings'). */
function cliSettings(env: NodeJS.ProcessEnv, io: CliIo): { settings: CliSettings; warn: (d: Deprecation) => void } {
  let settings: CliSettings;
  try {
    settings = loadCliSettings(env);
  } catch (err) {
    if (err instanceof InvalidOptionError) throw new UsageError(`${err.option}=${JSON.stringify(err.value)}: expected ${err.expected}`);
    throw err;
  }
  // One line per old variable name, on stderr so --json output stays clean.
  const warned = new Set<string>();
  const warn = (d: Deprecation) => {
    if (warned.has(d.old)) return;
    warned.add(d.old);
    io.stderr(`witness: warning: ${deprecationMessage(d)}\n`);
  };
  settings.deprecations.forEach(warn);
  return { settings, warn };
}

async function replay(
  values: Values,
  env: NodeJS.ProcessEnv,
  { url, collection, settings, warn }: { url: string; collection: string; settings: CliSettings; warn: (d: Deprecation) => void },
  io: CliIo,
): Promise<number> {
  if (values['from-beginning'] !== true) throw new UsageError('replay needs --from-beginning (a replay always reads the whole topic)');
  if (values.collection === undefined) throw new UsageError('replay needs --collection <new collection> to fill');
  const live = settings.collection;
  if (collection === live) throw new UsageError(`--collection ${collection}: expected a collection other than the live one (WITNESS_COLLECTION)`);
  const baseGroup = settings.groupId;
  let config;
  try {
    config = loadConfig(
      {
        ...env,
        WITNESS_QDRANT_URL: url,
        WITNESS_COLLECTION: collection,
        ...(values.topic !== undefined ? { WITNESS_TOPIC: values.topic } : {}),
        // Never the live group: a group that has not committed starts at the beginning.
        WITNESS_GROUP_ID: `${baseGroup}-replay-${collection}-${Date.now().toString(36)}`,
        LOG_LEVEL: env.LOG_LEVEL || 'warn',
      },
      warn,
    );
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { service: 'witness-replay' } }, pino.destination(2));
  let reported = Date.now();
  const result = await replayTopic({
    config,
    logger,
    // A long replay says where it is, on stderr so --json output stays clean.
    onProgress: ({ done, total }) => {
      if (Date.now() - reported < 5_000) return;
      reported = Date.now();
      io.stderr(`witness replay: ${done}/${total} messages\n`);
    },
  });
  io.stdout(
    values.json
      ? json(result)
      : `replayed ${result.messages} messages of ${result.topic} into ${result.collection}: ${result.written} written, ` +
          `${result.deadLettered} dead-lettered, ${result.points} points (group ${result.groupId})\n`,
  );
  return EXIT.found;
}


function report(err: unknown, io: CliIo, url: string | undefined): number {
  if (err instanceof UsageError) {
    io.stderr(`witness: ${err.message}\n(witness --help for usage)\n`);
    return EXIT.usage;
  }
  // 403: a read-only key where prune or replay must write. Retrying will not help; the other key will.
  if (isUnreachable(err) && err.status === 403) {
    io.stderr(`witness: ${err.message}\n`);
    return EXIT.usage;
  }
  if (isUnreachable(err)) {
    io.stderr(`witness: ${err.message}${url ? ` (Qdrant at ${url}: --url, WITNESS_QDRANT_URL or QDRANT_PORT)` : ''}\n`);
    return EXIT.unreachable;
  }
  if (isKafkaUnreachable(err)) {
    io.stderr(`witness: Kafka unreachable: ${(err as Error).message}\n`);
    return EXIT.unreachable;
  }
  // Input errors, unknown collection or topic, wrong dimension, a request Qdrant refused.
  if (err instanceof WitnessConsumerError || err instanceof QdrantRejectedError) {
    io.stderr(`witness: ${err.message}\n`);
    return EXIT.usage;
  }
  io.stderr(`witness: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.internal;
}
