// Scenario 10 of issue 8: the pipeline behind credentials. This file's broker has a
// SASL_SSL listener (SCRAM-SHA-256 and SCRAM-SHA-512 users created when its storage
// is formatted; TLS with a key pair this test generates with keytool into a PKCS12
// keystore) and its Qdrant server requires an API key. The producer and the
// consumer reach Kafka only through that listener; the broker's PLAINTEXT listener
// stays for its own readiness check and for the test's admin calls.
//
// Right credentials: everything is accounted for. Wrong ones: each client fails
// clearly (a counted drop and an error, an exit code, a readiness of 503 with a
// log line naming the variable), and no secret appears in a log or a metric.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { SASLOptions } from 'kafkajs';
import { loadToolchain, type ScramCredential } from '../../local/services.js';
import { httpGet } from '../support/http.js';
import { sample } from '../support/metrics.js';
import { freePort } from '../support/net.js';
import { Ledger } from '../support/reliability/ledger.js';
import { startOwnPipeline, tempDir, waitUntil, type OwnPipeline } from '../support/reliability/pipeline.js';

const secret = () => randomBytes(12).toString('base64url');
const users = {
  producer: { name: 'witness-producer', password: secret() },
  consumer: { name: 'witness-consumer', password: secret() },
};
const scram: ScramCredential[] = [
  { mechanism: 'SCRAM-SHA-512', ...users.producer },
  { mechanism: 'SCRAM-SHA-256', ...users.consumer },
];
const qdrantApiKey = secret();
const keystorePassword = secret();
const wrongPassword = secret();
const wrongApiKey = secret();
const SECRETS = [users.producer.password, users.consumer.password, qdrantApiKey, keystorePassword, wrongPassword, wrongApiKey];

let pipeline: OwnPipeline;
let saslBroker: string;
let caFile: string;
let ca: string;
const certDir = tempDir('certs');

/** A self-signed key pair for 127.0.0.1 in a PKCS12 keystore, and its certificate as PEM for the clients. */
function makeCertificate(): void {
  const keytool = join(dirname(realpathSync(loadToolchain().java)), 'keytool');
  const keystore = join(certDir, 'broker.p12');
  caFile = join(certDir, 'broker.pem');
  const common = ['-storetype', 'PKCS12', '-keystore', keystore, '-storepass', keystorePassword];
  execFileSync(keytool, ['-genkeypair', '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '2', '-dname', 'CN=127.0.0.1', '-ext', 'SAN=ip:127.0.0.1,dns:localhost', ...common], { stdio: 'pipe' });
  execFileSync(keytool, ['-exportcert', '-rfc', '-alias', 'broker', '-file', caFile, ...common], { stdio: 'pipe' });
  ca = readFileSync(caFile, 'utf8');
}

before(async () => {
  makeCertificate();
  const saslPort = await freePort();
  saslBroker = `127.0.0.1:${saslPort}`;
  pipeline = await startOwnPipeline({
    qdrantEnv: { QDRANT_API_KEY: qdrantApiKey },
    broker: {
      scramCredentials: scram,
      extraProperties: ({ kafkaPort, controllerPort }) =>
        [
          '',
          '# reliability tests: a SASL_SSL listener with SCRAM users',
          `listeners=PLAINTEXT://127.0.0.1:${kafkaPort},SASL_SSL://${saslBroker},CONTROLLER://127.0.0.1:${controllerPort}`,
          `advertised.listeners=PLAINTEXT://127.0.0.1:${kafkaPort},SASL_SSL://${saslBroker}`,
          'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
          'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
          'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
          'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
          'listener.name.sasl_ssl.ssl.keystore.type=PKCS12',
          `listener.name.sasl_ssl.ssl.keystore.location=${join(certDir, 'broker.p12')}`,
          `listener.name.sasl_ssl.ssl.keystore.password=${keystorePassword}`,
          `listener.name.sasl_ssl.ssl.key.password=${keystorePassword}`,
          '',
        ].join('\n'),
    },
  });
});
after(async () => {
  await pipeline?.cleanup();
  rmSync(certDir, { recursive: true, force: true });
});

/** A pino logger that keeps its lines, to look for secrets in them. */
function capturingLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

function consumerEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    WITNESS_KAFKA_BROKERS: saslBroker,
    WITNESS_KAFKA_SSL: 'true',
    WITNESS_KAFKA_SSL_CA_FILE: caFile,
    WITNESS_KAFKA_SASL_MECHANISM: 'scram-sha-256',
    WITNESS_KAFKA_SASL_USERNAME: users.consumer.name,
    WITNESS_KAFKA_SASL_PASSWORD: users.consumer.password,
    WITNESS_QDRANT_API_KEY: qdrantApiKey,
    LOG_LEVEL: 'debug',
    ...overrides,
  };
}

