// `witness dlq list | show | redrive` against the real broker and Qdrant (issue
// 26 item 5): three v2 entries dead-lettered as WITNESS_UNKNOWN_FINGERPRINT by a
// consumer that knew only v1, plus one undecodable message; list filters by
// reason, show prints one letter, a dry run produces nothing, a re-drive puts
// the three back, a consumer on v2 stores them, a second re-drive puts nothing
// back, and `witness audit` counts them as stored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { schemaVersions } from '@witnesslog/schemas';
import { createWitnessConsumer } from '@witnesslog/consumer';
import { runCli } from '../../src/cli/cli.js';
import { REDRIVEN_FROM_HEADER } from '../../src/ops/dlq-reader.js';
import { redrive } from '../../src/ops/redrive.js';
import { createKafkajs } from '../../src/ingest/kafka.js';
import { consumerEnv } from '../../../test/support/env.js';
import { TEST_PRODUCER_ID, withProducer } from '../../../test/support/entries.js';
import {
  codec,
  committedOffsets,
  createTopics,
  deleteTopics,
  disconnectShared,
  dropCollection,
  kafka,
  produce,
  qdrantUrl,
  readPoints,
  readTopic,
  runConsumer,
  testConfig,
  testEntry,
  testLogger,
  testNames,
  waitFor,
} from '../../../test/support/pipeline.js';

const DIM = 8;
const names = testNames('dlq-cli');
const entries = [0, 1, 2].map((i) => withProducer(testEntry(DIM, i), i));
const env = { ...consumerEnv(names), LOG_LEVEL: 'silent' };

