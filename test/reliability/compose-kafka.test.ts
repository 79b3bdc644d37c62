// docker-compose.yml's own Kafka configuration on the real broker: its kafka service's
// KAFKA_* variables, rendered by docker-compose and turned into server.properties by the
// apache/kafka image's rule (KAFKA_ dropped; ___ is "-", __ is "_", _ is "."), with only
// the ports, the data folder and the keystore's path moved to this machine. The SCRAM
// users kafka-init creates with kafka-configs.sh are written at format time here (the
// Maven jars have no kafka-tools). acl.test.ts checks the ACLs on a broker with a test
// door; this file checks that the compose broker itself starts and lets no one in
// without a login: the broker and kafka-init's admin (PLAIN) only inside, SCRAM over TLS
// outside, nobody anonymous.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs, { type KafkaConfig } from 'kafkajs';
import { parse as parseYaml } from 'yaml';
import { formatKafkaStorage, kafkaJavaArgs, kafkaReady, loadToolchain, repoRoot, service, type Service } from '../../local/services.js';
import { freePorts } from '../support/broker.js';
import { tempDir } from '../support/reliability/pipeline.js';

const dockerCompose = process.env.WITNESSLOG_DOCKER_COMPOSE ?? 'docker-compose';
const dir = tempDir('compose-kafka');
let broker: Service;
let internal: string;
let external: string;
let env: Record<string, string>;
let ca: string;

/** The image's rule: KAFKA_LISTENER_NAME_EXTERNAL_SCRAM___SHA___512_SASL_JAAS_CONFIG -> listener.name.external.scram-sha-512.sasl.jaas.config. */
const propertyName = (variable: string) => variable.slice('KAFKA_'.length).toLowerCase().replace(/___/g, '-').replace(/__/g, '\u0000').replace(/_/g, '.').replace(/\u0000/g, '_');