function assertNoSecret(where: string, text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `a secret appears in ${where}`);
}

describe('security: SASL/SCRAM over TLS, Qdrant API key', { timeout: 240_000 }, () => {
  test('10. right credentials: the pipeline works and every entry is accounted for; no secret in logs or metrics', async (t) => {
    const ledger = new Ledger('security');
    const names = pipeline.names('rel-secure');
    await pipeline.createTopic(names, 3);
    const consumer = await pipeline.consumer(names, consumerEnv());
    await consumer.start();
    const { logger, lines } = capturingLogger();
    const sasl: SASLOptions = { mechanism: 'scram-sha-512', username: users.producer.name, password: users.producer.password };
    const { producer, registry } = pipeline.producer(names, { brokers: [saslBroker], ssl: { ca: [ca] }, sasl, logger });
    for (let i = 0; i < 300; i++) ledger.record('producer', producer);
    await producer.flush();
    await pipeline.waitDrained(names);
    await pipeline.verify(ledger, names, { kafka: { brokers: [saslBroker], ssl: { ca: [ca] }, sasl }, producers: [{ producer, registry }], print: (line) => t.diagnostic(line) });
    await producer.close();
    const metrics = await consumer.metrics();
    await consumer.stop();
    assertNoSecret('the consumer log', consumer.log());
    assertNoSecret('the consumer metrics', metrics);
    assertNoSecret('the producer log', lines.join(''));
    assertNoSecret('the producer metrics', await registry.metrics());
    assert.match(consumer.log(), /"password":"<redacted>"/, 'the consumer logs its configuration with the password redacted');
  });

  test('10. wrong credentials fail clearly: producer drops and counts, consumer exits 1, wrong Qdrant key keeps it unready with a clear error', async (t) => {
    const names = pipeline.names('rel-insecure');
    await pipeline.createTopic(names, 1);

    // The producer with a wrong password: its entries are dropped as send_failed and counted,
    // an error is logged, and flush() returns instead of the queue waiting forever.
    const { logger, lines } = capturingLogger();
    const { producer, registry } = pipeline.producer(names, {
      brokers: [saslBroker],
      ssl: { ca: [ca] },
      sasl: { mechanism: 'scram-sha-512', username: users.producer.name, password: wrongPassword },
      logger,
    });
    const ledger = new Ledger('security-wrong-password');
    for (let i = 0; i < 20; i++) ledger.record('producer', producer);
    await producer.flush();
    const stats = producer.stats();
    const metrics = await registry.metrics();
    t.diagnostic(`producer with a wrong password: ${JSON.stringify(stats)}`);
    assert.equal(stats.dropped.send_failed, 20, 'every entry is counted as send_failed');
    assert.equal(sample(metrics, 'witness_producer_entries_dropped_total', { reason: 'send_failed' }), 20);
    assert.ok(sample(metrics, 'witness_producer_send_errors_total', { error: 'SASL_AUTHENTICATION_FAILED', retriable: 'false' }) >= 1, 'the error is counted as not retriable');
    assert.match(lines.join(''), /the broker refused witness entries; dropped \(send_failed\)/);
    await producer.close();
    assertNoSecret('the producer log', lines.join(''));
    assertNoSecret('the producer metrics', metrics);

    // The consumer with a wrong Kafka password: it does not start, exits, and says why.
    const badKafka = await pipeline.consumer(names, consumerEnv({ WITNESS_KAFKA_SASL_PASSWORD: wrongPassword }));
    await assert.rejects(badKafka.start(), /it exited/);
    t.diagnostic(`consumer with a wrong Kafka password: ${badKafka.log().split('\n').filter((l) => l.includes('could not start')).join(' ').slice(0, 300)}`);
    assert.match(badKafka.log(), /could not start.*(SASL|[Aa]uthentication)/);
    assertNoSecret('the log of the consumer with the wrong password', badKafka.log());

    // The consumer with a wrong Qdrant key: never ready, and the log names WITNESS_QDRANT_API_KEY.
    // It keeps retrying by design (consumer/src/errors.ts: an operator fixes a key without a restart).
    const badQdrant = await pipeline.consumer(names, consumerEnv({ WITNESS_QDRANT_API_KEY: wrongApiKey }));
    void badQdrant.service.start().catch(() => {});
    await waitUntil('the consumer to report the refused key', () => /Qdrant refused our credentials \(401\): check WITNESS_QDRANT_API_KEY/.test(badQdrant.log()), 60_000);
    assert.equal((await httpGet(`${badQdrant.url}/readyz`)).status, 503, 'not ready');
    const badMetrics = await badQdrant.metrics();
    await badQdrant.stop();
    assertNoSecret('the log of the consumer with the wrong key', badQdrant.log());
    assertNoSecret('its metrics', badMetrics);
  });
});
