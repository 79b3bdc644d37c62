// The Kafka client's log lines, as both packages write them (client-log.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientLogSink, type LevelLogger } from '../../src/index.js';

function recorder(): { log: LevelLogger; lines: Array<[string, Record<string, unknown>, string]> } {
  const lines: Array<[string, Record<string, unknown>, string]> = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push([level, obj as Record<string, unknown>, msg]);
  return { log: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, lines };
}

const entry = (label: string) => ({
  namespace: 'Connection',
  label,
  log: { timestamp: '2026-11-30T00:00:00.000Z', logger: 'kafkajs', level: 'WARN', message: 'Connection error', broker: '127.0.0.1:9092' },
});

test("a client line keeps its fields, puts its namespace and level under their own keys, and never a second `level`", () => {
  const { log, lines } = recorder();
  const sink = clientLogSink(log);
  for (const label of ['ERROR', 'WARN', 'INFO', 'DEBUG']) sink(entry(label));
  assert.deepEqual(
    lines.map(([level]) => level),
    ['error', 'warn', 'info', 'debug'],
  );
  assert.deepEqual(lines[1], ['warn', { broker: '127.0.0.1:9092', kafkajs: 'Connection', kafkajs_level: 'WARN' }, 'Connection error']);
});

test('a fixed level puts every line there (the producer is a guest in its host logs)', () => {
  const { log, lines } = recorder();
  clientLogSink(log, { level: 'debug' })(entry('ERROR'));
  assert.deepEqual(lines, [['debug', { broker: '127.0.0.1:9092', kafkajs: 'Connection', kafkajs_level: 'ERROR' }, 'Connection error']]);
});
