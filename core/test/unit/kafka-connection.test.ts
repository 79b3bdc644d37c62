// The Kafka connection parser against the table the Python SDK is tested with
// too (core/kafka-connection.cases.json): a case that passes here and fails there,
// or the reverse, is the two parsers drifting apart.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  InvalidOptionError,
  TOPIC_NAME_RULE,
  consumerLegacyKafkaNames,
  deprecationMessage,
  envReader,
  isTopicName,
  kafkaConnectionFromEnv,
  sdkLegacyKafkaNames,
} from '../../src/index.js';

interface Case {
  name: string;
  legacy?: 'sdk' | 'consumer';
  env: Record<string, string>;
  expect?: Record<string, unknown>;
  deprecated?: unknown[];
  error?: string;
}

const coreDir = join(dirname(fileURLToPath(import.meta.url)), '../..');
const table = JSON.parse(readFileSync(join(coreDir, 'kafka-connection.cases.json'), 'utf8')) as {
  topicNameRule: string;
  topicNames: { valid: string[]; invalid: string[] };
  cases: Case[];
};
const fixtures = join(coreDir, 'test/fixtures');
const legacyNames = { sdk: sdkLegacyKafkaNames, consumer: consumerLegacyKafkaNames } as Record<string, Record<string, string>>;

function parse(c: Case) {
  const env = Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, v.replaceAll('{fixtures}', fixtures)]));
  const reader = envReader(env, c.legacy ? legacyNames[c.legacy] : {});
  return { reader, connection: () => kafkaConnectionFromEnv(reader) };
}

describe('kafka-connection.cases.json', () => {
  for (const c of table.cases) {
    test(c.name, () => {
      const { reader, connection } = parse(c);
      if (c.error !== undefined) {
        assert.throws(connection, (err: unknown) => {
          assert.ok(err instanceof InvalidOptionError, String(err));
          assert.equal(err.option, c.error);
          // No password set in the case may show in the message.
          for (const [k, v] of Object.entries(c.env)) if (/PASSWORD/.test(k)) assert.ok(!err.message.includes(v.trim()), err.message);
          return true;
        });
        return;
      }
      assert.deepEqual({ ...connection() }, c.expect);
      if (c.deprecated !== undefined) assert.deepEqual(reader.deprecations, c.deprecated);
    });
  }
});

test('the topic-name rule and its words are the table\'s', () => {
  assert.equal(TOPIC_NAME_RULE, table.topicNameRule);
  for (const name of table.topicNames.valid) assert.equal(isTopicName(name), true, name);
  for (const name of table.topicNames.invalid) assert.equal(isTopicName(name), false, name);
});

test('a deprecation reads as one line naming the old and the new variable, and who wins', () => {
  assert.equal(deprecationMessage({ old: 'KAFKA_SSL', replacement: 'WITNESS_KAFKA_SSL', ignored: false }), 'KAFKA_SSL is deprecated: rename it to WITNESS_KAFKA_SSL');
  assert.match(deprecationMessage({ old: 'KAFKA_SSL', replacement: 'WITNESS_KAFKA_SSL', ignored: true }), /WITNESS_KAFKA_SSL is also set and wins/);
});

test('an old name read twice is reported once', () => {
  const reader = envReader({ KAFKA_BROKERS: 'k:9092' }, consumerLegacyKafkaNames);
  kafkaConnectionFromEnv(reader);
  kafkaConnectionFromEnv(reader);
  assert.equal(reader.deprecations.length, 1);
});
