// That kafkajs really uses the SDK's CRC-32C (src/crc32c.ts) once a producer asked
// for it with fastCrc32c, and the broker accepts those batches. The function's own
// check values: unit/crc32c.test.ts. That importing the SDK with default options
// leaves kafkajs alone: no-side-effects.test.ts.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { createWitnessProducer } from '@witnesslog/producer';
import { crc32c } from '../../src/crc32c.js';
import { kafkajsCrc32c } from '../../src/kafka.js';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { entry } from '../../../test/support/entries.js';
import { deleteTopics } from '../../../test/support/producer-kafka.js';

test('with fastCrc32c, kafkajs computes batch checksums with it, says so, and the broker accepts them', { timeout: 120_000 }, async (t) => {
  const lines: [string, Record<string, unknown>, string | undefined][] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push([level, obj as Record<string, unknown>, msg]);
  const topic = uniqueName('producer-fast-crc');
  t.after(() => deleteTopics(brokers, [topic]));
  const producer = createWitnessProducer({
    brokers,
    topic,
    fastCrc32c: true,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  });
  t.after(() => producer.close());
  assert.equal(producer.stats().fast_crc32c, true);
  assert.equal(lines.filter(([, obj]) => obj.fastCrc32c === true).length, 1, 'logged once');
  const session = randomUUID();
  for (let i = 0; i < 20; i++) assert.equal(producer.record(entry(session)), true);
  await producer.flush();
  assert.equal(producer.stats().delivered, 20, 'the broker checks the CRC of every batch');
  assert.equal(kafkajsCrc32c(), crc32c);
  // What kafkajs's record batch encoder calls (its wrapper around the function).
  const viaKafkajs = createRequire(import.meta.url)('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
  const data = randomBytes(1000);
  assert.equal(viaKafkajs(data), crc32c(data));
  await producer.close();
});
