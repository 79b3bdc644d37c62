// Issue 28: the production stack's access control, against real processes: the broker
// and Qdrant of test/support/reliability/secured.ts run docker-compose.yml's security
// (SASL_SSL with SCRAM-SHA-512 users and TLS from scripts/secrets.sh, the
// StandardAuthorizer and kafka-init's ACLs, Qdrant's read-write and read-only keys).
//
// Every refusal is checked twice: a clear error on the client's side, and the server's
// own record of it (the broker's authorizer and authentication log lines, Qdrant's
// access log and its rest_responses_total counter).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import kafkajs, { type KafkaConfig, type SASLOptions } from 'kafkajs';
import { runCli } from '../../consumer/src/cli/cli.js';
import { qdrantEngine } from '../../local/qdrant-engine.js';
import { repoRoot } from '../../local/services.js';
import { httpGet } from '../support/http.js';
import { DIM, Ledger } from '../support/reliability/ledger.js';
import { waitUntil, type Names, type OwnPipeline } from '../support/reliability/pipeline.js';
import { startSecuredPipeline, type SecuredPipeline } from '../support/reliability/secured.js';

const { AclOperationTypes: Op, AclPermissionTypes, AclResourceTypes: Res, ResourcePatternTypes: Pattern } = kafkajs;

let secured: SecuredPipeline;
let pipeline: OwnPipeline;
let external: string;
let names: Names;
let env: Record<string, string>;
let ca: string;
let producerSasl: SASLOptions;
let SECRETS: string[];

// Qdrant's roles (api_key and read_only_api_key) are the real server's; the embedded
// engine knows one key only (local/qdrant/README.md), so those two tests need the server.
const engine = qdrantEngine(repoRoot, process.env);
const rolesSkip = engine.kind === 'server' ? false : `Qdrant's read-only key is the real server's; the stack runs the embedded engine (${engine.why})`;

before(async () => {
  secured = await startSecuredPipeline();
  ({ pipeline, external, env, ca, producerSasl } = secured);
  SECRETS = [env.KAFKA_PRODUCER_PASSWORD!, env.KAFKA_CONSUMER_PASSWORD!, env.QDRANT_API_KEY!, env.QDRANT_READ_ONLY_API_KEY!, env.KAFKA_KEYSTORE_PASSWORD!];
  // The role tests below skip on the embedded engine; where they run, they run against the server.
  if (rolesSkip === false) assert.match(pipeline.qdrant.note ?? '', /^Qdrant server /, 'the real Qdrant server');
  names = pipeline.names('rel-acl');
  await pipeline.createTopic(names, 3);
  await secured.grant(names);
});
after(async () => {
  await secured?.cleanup();
});

const kafkaAs = (sasl: SASLOptions | undefined, extra: Partial<KafkaConfig> = {}) =>
  new kafkajs.Kafka({ brokers: [external], ssl: { ca: [ca] }, ...(sasl ? { sasl } : {}), clientId: 'acl-test', logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 100 }, ...extra });
const brokerLog = () => readFileSync(pipeline.broker.service.spec.logFile, 'utf8');
/** The authorizer's line for a refused operation (StandardAuthorizer, kafka.authorizer.logger). */
const denied = (principal: string, operation: string, resource: string) =>
  new RegExp(`Principal = User:${principal} is Denied operation = ${operation} from host = 127\\.0\\.0\\.1 on resource = ${resource}`, 'i');
// kafkajs's error, its per-topic errors and what it wraps (originalError, cause): their types and messages.
const typeOf = (err: unknown, depth = 0): string => {
  const e = (err ?? {}) as { type?: string; errors?: unknown[]; message?: string; originalError?: unknown; cause?: unknown };
  const inner = depth > 3 ? [] : [...(e.errors ?? []), e.originalError, e.cause].filter(Boolean).map((x) => typeOf(x, depth + 1));
  return [e.type, e.message, ...inner].filter(Boolean).join(' ');
};
async function refused(what: string, action: () => Promise<unknown>, expected: RegExp): Promise<void> {
  await assert.rejects(action, (err) => {
    assert.match(typeOf(err), expected, `${what}: ${typeOf(err)}`);
    return true;
  }, `${what} was allowed`);
}

