// The pipeline of one reliability test file behind docker-compose.yml's security
// (issue 28): scripts/secrets.sh makes every secret and the certificates, as for the
// compose stack; the broker has a SASL_SSL listener with SCRAM-SHA-512 users and the
// StandardAuthorizer with no access where no ACL allows it; Qdrant has a read-write
// and a read-only key. The broker's loopback PLAINTEXT listener is the test harness's
// door (readiness, admin, reading the dead letters): its one super user, as
// kafka-init's admin is in compose.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs, { type SASLOptions } from 'kafkajs';
import { loadToolchain, repoRoot } from '../../../local/services.js';
import { freePort } from '../net.js';
import { startOwnPipeline, tempDir, type Names, type OwnPipeline } from './pipeline.js';

const { AclOperationTypes: Op, AclPermissionTypes, AclResourceTypes: Res, ResourcePatternTypes: Pattern } = kafkajs;

export interface SecuredPipeline {
  pipeline: OwnPipeline;
  /** The SASL_SSL listener. */
  external: string;
  secretsDir: string;
  /** What scripts/secrets.sh wrote to .env. */
  env: Record<string, string>;
  ca: string;
  producerSasl: SASLOptions;
  consumerSasl: SASLOptions;
  /** kafka-init's ACLs (docker-compose.yml) for these names. */
  grant(names: Names): Promise<void>;
  /** What kafka-init's `kafka-configs.sh --alter --add-config SCRAM-SHA-512=[password=…]` does. */
  setPassword(user: string, password: string): void;
  /** The environment of a consumer logging in as witness-consumer over SASL_SSL. */
  consumerEnv(password?: string): Record<string, string>;
  cleanup(): Promise<void>;
}

export async function startSecuredPipeline(): Promise<SecuredPipeline> {
  const secretsDir = tempDir('secrets');
  execFileSync('bash', [join(repoRoot, 'scripts/secrets.sh'), secretsDir], { env: { ...process.env, KAFKA_EXTERNAL_HOST: '127.0.0.1' }, stdio: 'pipe' });
  const env = Object.fromEntries(
    readFileSync(join(secretsDir, '.env'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const external = `127.0.0.1:${await freePort()}`;
  const pipeline = await startOwnPipeline({
    qdrantEnv: { QDRANT_API_KEY: env.QDRANT_API_KEY!, QDRANT_READ_ONLY_API_KEY: env.QDRANT_READ_ONLY_API_KEY! },
    broker: {
      scramCredentials: [
        { mechanism: 'SCRAM-SHA-512', name: 'witness-producer', password: env.KAFKA_PRODUCER_PASSWORD! },
        { mechanism: 'SCRAM-SHA-512', name: 'witness-consumer', password: env.KAFKA_CONSUMER_PASSWORD! },
      ],
      extraProperties: ({ kafkaPort, controllerPort }) =>
        [
          '',
          '# issue 28: docker-compose.yml security (EXTERNAL: SASL_SSL, SCRAM-SHA-512; ACLs only)',
          `listeners=PLAINTEXT://127.0.0.1:${kafkaPort},EXTERNAL://${external},CONTROLLER://127.0.0.1:${controllerPort}`,
          `advertised.listeners=PLAINTEXT://127.0.0.1:${kafkaPort},EXTERNAL://${external}`,
          'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:SASL_SSL',
          'sasl.enabled.mechanisms=SCRAM-SHA-512',
          'listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
          'listener.name.external.ssl.keystore.type=PKCS12',
          `listener.name.external.ssl.keystore.location=${join(secretsDir, 'secrets/kafka.p12')}`,
          `listener.name.external.ssl.keystore.password=${env.KAFKA_KEYSTORE_PASSWORD}`,
          `listener.name.external.ssl.key.password=${env.KAFKA_KEYSTORE_PASSWORD}`,
          'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
          'allow.everyone.if.no.acl.found=false',
          // The harness's loopback door and the controller (compose: User:broker;User:admin).
          'super.users=User:ANONYMOUS',
          'auto.create.topics.enable=false',
          '',
        ].join('\n'),
    },
  }).catch((err) => {
    rmSync(secretsDir, { recursive: true, force: true });
    throw err;
  });
  const allow = (principal: string, resourceType: number, resourceName: string, operation: number, resourcePatternType = Pattern.LITERAL) =>
    ({ principal: `User:${principal}`, host: '*', resourceType, resourceName, resourcePatternType, operation, permissionType: AclPermissionTypes.ALLOW });
  const caFile = join(secretsDir, 'secrets/ca.pem');
  return {
    pipeline,
    external,
    secretsDir,
    env,
    ca: readFileSync(caFile, 'utf8'),
    producerSasl: { mechanism: 'scram-sha-512', username: 'witness-producer', password: env.KAFKA_PRODUCER_PASSWORD! },
    consumerSasl: { mechanism: 'scram-sha-512', username: 'witness-consumer', password: env.KAFKA_CONSUMER_PASSWORD! },
    async grant(names) {
      await (await pipeline.admin()).createAcls({
        acl: [
          allow('witness-producer', Res.TOPIC, names.topic, Op.WRITE),
          allow('witness-producer', Res.TOPIC, names.topic, Op.DESCRIBE),
          allow('witness-consumer', Res.TOPIC, names.topic, Op.READ),
          allow('witness-consumer', Res.TOPIC, names.topic, Op.DESCRIBE),
          allow('witness-consumer', Res.TOPIC, names.dlqTopic, Op.WRITE),
          allow('witness-consumer', Res.TOPIC, names.dlqTopic, Op.DESCRIBE),
          allow('witness-consumer', Res.GROUP, names.groupId, Op.READ, Pattern.PREFIXED),
          allow('witness-consumer', Res.GROUP, names.groupId, Op.DESCRIBE, Pattern.PREFIXED),
        ],
      });
    },
    setPassword(user, password) {
      const tools = loadToolchain();
      const source = join(repoRoot, 'test/support/reliability/ScramPassword.java');
      execFileSync(tools.java, ['-cp', join(tools.kafkaLibs, '*'), source, pipeline.broker.brokers[0]!, user], { input: password, stdio: ['pipe', 'pipe', 'pipe'] });
    },
    consumerEnv: (password = env.KAFKA_CONSUMER_PASSWORD!) => ({
      WITNESS_KAFKA_BROKERS: external,
      WITNESS_KAFKA_SSL_CA_FILE: caFile,
      WITNESS_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      WITNESS_KAFKA_SASL_USERNAME: 'witness-consumer',
      WITNESS_KAFKA_SASL_PASSWORD: password,
      WITNESS_QDRANT_API_KEY: env.QDRANT_API_KEY!,
    }),
    async cleanup() {
      await pipeline.cleanup();
      rmSync(secretsDir, { recursive: true, force: true });
    },
  };
}
