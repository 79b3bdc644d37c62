// The operator's side of the product, checked without a Docker engine:
// docker-compose.yml validates, Prometheus and Alertmanager accept their configs and
// rules (with unit tests for every alert), and the Grafana dashboards are well-formed
// provisioning files. test/alerting.test.ts routes the alerts through real processes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { prometheusConfig, repoRoot, stackConfig } from '../../local/services.js';

const promtool = process.env.WITNESSLOG_PROMTOOL ?? 'promtool';
const amtool = process.env.WITNESSLOG_AMTOOL ?? 'amtool';
const dockerCompose = process.env.WITNESSLOG_DOCKER_COMPOSE ?? 'docker-compose';
const tempFile = (name: string, content: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'witness-obs-')), name);
  writeFileSync(file, content);
  return file;
};
let emptyEnv: string | undefined;
const emptyEnvFile = () => (emptyEnv ??= tempFile('.env', ''));
// The stack refuses to start without its secrets (scripts/secrets.sh makes them): these stand in.
const SECRET_VARIABLES = [
  'KAFKA_BROKER_PASSWORD',
  'KAFKA_ADMIN_PASSWORD',
  'KAFKA_PRODUCER_PASSWORD',
  'KAFKA_CONSUMER_PASSWORD',
  'KAFKA_KEYSTORE_PASSWORD',
  'QDRANT_API_KEY',
  'QDRANT_READ_ONLY_API_KEY',
  'MONITORING_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
];
const secretsEnv = Object.fromEntries(SECRET_VARIABLES.map((v) => [v, `test-${v.toLowerCase()}`]));
// Never the developer's own .env or variables: an empty --env-file and only these.
const composeEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...secretsEnv, ...extra });
const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = { ...process.env, ...composeEnv() }) => {
  const withEnvFile = cmd === dockerCompose ? ['--env-file', emptyEnvFile(), ...args] : args;
  return execFileSync(cmd, withEnvFile, { cwd: repoRoot, encoding: 'utf8', stdio: 'pipe', env });
};