describe('access control: Kafka principals and ACLs, Qdrant keys', { timeout: 240_000 }, () => {
  test('the consumer stores every entry through SASL_SSL with only its ACLs; no secret in its log', async (t) => {
    const ledger = new Ledger('acl');
    const consumer = await pipeline.consumer(names, secured.consumerEnv());
    await consumer.start();
    const { producer, registry } = pipeline.producer(names, { brokers: [external], ssl: { ca: [ca] }, sasl: producerSasl });
    for (let i = 0; i < 200; i++) ledger.record('producer', producer);
    await producer.flush();
    await pipeline.waitDrained(names);
    const tally = await pipeline.verify(ledger, names, { producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    assert.equal(tally.stored, 200, 'every entry stored');
    await producer.close();
    await consumer.stop();
    for (const s of SECRETS) assert.ok(!consumer.log().includes(s), 'a secret in the consumer log');
  });

  test('Kafka refuses a client without credentials, and logs the refused request', async () => {
    const admin = kafkaAs(undefined).admin();
    await refused('an unauthenticated metadata request', async () => {
      await admin.connect();
      await admin.listTopics();
      // kafkajs's KafkaJSConnectionClosedError: the broker hangs up on a request before the SASL handshake.
    }, /Closed connection/);
    await admin.disconnect().catch(() => {});
    await waitUntil('the broker to log the refused request', () => /Unexpected Kafka request of type METADATA during SASL handshake/.test(brokerLog()), 15_000);
  });

  test("the producers' principal cannot read the topic, write dead letters, create or delete topics, or join the consumer's group", async () => {
    const kafka = kafkaAs(producerSasl);
    const admin = kafka.admin();
    await admin.connect();
    await refused('create a topic', () => admin.createTopics({ topics: [{ topic: `${names.topic}-new` }] }), /TOPIC_AUTHORIZATION_FAILED|CLUSTER_AUTHORIZATION_FAILED/);
    await refused('delete the topic', () => admin.deleteTopics({ topics: [names.topic], timeout: 5_000 }), /TOPIC_AUTHORIZATION_FAILED/);
    await admin.disconnect();
    const raw = kafka.producer({ retry: { retries: 0 } });
    await raw.connect();
    await refused('write a dead letter', () => raw.send({ topic: names.dlqTopic, messages: [{ value: 'x' }] }), /TOPIC_AUTHORIZATION_FAILED|Topic authorization failed/);
    await raw.disconnect();

    const join = kafka.consumer({ groupId: names.groupId, retry: { retries: 0 } });
    await refused('join the consumer group', async () => {
      await join.connect();
      await join.subscribe({ topic: names.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        join.on(join.events.CRASH, (e) => reject(e.payload.error));
        void join.run({ eachMessage: async () => resolve() }).catch(reject);
      });
      // kafkajs says only this when FindCoordinator is refused; the broker's log below says why.
    }, /GROUP_AUTHORIZATION_FAILED|Failed to find group coordinator/);
    await join.disconnect().catch(() => {});

    // With a group of its own (granted here, never in compose), the topic itself still refuses the read.
    const ownGroup = `${names.groupId}-probe`;
    await (await pipeline.admin()).createAcls({
      acl: [{ principal: 'User:witness-producer', host: '*', resourceType: Res.GROUP, resourceName: ownGroup, resourcePatternType: Pattern.LITERAL, operation: Op.READ, permissionType: AclPermissionTypes.ALLOW }],
    });
    const reader = kafka.consumer({ groupId: ownGroup, retry: { retries: 0 } });
    await refused('read the topic', async () => {
      await reader.connect();
      await reader.subscribe({ topic: names.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        reader.on(reader.events.CRASH, (e) => reject(e.payload.error));
        void reader.run({ eachMessage: async () => resolve() }).catch(reject);
      });
    }, /TOPIC_AUTHORIZATION_FAILED/);
    await reader.disconnect().catch(() => {});

    const log = brokerLog();
    const topic = (name: string) => `Topic:LITERAL:${name.replace(/\./g, '\\.')}`;
    assert.match(log, denied('witness-producer', 'CREATE', 'Cluster:LITERAL:kafka-cluster|' + topic(`${names.topic}-new`)));
    assert.match(log, denied('witness-producer', 'DELETE', topic(names.topic)));
    // kafkajs asks for the topic's metadata before writing: already that is refused.
    assert.match(log, denied('witness-producer', '(DESCRIBE|WRITE)', topic(names.dlqTopic)));
    assert.match(log, denied('witness-producer', '(DESCRIBE|READ)', `Group:LITERAL:${names.groupId}`));
    assert.match(log, denied('witness-producer', 'READ', topic(names.topic)));
  });

  test('Qdrant: no key is refused (401); the read-only key reads, and cannot upsert, delete, set payload or delete the collection (403)', { skip: rolesSkip }, async () => {
    const url = pipeline.qdrantUrl;
    const collection = names.collection;
    const noKey = await httpGet(`${url}/collections`);
    assert.equal(noKey.status, 401);
    assert.match(noKey.text, /Must provide an API key/);
    const ro = { 'api-key': env.QDRANT_READ_ONLY_API_KEY!, 'content-type': 'application/json' };
    const call = (method: string, path: string, body?: unknown) => fetch(`${url}${path}`, { method, headers: ro, ...(body ? { body: JSON.stringify(body) } : {}) });
    const count = await call('POST', `/collections/${collection}/points/count`, { exact: true });
    assert.equal(count.status, 200, 'the read-only key reads');
    const writes: Array<[string, string, unknown?]> = [
      ['PUT', `/collections/${collection}/points`, { points: [{ id: 1, vector: {}, payload: {} }] }],
      ['POST', `/collections/${collection}/points/delete`, { points: [1] }],
      ['POST', `/collections/${collection}/points/payload`, { payload: { a: 1 }, points: [1] }],
      ['DELETE', `/collections/${collection}`],
    ];
    for (const [method, path, body] of writes) {
      const res = await call(method, path, body);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.match(await res.text(), /Forbidden/);
    }
    assert.equal((await call('POST', `/collections/${collection}/points/count`, { exact: true }).then((r) => r.json()) as { result: { count: number } }).result.count, 200, 'nothing changed');
    // Qdrant's record: its access log and its own counter.
    const log = readFileSync(pipeline.qdrant.spec.logFile, 'utf8');
    assert.match(log, /"GET \/collections HTTP\/1\.1" 401/);
    for (const [method, path] of writes) assert.match(log, new RegExp(`"${method} ${path.replace(/\./g, '\\.')} HTTP/1\\.1" 403`));
    const metrics = await (await fetch(`${url}/metrics`, { headers: ro })).text();
    // Its endpoint label holds braces ({collection_name}): the value is the line's last field.
    // (Qdrant 1.19 counts the points endpoints there, not the collection's DELETE: its log has that one.)
    for (const [method, endpoint] of [['PUT', 'points'], ['POST', 'points/delete'], ['POST', 'points/payload']]) {
      const line = metrics.split('\n').find((l) => l.startsWith(`rest_responses_total{method="${method}",endpoint="/collections/{collection_name}/${endpoint}",status="403"}`));
      assert.ok(line !== undefined && Number(line.split(' ').at(-1)) >= 1, `no 403 counted for ${method} ${endpoint}`);
    }
  });

  test('the CLI reads with the read-only key; prune and replay say which key they need', { skip: rolesSkip }, async () => {
    const cliEnv = { WITNESS_QDRANT_URL: pipeline.qdrantUrl, WITNESS_QDRANT_API_KEY: env.QDRANT_READ_ONLY_API_KEY!, WITNESS_COLLECTION: names.collection, WITNESS_EMBEDDING_DIM: String(DIM) };
    const run = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(argv, cliEnv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
      return { code, stdout, stderr };
    };
    const stats = await run(['stats', '--json']);
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal((JSON.parse(stats.stdout) as { total: number }).total, 200);
    for (const argv of [['prune', '--older-than', '1s'], ['replay', '--from-beginning', '--collection', `${names.collection}_replay`]]) {
      const r = await run(argv);
      assert.equal(r.code, 2, `witness ${argv[0]}: ${r.stderr}`);
      assert.match(r.stderr, /403.*may only read.*needs the read-write key \(Qdrant's api_key, QDRANT_API_KEY in docker-compose\.yml\)/, r.stderr);
      assert.ok(!r.stderr.includes(env.QDRANT_READ_ONLY_API_KEY!), 'the key in the message');
    }
  });

  test("6. rotating the consumer's password while entries flow: restart it with the new one, 0 missing; the old one no longer logs in", async (t) => {
    const rot = pipeline.names('rel-rotate');
    await pipeline.createTopic(rot, 3);
    await secured.grant(rot);
    const ledger = new Ledger('acl-rotate');
    const first = await pipeline.consumer(rot, secured.consumerEnv());
    await first.start();
    const { producer, registry } = pipeline.producer(rot, { brokers: [external], ssl: { ca: [ca] }, sasl: producerSasl });
    let flowing = true;
    const flow = (async () => {
      while (flowing) {
        for (let i = 0; i < 10; i++) ledger.record('producer', producer);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await waitUntil('entries to be stored under the old password', async () => (await first.metric('witness_entries_upserted_total').catch(() => 0)) > 0, 30_000);
    const rotated = randomBytes(24).toString('base64url');
    secured.setPassword('witness-consumer', rotated);
    await refused('the old password', async () => {
      const old = kafkaAs(secured.consumerSasl).admin();
      try {
        await old.connect();
        await old.listTopics();
      } finally {
        await old.disconnect().catch(() => {});
      }
    }, /SASL_AUTHENTICATION_FAILED|[Aa]uthentication failed/);
    // The rolling restart: SIGTERM (it flushes and commits what it stored), then the new password.
    await first.stop();
    const second = await pipeline.consumer(rot, secured.consumerEnv(rotated));
    await second.start();
    await new Promise((r) => setTimeout(r, 1_000));
    flowing = false;
    await flow;
    await producer.flush();
    await pipeline.waitDrained(rot);
    const tally = await pipeline.verify(ledger, rot, { producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    assert.ok(tally.stored > 0 && tally.missing === 0, `stored ${tally.stored}, missing ${tally.missing}`);
    await second.stop();
    assert.ok(!second.log().includes(rotated) && !first.log().includes(env.KAFKA_CONSUMER_PASSWORD!), 'a password in a consumer log');
  });
});
