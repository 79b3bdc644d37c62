// The page, tried as an on-call engineer would meet it: against real processes.
// A real consumer runs and is then stopped (the pipeline is down), two serving
// nodes record through the producer SDK in their own processes and serve its
// /metrics, one of them fails half of its requests; the local Prometheus scrapes
// them and evaluates prometheus/rules/*.yml (every `for:` divided by 20, see
// local/prometheus.yml), a real Alertmanager routes the alerts to a webhook
// receiver in this test. The page must fire from the fleet's own metrics while the
// consumer is gone, and so must the pipeline-down alert.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { parse as parseYaml } from 'yaml';
import { startProcess, stopProcess, waitFor, type ProcessSpec } from '../../local/process.js';
import {
  alertmanagerService,
  consumerService,
  loadToolchain,
  prometheusPaths,
  prometheusService,
  repoRoot,
  stackConfig,
  type Service,
  type StackConfig,
} from '../../local/services.js';
import { brokers, qdrantUrl, uniqueName } from '../support/env.js';
import { freePort } from '../support/net.js';
import { deleteTopics } from '../support/topic.js';

interface Notification {
  status: 'firing' | 'resolved';
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  annotations?: Record<string, string>;
}

const rulesFile = join(repoRoot, 'prometheus/rules/witness.rules.yml');
const rules = () => (parseYaml(readFileSync(rulesFile, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

describe('every alert is ready for the person it pages', () => {
  test('each has for:, a severity, a summary and a runbook that exists; no rule is defined twice', () => {
    const all = rules();
    const names = all.map((r) => r.alert ?? r.record);
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], 'a rule defined twice');
    const alerts = all.filter((r) => r.alert);
    assert.ok(alerts.length >= 9, `only ${alerts.length} alerts`);
    for (const a of alerts) {
      assert.match(a.for ?? '', /^\d+[smh]$/, `${a.alert}: no for:`);
      assert.ok(a.annotations?.summary, `${a.alert}: no summary`);
      const runbook = a.annotations?.runbook_url ?? '';
      assert.match(runbook, /^docs\/runbooks\/[\w-]+\.md$/, `${a.alert}: runbook_url ${runbook}`);
      assert.ok(existsSync(join(repoRoot, runbook)), `${a.alert}: ${runbook} does not exist`);
    }
    // One alerting path: Grafana draws dashboards only.
    assert.ok(!existsSync(join(repoRoot, 'grafana/provisioning/alerting')), 'Grafana-managed alerts would duplicate the Prometheus rules');
  });

  test('the LLM error-rate page reads the serving nodes, has a traffic guard, and its runbook starts with the commands to run', () => {
    const page = rules().find((r) => r.alert === 'WitnessLLMErrorRateHigh')!;
    const recorded = new Map(rules().filter((r) => r.record).map((r) => [r.record!, r.expr]));
    const source = page.expr.replace(/witness:[\w:]+/g, (name) => recorded.get(name) ?? name);
    assert.match(source, /witness_producer_witnessed_requests_total/);
    assert.doesNotMatch(source, /witness_llm_requests_total/, 'the consumer-side figure stops with the pipeline');
    assert.match(page.expr, /witness:fleet_requests:rate5m >= 1/, 'minimum request rate');
    const runbook = readFileSync(join(repoRoot, 'docs/runbooks/llm-error-rate.md'), 'utf8');
    for (const command of ['witness stats --since 15m --errors', 'witness search --like']) assert.ok(runbook.includes(command), command);
    assert.match(runbook, /fleet problem or a pipeline problem/i);
  });
});

describe('the page and the pipeline-down alert fire through a real Alertmanager while the consumer is down', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'witness-alerting-'));
  const topic = uniqueName('alerting');
  const collection = uniqueName('alerting').replace(/-/g, '_');
  const notifications: Notification[] = [];
  let webhook: Server;
  let cfg: StackConfig;
  let prometheus: Service;
  let alertmanager: Service;
  let consumer: Service;
  const nodes: ProcessSpec[] = [];

  const query = async (q: string) => {
    const body = (await fetch(`${prometheus.address}/api/v1/query?query=${encodeURIComponent(q)}`).then((r) => r.json())) as {
      status: string;
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    assert.equal(body.status, 'success', q);
    return body.data.result;
  };
  const until = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await probe();
      if (got !== undefined) return got;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  /** A serving node: producer/demo/demo-load.ts records through the SDK and serves its /metrics. */
  const servingNode = (name: string, port: number, errorRate: number): ProcessSpec => ({
    name,
    command: process.execPath,
    args: ['--conditions=witnesslog-src', '--import', 'tsx', join(repoRoot, 'producer/demo/demo-load.ts')],
    cwd: repoRoot,
    env: {
      ...process.env,
      WITNESS_KAFKA_BROKERS: brokers.join(','),
      WITNESS_TOPIC: topic,
      WITNESS_EMBEDDING_DIM: '8',
      DEMO_RATE: '100',
      DEMO_ERROR_RATE: String(errorRate),
      DEMO_METRICS_PORT: String(port),
    },
    logFile: join(runDir, 'logs', `${name}.log`),
    pidFile: join(runDir, 'pids', `${name}.pid`),
    ports: [port],
  });

  before(async () => {
    const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: `${topic}.dlq` }], waitForLeaders: true });
    await admin.disconnect();

    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        notifications.push(JSON.parse(body) as Notification);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/page`;

    cfg = stackConfig({
      ...process.env,
      WITNESSLOG_RUN_DIR: runDir,
      METRICS_PORT: String(await freePort()),
      PROMETHEUS_PORT: String(await freePort()),
      ALERTMANAGER_PORT: String(await freePort()),
    });
    const tools = loadToolchain();
    const [healthyPort, failingPort] = [await freePort(), await freePort()];
    nodes.push(servingNode('node-healthy', healthyPort, 0), servingNode('node-failing', failingPort, 0.5));
    // Both nodes are listed from the start, as in prometheus/targets/producers.json;
    // the failing one only starts serving once the fleet is seen healthy.
    const { producerTargets } = prometheusPaths(cfg);
    prometheus = prometheusService(cfg, tools);
    alertmanager = alertmanagerService(cfg, tools, { webhookUrl });
    consumer = consumerService(cfg, tools, {
      WITNESS_QDRANT_URL: qdrantUrl,
      WITNESS_TOPIC: topic,
      WITNESS_DLQ_TOPIC: `${topic}.dlq`,
      WITNESS_GROUP_ID: `${topic}-group`,
      WITNESS_COLLECTION: collection,
      WITNESS_EMBEDDING_DIM: '8',
      LOG_LEVEL: 'warn',
    });
    await Promise.all([alertmanager.start(), consumer.start()]);
    await prometheus.start();
    writeFileSync(producerTargets, JSON.stringify([{ targets: [`127.0.0.1:${healthyPort}`, `127.0.0.1:${failingPort}`], labels: { fleet: 'test' } }]));
    const pid = await startProcess(nodes[0]!);
    await waitFor('node-healthy', async () => (await fetch(`http://127.0.0.1:${healthyPort}/metrics`)).ok, { pid, logFile: nodes[0]!.logFile });
  });

  after(async () => {
    for (const node of nodes) await stopProcess(node).catch(() => {});
    await Promise.all([consumer?.stop(), prometheus?.stop(), alertmanager?.stop()].map((p) => p?.catch(() => {})));
    await new Promise((r) => webhook?.close(r));
    await deleteTopics({ brokers }, [topic, `${topic}.dlq`]);
    await fetch(`${qdrantUrl}/collections/${collection}`, { method: 'DELETE' }).catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
  });

  test('a healthy fleet and a running consumer page nobody; then the consumer stops and one node fails half its requests', { timeout: 150_000 }, async () => {
    const started = Date.now();
    // Healthy: the fleet's rate is measured (above the traffic guard), its error ratio is 0.
    await until('the healthy fleet and the consumer scraped', async () => {
      const [ratio] = await query('witness:fleet_error_ratio:rate5m');
      const [rate] = await query('witness:fleet_requests:rate5m >= 1');
      const [up] = await query('up{job="witness-consumer"} == 1');
      return ratio && rate && up ? Number(ratio.value[1]) : undefined;
    }, 45_000).then((ratio) => assert.equal(ratio, 0));
    assert.deepEqual(await query('ALERTS{alertname=~"WitnessLLMErrorRateHigh|WitnessConsumerDown"}'), []);

    // The pipeline goes down, and the failing node starts serving at the same moment.
    await consumer.stop();
    const pid = await startProcess(nodes[1]!);
    await waitFor('node-failing', async () => (await fetch(`http://127.0.0.1:${nodes[1]!.ports[0]}/metrics`)).ok, { pid, logFile: nodes[1]!.logFile });

    // The page's own expression, evaluated by Prometheus over the scraped nodes, crosses 5%…
    const page = rules().find((r) => r.alert === 'WitnessLLMErrorRateHigh')!;
    const crossed = await until('the page expression above the threshold', async () => {
      const [r] = await query(page.expr);
      return r ? Number(r.value[1]) : undefined;
    }, 40_000);
    assert.ok(crossed > 0.05 && crossed < 0.5, `error ratio ${crossed}`);
    // …while the consumer-side figure has nothing new to say: the consumer is gone.
    assert.deepEqual(await query('up{job="witness-consumer"} == 1'), []);

    // Both alerts reach the webhook through Alertmanager.
    const firing = (name: string) => notifications.flatMap((n) => n.alerts).find((a) => a.labels.alertname === name && a.status === 'firing');
    const pageAlert = await until('WitnessLLMErrorRateHigh at the webhook', async () => firing('WitnessLLMErrorRateHigh'), 60_000);
    const downAlert = await until('WitnessConsumerDown at the webhook', async () => firing('WitnessConsumerDown'), 20_000);
    assert.equal(pageAlert.labels.severity, 'page');
    assert.match(pageAlert.annotations.summary!, /^LLM error rate \d+(\.\d+)?% across the serving fleet/);
    assert.equal(pageAlert.annotations.runbook_url, 'docs/runbooks/llm-error-rate.md');
    assert.equal(downAlert.labels.severity, 'page');
    assert.equal(downAlert.labels.job, 'witness-consumer');
    process.stderr.write(`# alerting: both alerts at the webhook ${((Date.now() - started) / 1000).toFixed(0)} s after the test started\n`);
  });
});