describe('prometheus', () => {
  test('promtool accepts the local and the production config', () => {
    assert.match(sh(promtool, ['check', 'config', tempFile('prometheus.yml', prometheusConfig(stackConfig()))]), /SUCCESS/);
    assert.match(sh(promtool, ['check', 'config', '--syntax-only', 'prometheus/prometheus.yml']), /SUCCESS/);
  });

  test('amtool accepts the production Alertmanager config, and the production Prometheus sends its alerts there', () => {
    assert.match(sh(amtool, ['check-config', 'prometheus/alertmanager.yml']), /SUCCESS/);
    const prom = parseYaml(readFileSync(join(repoRoot, 'prometheus/prometheus.yml'), 'utf8')) as { alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } };
    assert.deepEqual(prom.alerting.alertmanagers[0]!.static_configs[0]!.targets, ['alertmanager:9093']);
    const broken = readFileSync(join(repoRoot, 'prometheus/alertmanager.yml'), 'utf8').replace('receiver: tickets', 'receiver: nobody');
    assert.throws(() => sh(amtool, ['check-config', tempFile('alertmanager.yml', broken)]));
  });

  test('promtool rejects a broken config (the check can fail)', () => {
    const broken = prometheusConfig(stackConfig()).replace('scrape_interval: 2s', 'scrape_interval: five');
    assert.throws(() => sh(promtool, ['check', 'config', tempFile('prometheus.yml', broken)]));
  });

  test('promtool checks the rules and passes their unit tests (every alert fires once and stays silent once)', () => {
    assert.match(sh(promtool, ['check', 'rules', 'prometheus/rules/witness.rules.yml']), /SUCCESS: \d+ rules found/);
    assert.match(sh(promtool, ['test', 'rules', 'prometheus/tests/witness.test.yml']), /SUCCESS/);
  });

  test('every alert has a firing and a silent case in the unit tests', () => {
    const rules = readFileSync(join(repoRoot, 'prometheus/rules/witness.rules.yml'), 'utf8');
    const tests = readFileSync(join(repoRoot, 'prometheus/tests/witness.test.yml'), 'utf8');
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
    assert.ok(alerts.length >= 6, `expected at least 6 alerts, found ${alerts.join(', ')}`);
    for (const alert of alerts) {
      const cases = [...tests.matchAll(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:(.*)`, 'g'))].map((m) => m[1]!.trim());
      assert.ok(cases.some((c) => c.startsWith('[]')), `${alert} has no case where it must stay silent`);
      assert.ok(cases.some((c) => c === ''), `${alert} has no case where it fires`);
    }
  });
});

describe('docker-compose.yml', () => {
  test('validates with docker-compose config, with and without the demo profile', () => {
    sh(dockerCompose, ['-f', 'docker-compose.yml', 'config', '-q']);
    const services = sh(dockerCompose, ['-f', 'docker-compose.yml', '--profile', 'demo', 'config', '--services']).trim().split('\n');
    for (const s of ['kafka', 'kafka-init', 'qdrant', 'consumer', 'prometheus', 'alertmanager', 'grafana', 'demo-load']) assert.ok(services.includes(s), `no ${s} service`);
  });

  test('images are pinned, Kafka is the tested version, long-running services have healthchecks', () => {
    const config = parseYaml(sh(dockerCompose, ['-f', 'docker-compose.yml', '--profile', 'demo', 'config'])) as {
      services: Record<
        string,
        { image?: string; build?: unknown; healthcheck?: unknown; restart?: string; depends_on?: Record<string, { condition: string }> }
      >;
      volumes: Record<string, unknown>;
    };
    const pom = readFileSync(join(repoRoot, 'local/kafka/pom.xml'), 'utf8');
    const kafkaVersion = /<kafka.version>(.+)<\/kafka.version>/.exec(pom)![1]!;
    for (const [name, svc] of Object.entries(config.services)) {
      assert.match(svc.image ?? '', /:[\w.-]+$/, `${name} image is not pinned`);
      assert.doesNotMatch(svc.image ?? '', /:latest$/, `${name} uses :latest`);
      if (svc.restart !== 'no') assert.ok(svc.healthcheck, `${name} has no healthcheck`);
    }
    assert.equal(config.services.kafka!.image, `apache/kafka:${kafkaVersion}`);
    assert.equal(config.services.consumer!.depends_on!.qdrant!.condition, 'service_healthy');
    assert.equal(config.services.consumer!.depends_on!['kafka-init']!.condition, 'service_completed_successfully');
    for (const v of ['kafka-data', 'qdrant-data', 'prometheus-data', 'alertmanager-data', 'grafana-data']) assert.ok(v in config.volumes, `no named volume ${v}`);
  });

  test('every profile starts from a clean checkout: each image of ours is built, on Node 22 LTS', () => {
    const config = parseYaml(sh(dockerCompose, ['-f', 'docker-compose.yml', '--profile', 'demo', 'config'])) as {
      services: Record<string, { image?: string; build?: unknown }>;
    };
    for (const [name, svc] of Object.entries(config.services)) {
      if (svc.image?.startsWith('witnesslog/')) assert.ok(svc.build, `${name} uses ${svc.image}, which nothing builds in its profile`);
    }
    const froms = [...readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    assert.ok(froms.length >= 1 && froms.every((f) => /^node:22\.\d+\.\d+-/.test(f)), `Dockerfile bases: ${froms.join(', ')}`);
  });

  test('Kafka has a published listener for serving nodes outside the compose network, host and port from variables', () => {
    const env = composeEnv({ KAFKA_EXTERNAL_HOST: 'witness-kafka.example.net', KAFKA_EXTERNAL_PORT: '19094' });
    const text = sh(dockerCompose, ['-f', 'docker-compose.yml', 'config'], env);
    const kafka = (parseYaml(text) as { services: { kafka: { environment: Record<string, string>; ports: Array<{ published: number | string; target: number }> } } }).services.kafka;
    assert.match(kafka.environment.KAFKA_ADVERTISED_LISTENERS!, /(^|,)INTERNAL:\/\/kafka:9092(,|$)/, 'the compose network keeps its listener');
    assert.match(kafka.environment.KAFKA_ADVERTISED_LISTENERS!, /(^|,)EXTERNAL:\/\/witness-kafka\.example\.net:19094(,|$)/);
    assert.match(kafka.environment.KAFKA_LISTENERS!, /EXTERNAL:\/\/:9094/);
    assert.match(kafka.environment.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP!, /(^|,)EXTERNAL:SASL_SSL(,|$)/);
    assert.ok(kafka.ports.some((p) => Number(p.published) === 19094 && p.target === 9094), JSON.stringify(kafka.ports));
  });

  test('a broken compose file is rejected (the check can fail)', () => {
    const broken = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8').replace('condition: service_healthy', 'condition: when_it_feels_like_it');
    assert.throws(() => sh(dockerCompose, ['-f', tempFile('docker-compose.yml', broken), 'config', '-q']));
  });
});

interface ComposeService {
  environment?: Record<string, string>;
  command?: string[];
  ports?: Array<string | { published: number | string; target: number; host_ip?: string }>;
}
// docker-compose v1 prints a port with a host address in the short form (127.0.0.1:9090:9090/tcp).
const hostIp = (p: NonNullable<ComposeService['ports']>[number]) => (typeof p === 'string' ? p.split(':').length === 3 ? p.split(':')[0] : '' : p.host_ip ?? '');
const target = (p: NonNullable<ComposeService['ports']>[number]) => (typeof p === 'string' ? Number(p.split(':').at(-1)!.split('/')[0]) : p.target);
const composeConfig = (env: Record<string, string> = {}) =>
  (parseYaml(sh(dockerCompose, ['-f', 'docker-compose.yml', '--profile', 'demo', 'config'], composeEnv(env))) as { services: Record<string, ComposeService> }).services;

describe('docker-compose.yml is secure by default', () => {
  const text = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');

  test('it refuses to start while a secret is unset, naming the variable and what it is for', () => {
    for (const missing of SECRET_VARIABLES) {
      const env = composeEnv();
      delete env[missing];
      let stderr = '';
      assert.throws(() => {
        try {
          sh(dockerCompose, ['-f', 'docker-compose.yml', 'config', '-q'], env);
        } catch (err) {
          stderr = String((err as { stderr?: unknown }).stderr);
          throw err;
        }
      }, `compose started without ${missing}`);
      assert.match(stderr, new RegExp(`set ${missing}[:,] .+scripts/secrets\\.sh`), `the error names ${missing}: ${stderr.slice(-300)}`);
    }
  });

  test('no default password or key anywhere: every secret is a required variable', () => {
    for (const v of SECRET_VARIABLES) assert.match(text, new RegExp(`\\$\\{${v}:\\?set ${v}`), `${v} is not required`);
    assert.doesNotMatch(text, /\$\{[A-Z_]*(PASSWORD|KEY|SECRET)[A-Z_]*:-/, 'a secret with a default');
    for (const file of ['docker-compose.yml', 'prometheus/prometheus.yml', 'grafana/provisioning/datasources/witnesslog.yml']) {
      assert.doesNotMatch(readFileSync(join(repoRoot, file), 'utf8'), /change-?me|changeme|admin:admin|password: *["']?(admin|secret|password)\b/i, `${file}: a default password`);
    }
  });

  test('Prometheus, Alertmanager, the metrics, Grafana and Qdrant listen on 127.0.0.1 unless a variable publishes them; then behind basic auth', () => {
    const services = composeConfig();
    for (const name of ['prometheus', 'alertmanager', 'consumer', 'grafana', 'qdrant']) {
      const ports = services[name]!.ports ?? [];
      assert.ok(ports.length > 0 && ports.every((p) => hostIp(p) === '127.0.0.1'), `${name} publishes ${JSON.stringify(ports)}`);
    }
    assert.deepEqual(services['demo-load']!.ports ?? [], [], 'the demo load generator publishes nothing');
    const published = composeConfig({ MONITORING_BIND: '0.0.0.0' });
    for (const name of ['prometheus', 'alertmanager']) {
      assert.ok(published[name]!.ports!.every((p) => hostIp(p) === '0.0.0.0'), `MONITORING_BIND publishes ${name}`);
      assert.ok(published[name]!.command!.includes('--web.config.file=/etc/witness-secrets/web.yml'), `${name} without basic auth`);
    }
    // The consumer's /metrics has no authentication of its own: no variable publishes it.
    assert.ok(published.consumer!.ports!.every((p) => hostIp(p) === '127.0.0.1'));
    const grafana = services.grafana!.environment!;
    assert.equal(grafana.GF_AUTH_ANONYMOUS_ENABLED, 'false');
    assert.equal(grafana.GF_USERS_ALLOW_SIGN_UP, 'false');
    assert.equal(grafana.GF_SECURITY_ADMIN_PASSWORD, secretsEnv.GRAFANA_ADMIN_PASSWORD);
  });

  test('scripts/secrets.sh: every secret once, owner-only files, names never values; promtool accepts its basic-auth file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'witness-secrets-'));
    const run = () => execFileSync('bash', [join(repoRoot, 'scripts/secrets.sh'), dir], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    const first = run();
    const envText = readFileSync(join(dir, '.env'), 'utf8');
    const values = Object.fromEntries(envText.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.deepEqual(Object.keys(values).sort(), [...SECRET_VARIABLES].sort());
    for (const [name, value] of Object.entries(values)) {
      assert.ok(value.length >= 40, `${name} is short`);
      assert.ok(first.includes(name) && !first.includes(value), `the script names ${name} and does not print it`);
    }
    assert.equal(statSync(join(dir, '.env')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'secrets')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'secrets/ca.key')).mode & 0o777, 0o600);
    assert.equal(run(), '', 'a second run creates nothing and says nothing');
    assert.equal(readFileSync(join(dir, '.env'), 'utf8'), envText, 'and keeps every value');
    // promtool says SUCCESS on stderr; its exit code is the answer (execFileSync throws on 1).
    sh(promtool, ['check', 'web-config', join(dir, 'secrets/web.yml')]);
    const plain = tempFile('web.yml', readFileSync(join(dir, 'secrets/web.yml'), 'utf8').replace(/witness-monitor: .*/, `witness-monitor: ${values.MONITORING_PASSWORD}`));
    assert.throws(() => sh(promtool, ['check', 'web-config', plain]), 'a password instead of its bcrypt hash is refused (the check can fail)');
  });

  test('Kafka: SASL on every listener, SASL_SSL outside, the StandardAuthorizer, super users only the broker and kafka-init', () => {
    const services = composeConfig();
    const kafka = services.kafka!.environment!;
    assert.equal(kafka.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP, 'INTERNAL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,EXTERNAL:SASL_SSL');
    assert.equal(kafka.KAFKA_LISTENER_NAME_EXTERNAL_SASL_ENABLED_MECHANISMS, 'SCRAM-SHA-512', 'no PLAIN from outside');
    assert.equal(kafka.KAFKA_AUTHORIZER_CLASS_NAME, 'org.apache.kafka.metadata.authorizer.StandardAuthorizer');
    assert.equal(kafka.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND, 'false');
    assert.equal(kafka.KAFKA_SUPER_USERS, 'User:broker;User:admin');
    assert.ok(services.kafka!.ports!.every((p) => target(p) === 9094), 'only the SASL_SSL listener is published');
    const init = services['kafka-init']!.command!.join('\n');
    assert.match(init, /--allow-principal User:witness-producer --operation Write --operation Describe --topic "\$\$?WITNESS_TOPIC"/);
    assert.doesNotMatch(init, /User:witness-producer --operation Read/);
    assert.match(init, /--allow-principal User:witness-consumer --operation Write --operation Describe --topic "\$\$?WITNESS_DLQ_TOPIC"/);
    for (const [name, user] of [['consumer', 'witness-consumer'], ['demo-load', 'witness-producer']] as const) {
      assert.equal(services[name]!.environment!.WITNESS_KAFKA_SASL_USERNAME, user, `${name} logs in as ${user}`);
    }
  });
});

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { expr: string; datasource: { uid: string } }[];
}

const dashboardsDir = join(repoRoot, 'grafana/dashboards');
const dashboards = readdirSync(dashboardsDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(dashboardsDir, f), 'utf8')) as Record<string, any> }));

describe('grafana dashboards', () => {
  test('there are the two dashboards, with unique uids and a schemaVersion provisioning accepts', () => {
    assert.deepEqual(dashboards.map((d) => d.json.uid).sort(), ['witness-llm', 'witness-pipeline']);
    for (const { file, json } of dashboards) {
      assert.ok(Number.isInteger(json.schemaVersion) && json.schemaVersion >= 36, `${file}: schemaVersion ${json.schemaVersion}`);
      assert.equal(typeof json.title, 'string');
      assert.ok(!('id' in json) || json.id === null, `${file}: a provisioned dashboard must not carry a database id`);
    }
  });

  test('every panel queries through the datasource variable and every rate uses $__rate_interval', () => {
    for (const { file, json } of dashboards) {
      const variable = (json.templating.list as { name: string; type: string; query: string }[]).find((v) => v.type === 'datasource');
      assert.ok(variable && variable.query === 'prometheus', `${file}: no prometheus datasource variable`);
      const ids = new Set<number>();
      for (const p of json.panels as Panel[]) {
        assert.ok(!ids.has(p.id), `${file}: duplicate panel id ${p.id}`);
        ids.add(p.id);
        assert.ok(p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${file} "${p.title}": bad gridPos`);
        // The alert list queries Grafana's alerting API, not a data source (test/unit/grafana-provisioning.test.ts).
        if (p.type === 'alertlist') continue;
        assert.equal(p.datasource.uid, `\${${variable.name}}`, `${file} "${p.title}": datasource is not the variable`);
        assert.ok(p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${file} "${p.title}": bad gridPos`);
        assert.ok(p.targets.length > 0, `${file} "${p.title}": no query`);
        for (const t of p.targets) {
          assert.equal(t.datasource.uid, `\${${variable.name}}`);
          for (const m of t.expr.matchAll(/(?:rate|increase)\([^[]*\[([^\]]+)\]/g)) {
            assert.equal(m[1], '$__rate_interval', `${file} "${p.title}": ${t.expr}`);
          }
        }
      }
    }
  });
});