async function witness(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, env, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

async function sourceMessages(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(names.topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

before(async () => {
  await createTopics({ topic: names.topic }, { topic: names.dlqTopic });
  await produce(names.topic, [...entries.map((e) => ({ key: e.request_id, value: codec(DIM).encode(e) })), { key: 'junk', value: Buffer.from('not a witness entry') }]);
  const old = createWitnessConsumer({ config: testConfig(names), registry: new Registry(), logger: testLogger('v1-only'), schemaVersions: [schemaVersions[0]!] });
  await old.start();
  try {
    await waitFor('the v1-only consumer committed all 4', async () => (await committedOffsets(names.groupId, names.topic)) === 4);
  } finally {
    await old.close();
  }
  assert.equal((await readTopic(names.dlqTopic, 4)).length, 4);
});

after(async () => {
  await deleteTopics(names.topic, names.dlqTopic).catch(() => {});
  await dropCollection(names.collection).catch(() => {});
  await disconnectShared();
});

test('dlq list shows every letter, --reason keeps one reason, an unknown reason finds nothing, a malformed one is a usage error', async () => {
  const all = await witness('dlq', 'list', '--json');
  assert.equal(all.code, 0, all.err);
  const letters = JSON.parse(all.out).letters as Array<{ reason: string; key: string; source_topic: string }>;
  assert.equal(letters.length, 4);
  assert.ok(letters.every((l) => l.source_topic === names.topic));

  const v2 = await witness('dlq', 'list', '--reason', 'WITNESS_UNKNOWN_FINGERPRINT', '--json');
  const keys = (JSON.parse(v2.out).letters as Array<{ key: string }>).map((l) => l.key).sort();
  assert.deepEqual(keys, entries.map((e) => e.request_id).sort());

  const table = await witness('dlq', 'list', '--reason', 'WITNESS_UNKNOWN_FINGERPRINT');
  assert.match(table.out, /WITNESS_UNKNOWN_FINGERPRINT/);
  assert.doesNotMatch(table.out, /junk/);

  const none = await witness('dlq', 'list', '--reason', 'WITNESS_NO_SUCH_REASON');
  assert.equal(none.code, 1);
  assert.match(none.out, /no dead letters/);

  const bad = await witness('dlq', 'list', '--reason', 'fingerprint');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--reason fingerprint/);
});

test('dlq show prints one letter by <partition>:<offset>; a missing one exits 1, a malformed one or a bad --rate exits 2 naming it', async () => {
  const listed = JSON.parse((await witness('dlq', 'list', '--json')).out).letters as Array<{ partition: number; offset: string; key: string }>;
  const junk = listed.find((l) => l.key === 'junk')!;
  const shown = await witness('dlq', 'show', `${junk.partition}:${junk.offset}`, '--json');
  assert.equal(shown.code, 0, shown.err);
  const letter = JSON.parse(shown.out);
  assert.equal(letter.key, 'junk');
  assert.equal(Buffer.from(letter.value_base64, 'base64').toString(), 'not a witness entry');
  assert.notEqual(letter.reason, 'WITNESS_UNKNOWN_FINGERPRINT');
  assert.match((await witness('dlq', 'show', `${junk.partition}:${junk.offset}`)).out, /key +junk/);

  assert.equal((await witness('dlq', 'show', '0:999999')).code, 1);
  const malformed = await witness('dlq', 'show', 'zero:1');
  assert.equal(malformed.code, 2);
  assert.match(malformed.err, /zero:1.*<partition>:<offset>/);
  const unknown = await witness('dlq', 'list', '--topic', `${names.dlqTopic}-missing`);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /-missing" does not exist/);
  const rate = await witness('dlq', 'redrive', '--rate', 'fast');
  assert.equal(rate.code, 2);
  assert.match(rate.err, /--rate fast/);
});

test('redrive: a dry run produces nothing; an interrupted re-drive resumes; a re-drive is stored by a v2 consumer, a second one puts nothing back, audit counts them stored', async () => {
  const before = await sourceMessages();
  const dry = await witness('dlq', 'redrive', '--reason', 'WITNESS_UNKNOWN_FINGERPRINT', '--dry-run', '--json');
  assert.equal(dry.code, 0, dry.err);
  assert.equal(JSON.parse(dry.out).redriven.length, 3);
  assert.equal(await sourceMessages(), before, 'a dry run produced nothing');

  // Interrupted after its first letter was produced but before it was committed (the crash window):
  // the rerun resumes there, sending that letter again, which the append-only log absorbs.
  const interrupted = redrive({
    kafka: createKafkajs(testConfig(names), testLogger('redrive')),
    dlqTopic: names.dlqTopic,
    reason: 'WITNESS_UNKNOWN_FINGERPRINT',
    ratePerSecond: 50,
    dryRun: false,
    onLetter: () => {
      throw new Error('interrupted');
    },
  });
  await assert.rejects(interrupted, /interrupted/);
  assert.equal(await sourceMessages(), before + 1);

  const first = await witness('dlq', 'redrive', '--reason', 'WITNESS_UNKNOWN_FINGERPRINT', '--rate', '50/s');
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /re-drove 3 letters/);
  assert.equal(await sourceMessages(), before + 4);
  const back = (await readTopic(names.topic, before + 4)).slice(before);
  assert.ok(back.every((m) => m.headers![REDRIVEN_FROM_HEADER]!.toString().startsWith(`${names.dlqTopic}/`)));

  const second = await witness('dlq', 'redrive', '--reason', 'WITNESS_UNKNOWN_FINGERPRINT');
  assert.match(second.out, /re-drove 0 letters/);
  assert.equal(await sourceMessages(), before + 4, 'the second run put nothing back');

  const run = await runConsumer(testConfig(names), 'v2');
  try {
    await waitFor('the v2 consumer committed the re-driven letters', async () => (await committedOffsets(names.groupId, names.topic)) === before + 4);
  } finally {
    await run.close();
  }
  const stored = (await readPoints(names.collection)).map((p) => String(p.id)).sort();
  assert.deepEqual(stored, entries.map((e) => e.request_id).sort());

  const audit = await witness('audit', '--url', qdrantUrl, '--collection', names.collection, '--producer', TEST_PRODUCER_ID, '--json');
  const producer = JSON.parse(audit.out).producers[0];
  assert.equal(producer.stored, 3, audit.out);
  assert.equal(producer.unaccounted, 0, audit.out);
});
