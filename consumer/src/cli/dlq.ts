// `witness dlq list [--reason R] [--since 1d] [--json]`, `witness dlq show
// <partition>:<offset>`, `witness dlq redrive [--reason R] [--since …]
// [--rate N/s] [--dry-run]` (issue 26 item 5): the dead-letter topic read back,
// and its letters put back on their source topic (ops/redrive.ts). The DLQ topic
// is WITNESS_DLQ_TOPIC, or --topic. Exit 0 found or done, 1 nothing found (list,
// show), 2 usage, 3 Kafka unreachable.
import { pino } from 'pino';
import type { Deprecation } from '@witnesslog/core';
import { duration, UsageError, type Values } from './args.js';
import { json, table } from './format.js';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { createKafkajs } from '../ingest/kafka.js';
import { readLetters, type Letter } from '../ops/dlq-reader.js';
import { matches, redrive } from '../ops/redrive.js';

const DEFAULT_RATE_PER_SECOND = 100;
const SUBCOMMANDS = ['list', 'show', 'redrive'];

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export async function runDlq(rest: string[], values: Values, env: NodeJS.ProcessEnv, warn: (d: Deprecation) => void, io: Io): Promise<0 | 1> {
  const [sub, ...args] = rest;
  if (sub === undefined || !SUBCOMMANDS.includes(sub)) throw new UsageError(`witness dlq ${sub ?? ''}: expected a subcommand, one of ${SUBCOMMANDS.join(', ')}`);
  if (args.length !== (sub === 'show' ? 1 : 0)) throw new UsageError(sub === 'show' ? '"witness dlq show" takes exactly one <partition>:<offset>' : `unexpected argument "${args[0]}"`);
  const allowed: Record<string, string[]> = { list: ['reason', 'since'], show: [], redrive: ['reason', 'since', 'rate', 'dry-run'] };
  for (const flag of ['reason', 'since', 'rate', 'dry-run'] as const) {
    if (values[flag] !== undefined && !allowed[sub]!.includes(flag)) throw new UsageError(`--${flag} is not an option of "witness dlq ${sub}"`);
  }
  const filter = { reason: reasonFlag(values.reason), since: values.since === undefined ? undefined : new Date(Date.now() - duration('--since', values.since)) };
  const where = sub === 'show' ? letterAddress(args[0]!) : undefined;
  const rate = sub === 'redrive' ? rateFlag(values.rate) : DEFAULT_RATE_PER_SECOND;

  let config;
  try {
    config = loadConfig({ ...env, LOG_LEVEL: env.LOG_LEVEL || 'warn' }, warn);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const topic = values.topic ?? config.dlqTopic;
  const kafka = createKafkajs(config, pino({ level: config.logLevel, base: { service: 'witness-dlq' } }, pino.destination(2)));
  const out = (text: string, data: unknown) => io.stdout(values.json ? json(data) : text);

  if (sub === 'redrive') {
    const dryRun = values['dry-run'] === true;
    const r = await redrive({ kafka, dlqTopic: topic, ...filter, ratePerSecond: rate, dryRun });
    const verb = dryRun ? 'would re-drive' : 're-drove';
    const text = `${r.redriven.length === 0 ? '' : lettersTable(r.redriven)}${verb} ${r.redriven.length} letters of ${topic} (progress in group ${r.groupId})\n` +
      (r.unredrivable.length > 0 ? `${r.unredrivable.length} letters cannot go back (reduced to fit the DLQ): ${r.unredrivable.map(address).join(', ')}\n` : '');
    out(text, { topic, groupId: r.groupId, dryRun, redriven: r.redriven.map(letterJson), unredrivable: r.unredrivable.map(letterJson) });
    return 0;
  }
  const letters = (await readLetters(kafka, topic)).filter((l) => (where ? l.partition === where.partition && l.offset === where.offset : matches(l, filter)));
  if (sub === 'show') {
    const l = letters[0];
    if (!l) {
      io.stderr(`witness: no dead letter at ${args[0]} in ${topic}\n`);
      return 1;
    }
    out(letterDetail(l), letterJson(l));
    return 0;
  }
  out(letters.length === 0 ? `no dead letters in ${topic}${filter.reason || filter.since ? ' matching the filters' : ''}\n` : lettersTable(letters), { topic, letters: letters.map(letterJson) });
  return letters.length === 0 ? 1 : 0;
}

// Reasons are stable error codes (WITNESS_UNKNOWN_FINGERPRINT, WITNESS_BAD_MARKER, ...).
function reasonFlag(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^WITNESS_[A-Z0-9_]{1,60}$/.test(text)) throw new UsageError(`--reason ${text}: expected a dead-letter reason code like WITNESS_UNKNOWN_FINGERPRINT`);
  return text;
}

function rateFlag(text: string | undefined): number {
  if (text === undefined) return DEFAULT_RATE_PER_SECOND;
  const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!(n > 0 && n <= 100_000)) throw new UsageError(`--rate ${text}: expected letters per second, a number above 0 and up to 100000 (e.g. 50/s)`);
  return n;
}

function letterAddress(text: string): { partition: number; offset: string } {
  const m = /^(\d{1,9}):(\d{1,19})$/.exec(text);
  if (!m) throw new UsageError(`witness dlq show ${text}: expected <partition>:<offset>, e.g. 0:42`);
  return { partition: Number(m[1]), offset: String(BigInt(m[2]!)) };
}

const address = (l: Letter): string => `${l.partition}:${l.offset}`;
const source = (l: Letter): string => `${l.sourceTopic} ${l.sourcePartition ?? '?'}:${l.sourceOffset ?? '?'}`;
const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function lettersTable(letters: Letter[]): string {
  return table(['letter', 'at', 'reason', 'source', 'key', 'error'], letters.map((l) => [address(l), l.at ?? '?', l.reason, source(l), clip(l.key?.toString() ?? '', 40), clip(l.error, 60)]));
}

function headerText(v: Letter['headers'][string]): string {
  return (Array.isArray(v) ? v : [v]).map((x) => (x === undefined ? '' : x.toString())).join(', ');
}

function letterDetail(l: Letter): string {
  const lines = [
    `letter     ${address(l)}`,
    `at         ${l.at ?? '?'}`,
    `reason     ${l.reason}`,
    `error      ${l.error}`,
    `source     ${source(l)}`,
    `key        ${l.key?.toString() ?? '(none)'}`,
    `value      ${l.value ? `${l.value.length} bytes` : '(none)'}`,
    ...Object.entries(l.headers).map(([name, v]) => `header     ${name}: ${headerText(v)}`),
    ...(l.unredrivable ? [`cannot be re-driven: ${l.unredrivable}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

function letterJson(l: Letter): Record<string, unknown> {
  return {
    partition: l.partition,
    offset: l.offset,
    at: l.at,
    reason: l.reason,
    error: l.error,
    source_topic: l.sourceTopic,
    source_partition: l.sourcePartition,
    source_offset: l.sourceOffset,
    key: l.key?.toString() ?? null,
    value_base64: l.value?.toString('base64') ?? null,
    headers: Object.fromEntries(Object.entries(l.headers).map(([name, v]) => [name, headerText(v)])),
    unredrivable: l.unredrivable,
  };
}