before(async () => {
  execFileSync('bash', [join(repoRoot, 'scripts/secrets.sh'), dir], { env: { PATH: process.env.PATH, KAFKA_EXTERNAL_HOST: '127.0.0.1' }, stdio: 'pipe' });
  env = Object.fromEntries(readFileSync(join(dir, '.env'), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  ca = readFileSync(join(dir, 'secrets/ca.pem'), 'utf8');
  const [internalPort, controllerPort, externalPort] = (await freePorts(3)) as [number, number, number];
  internal = `127.0.0.1:${internalPort}`;
  external = `127.0.0.1:${externalPort}`;
  const rendered = execFileSync(dockerCompose, ['--env-file', join(dir, '.env'), '-f', join(repoRoot, 'docker-compose.yml'), 'config'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, KAFKA_EXTERNAL_HOST: '127.0.0.1', KAFKA_EXTERNAL_PORT: String(externalPort) },
  });
  const vars = (parseYaml(rendered) as { services: { kafka: { environment: Record<string, string | number> } } }).services.kafka.environment;
  const moved: Record<string, string> = {
    'listeners': `INTERNAL://${internal},CONTROLLER://localhost:${controllerPort},EXTERNAL://${external}`,
    'advertised.listeners': String(vars.KAFKA_ADVERTISED_LISTENERS).replace('kafka:9092', internal),
    'controller.quorum.voters': `1@localhost:${controllerPort}`,
    'log.dirs': join(dir, 'data'),
    'listener.name.external.ssl.keystore.location': join(dir, 'secrets/kafka.p12'),
  };
  const lines = Object.entries(vars)
    .filter(([name]) => name.startsWith('KAFKA_') && name !== 'KAFKA_HEAP_OPTS')
    .map(([name, value]) => `${propertyName(name)}=${moved[propertyName(name)] ?? value}`);
  assert.ok(lines.includes('authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer'), lines.join('\n'));
  const props = join(dir, 'server.properties');
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(props, `${lines.join('\n')}\n`);
  const tools = loadToolchain();
  await formatKafkaStorage(tools, props, [{ mechanism: 'SCRAM-SHA-512', name: 'witness-producer', password: env.KAFKA_PRODUCER_PASSWORD! }]);
  const spec = {
    name: 'kafka',
    command: tools.java,
    args: kafkaJavaArgs(tools, '384m', props),
    logFile: join(dir, 'kafka.log'),
    pidFile: join(dir, 'kafka.pid'),
    ports: [internalPort, controllerPort, externalPort],
  };
  // Ready: kafka-init's admin gets an answer on the compose network's listener.
  broker = service('kafka', `SASL_PLAINTEXT://${internal}`, spec, () => kafkaReady([internal], { sasl: adminSasl() }), async () => {});
  await broker.start();
});
after(async () => {
  await broker?.kill().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

const adminSasl = () => ({ mechanism: 'plain' as const, username: 'admin', password: env.KAFKA_ADMIN_PASSWORD! });
const client = (config: Omit<KafkaConfig, 'clientId'>) => new kafkajs.Kafka({ clientId: 'compose-kafka-test', logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 0 }, ...config });
async function listTopics(config: Omit<KafkaConfig, 'clientId'>): Promise<string[]> {
  const admin = client(config).admin();
  try {
    await admin.connect();
    return await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

describe("docker-compose.yml's Kafka on the real broker", { timeout: 120_000 }, () => {
  test("kafka-init's admin creates the topic inside; the serving nodes' user writes it over TLS, and may not read it", async () => {
    const admin = client({ brokers: [internal], sasl: adminSasl() }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'witness.entries', numPartitions: 3 }] });
    const { AclOperationTypes: Op, AclPermissionTypes, AclResourceTypes: Res, ResourcePatternTypes: Pattern } = kafkajs;
    await admin.createAcls({
      acl: [Op.WRITE, Op.DESCRIBE].map((operation) => ({ principal: 'User:witness-producer', host: '*', resourceType: Res.TOPIC, resourceName: 'witness.entries', resourcePatternType: Pattern.LITERAL, operation, permissionType: AclPermissionTypes.ALLOW })),
    });
    await admin.disconnect();
    const producerSasl = { mechanism: 'scram-sha-512' as const, username: 'witness-producer', password: env.KAFKA_PRODUCER_PASSWORD! };
    const producer = client({ brokers: [external], ssl: { ca: [ca] }, sasl: producerSasl }).producer();
    await producer.connect();
    await producer.send({ topic: 'witness.entries', messages: [{ value: 'entry' }] });
    await producer.disconnect();
    const reader = client({ brokers: [external], ssl: { ca: [ca] }, sasl: producerSasl }).consumer({ groupId: 'witness-consumer' });
    await assert.rejects(async () => {
      await reader.connect();
      await reader.subscribe({ topic: 'witness.entries', fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        reader.on(reader.events.CRASH, (e) => reject(e.payload.error));
        void reader.run({ eachMessage: async () => resolve() }).catch(reject);
      });
    }, /Failed to find group coordinator|GROUP_AUTHORIZATION_FAILED/);
    await reader.disconnect().catch(() => {});
    assert.match(readFileSync(join(dir, 'kafka.log'), 'utf8'), /Principal = User:witness-producer is Denied operation = DESCRIBE .* on resource = Group:LITERAL:witness-consumer/);
  });

  test('no one gets in without a login, and PLAIN (broker, admin) is refused from outside', async () => {
    await assert.rejects(listTopics({ brokers: [internal] }), /Closed connection/, 'anonymous inside');
    await assert.rejects(listTopics({ brokers: [external], ssl: { ca: [ca] } }), /Closed connection/, 'anonymous outside');
    await assert.rejects(listTopics({ brokers: [external], ssl: { ca: [ca] }, sasl: adminSasl() }), /does not support the requested SASL mechanism/, "the admin's PLAIN outside");
    await assert.rejects(listTopics({ brokers: [external], sasl: { mechanism: 'scram-sha-512', username: 'witness-producer', password: env.KAFKA_PRODUCER_PASSWORD! } }), 'SASL without TLS outside');
  });
});
