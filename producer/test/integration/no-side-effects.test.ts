// Importing the SDK, and creating a producer with default options, changes nothing
// outside it (issue 14, point 4): a host's own kafkajs producer in the same process
// keeps kafkajs's CRC-32C and works as before. fastCrc32c asked for too late (kafkajs
// loaded its own already) is reported as not in effect, in stats() and one log line.
// Its own file: node --test runs each file in a fresh process, and the CRC module is
// process-wide.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { createWitnessProducer } from '@witnesslog/producer';
import { crc32c } from '../../src/crc32c.js';
import { brokers, uniqueName } from '../../../test/support/env.js';
import { entry } from '../../../test/support/entries.js';
import { deleteTopics, messageCount } from '../../../test/support/producer-kafka.js';

const require = createRequire(import.meta.url);
const CRC_MODULE = require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js');
/** What the module cache holds for kafkajs's CRC-32C module now. */
const cached = (): NodeJS.Module | undefined => require.cache[CRC_MODULE];

test('a host kafkajs producer is untouched by the SDK with default options', { timeout: 120_000 }, async (t) => {
  assert.equal(cached(), undefined, 'importing the SDK put nothing in the module cache');
  const witnessTopic = uniqueName('producer-no-side-effects');
  const hostTopic = uniqueName('host-topic');
  t.after(() => deleteTopics(brokers, [witnessTopic, hostTopic]));

  const witness = createWitnessProducer({ brokers, topic: witnessTopic });
  t.after(() => witness.close());
  assert.equal(cached(), undefined, 'nor did creating a producer');
  assert.equal(witness.stats().fast_crc32c, false);
  for (let i = 0; i < 5; i++) assert.equal(witness.record(entry(randomUUID())), true);
  await witness.flush();
  assert.equal(witness.stats().delivered, 5);

  // The host's own producer, the way a service would have it.
  const host = new kafkajs.Kafka({ brokers, clientId: 'host-service', logLevel: kafkajs.logLevel.NOTHING }).producer({
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await host.connect();
  t.after(() => host.disconnect());
  await host.send({ topic: hostTopic, messages: [{ value: 'host message' }] });
  const loaded = cached();
  assert.ok(loaded, 'kafkajs loaded its CRC module when it produced');
  assert.notEqual(loaded.exports, crc32c, "kafkajs computes CRCs with its own function, not the SDK's");
  assert.equal(typeof loaded.exports, 'function');
  assert.equal(await messageCount(brokers, hostTopic), 1);

  // Asked for too late: not in effect, and says so once.
  const warnings: string[] = [];
  const log = (into: string[]) => (_: object, msg?: string) => into.push(msg ?? '');
  const late = createWitnessProducer({
    brokers,
    topic: witnessTopic,
    fastCrc32c: true,
    logger: { debug() {}, info() {}, warn: log(warnings), error() {} },
  });
  t.after(() => late.close());
  assert.equal(late.stats().fast_crc32c, false);
  assert.equal(warnings.filter((m) => m.includes('fastCrc32c requested but not in effect')).length, 1);
  assert.notEqual(cached()?.exports, crc32c);
  await Promise.all([late.close(), witness.close()]);
});
