// The operator's side of the product, checked without a Docker engine:
// docker-compose.yml validates, Prometheus and Alertmanager accept their configs and
// rules (with unit tests for every alert), and the Grafana dashboards are well-formed
// provisioning files. test/alerting.test.ts routes the alerts through real processes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { prometheusConfig, repoRoot, stackConfig } from '../../local/services.js';

const promtool = process.env.WITNESSLOG_PROMTOOL ?? 'promtool';
const amtool = process.env.WITNESSLOG_AMTOOL ?? 'amtool';
const dockerCompose = process.env.WITNESSLOG_DOCKER_COMPOSE ?? 'docker-compose';
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', stdio: 'pipe' });
const tempFile = (name: string, content: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'witness-obs-')), name);
  writeFileSync(file, content);
  return file;
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
    const env = { ...process.env, KAFKA_EXTERNAL_HOST: 'witness-kafka.example.net', KAFKA_EXTERNAL_PORT: '19094' };
    const text = execFileSync(dockerCompose, ['-f', 'docker-compose.yml', 'config'], { cwd: repoRoot, encoding: 'utf8', env });
    const kafka = (parseYaml(text) as { services: { kafka: { environment: Record<string, string>; ports: Array<{ published: number | string; target: number }> } } }).services.kafka;
    assert.match(kafka.environment.KAFKA_ADVERTISED_LISTENERS!, /(^|,)PLAINTEXT:\/\/kafka:9092(,|$)/, 'the compose network keeps its listener');
    assert.match(kafka.environment.KAFKA_ADVERTISED_LISTENERS!, /(^|,)EXTERNAL:\/\/witness-kafka\.example\.net:19094(,|$)/);
    assert.match(kafka.environment.KAFKA_LISTENERS!, /EXTERNAL:\/\/:9094/);
    assert.match(kafka.environment.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP!, /EXTERNAL:PLAINTEXT/);
    assert.ok(kafka.ports.some((p) => Number(p.published) === 19094 && p.target === 9094), JSON.stringify(kafka.ports));
  });

  test('a broken compose file is rejected (the check can fail)', () => {
    const broken = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8').replace('condition: service_healthy', 'condition: when_it_feels_like_it');
    assert.throws(() => sh(dockerCompose, ['-f', tempFile('docker-compose.yml', broken), 'config', '-q']));
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
