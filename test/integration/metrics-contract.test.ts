// The contract between the code and the operator's side: every metric and label the
// dashboards, recording rules and alerts use is exported by the running consumer or
// by the producer SDK (read from their real /metrics output), and the local
// Prometheus, scraping a real consumer, computes the LLM error rate that was produced.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { createWitnessProducer, type WitnessProducer } from '@witnesslog/producer';
import { METRICS } from '@witnesslog/consumer';
import { createWitnessEntry, withError, type ModelSize } from '@witnesslog/schemas';
import { consumerService, loadToolchain, prometheusService, repoRoot, stackConfig, type Service } from '../../local/services.js';
import { brokers, qdrantUrl, uniqueName } from '../support/env.js';
import { freePort } from '../support/net.js';
import { deleteTopics } from '../support/topic.js';

const DIM = 8;
// Per model, one entry in `errorEvery` fails: the rates Prometheus must find.
const MODELS: Array<{ model: ModelSize; errorEvery: number }> = [
  { model: 'tiny', errorEvery: 0 },
  { model: 'small', errorEvery: 4 },
  { model: 'large', errorEvery: 2 },
];
const expectedRatio = (errorEvery: number) => (errorEvery === 0 ? 0 : 1 / errorEvery);
const overallRatio = MODELS.reduce((sum, m) => sum + expectedRatio(m.errorEvery), 0) / MODELS.length;

interface Use {
  metric: string;
  /** Label names matched in the selector. */
  labels: string[];
  /** Label names the expression groups by: at least one of its metrics must have each. */
  grouping: string[];
  where: string;
}

/** Every `expr` string in a parsed YAML/JSON document, with where it was found. */
function exprs(doc: unknown, where: string, out: Array<{ expr: string; where: string }> = []) {
  if (Array.isArray(doc)) doc.forEach((d) => exprs(d, where, out));
  else if (doc && typeof doc === 'object') {
    for (const [k, v] of Object.entries(doc)) {
      if (k === 'expr' && typeof v === 'string') out.push({ expr: v, where });
      else exprs(v, where, out);
    }
  }
  return out;
}

/** The witness_ metrics an expression selects, each with the label names it matches or groups by. */
function uses(expr: string, where: string): Use[] {
  const grouping = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()));
  return [...expr.matchAll(/\b(witness_[a-z0-9_]+)\s*(?:\{([^}]*)\})?/g)].map((m) => ({
    metric: m[1]!.replace(/_(bucket|sum|count)$/, ''),
    labels: [...(m[2] ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!),
    grouping: grouping.filter((l) => l !== '' && l !== 'le'),
    where: `${where}: ${expr.replace(/\s+/g, ' ')}`,
  }));
}

function operatorUses(): Use[] {
  const docs: Array<{ doc: unknown; where: string }> = [];
  for (const f of readdirSync(join(repoRoot, 'grafana/dashboards'))) {
    docs.push({ doc: JSON.parse(readFileSync(join(repoRoot, 'grafana/dashboards', f), 'utf8')), where: `grafana/dashboards/${f}` });
  }
  for (const f of ['prometheus/rules/witness.rules.yml']) {
    docs.push({ doc: parseYaml(readFileSync(join(repoRoot, f), 'utf8')), where: f });
  }
  return docs.flatMap(({ doc, where }) => exprs(doc, where)).flatMap(({ expr, where }) => uses(expr, where));
}

/** Metric name → label names seen on its samples, from Prometheus text exposition. */
function exposition(text: string): Map<string, Set<string>> {
  const metrics = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^# TYPE (\S+) /gm)) metrics.set(m[1]!, new Set());
  for (const m of text.matchAll(/^([a-z_:][a-z0-9_:]*)\{([^}]*)\}/gm)) {
    const name = m[1]!.replace(/_(bucket|sum|count)$/, '');
    for (const l of m[2]!.matchAll(/(\w+)="/g)) metrics.get(name)?.add(l[1]!);
  }
  return metrics;
}

describe('metrics used by dashboards, rules and alerts', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'witness-metrics-'));
  const topic = uniqueName('metrics-contract');
  const collection = uniqueName('metrics_contract').replace(/-/g, '_');
  let consumer: Service;
  let prometheus: Service;
  let producer: WitnessProducer;
  let producerRegistry: Registry;
  let sending: NodeJS.Timeout | undefined;

  before(async () => {
    const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: `${topic}.dlq` }], waitForLeaders: true });
    await admin.disconnect();

    // The local stack's own Prometheus and consumer definitions, on ports of this test.
    const cfg = stackConfig({ ...process.env, METRICS_PORT: String(await freePort()), PROMETHEUS_PORT: String(await freePort()), WITNESSLOG_RUN_DIR: runDir });
    const tools = loadToolchain();
    consumer = consumerService(cfg, tools, {
      WITNESS_KAFKA_BROKERS: brokers.join(','),
      WITNESS_QDRANT_URL: qdrantUrl,
      WITNESS_TOPIC: topic,
      WITNESS_DLQ_TOPIC: `${topic}.dlq`,
      WITNESS_GROUP_ID: `${topic}-group`,
      WITNESS_COLLECTION: collection,
      WITNESS_EMBEDDING_DIM: String(DIM),
      WITNESS_BATCH_MAX_WAIT_MS: '200',
      LOG_LEVEL: 'warn',
    });
    prometheus = prometheusService(cfg, tools);
    await Promise.all([consumer.start(), prometheus.start()]);

    producerRegistry = new Registry();
    producer = createWitnessProducer({ brokers, topic, embeddingDim: DIM, registry: producerRegistry, lingerMs: 20 });
    // A steady stream, so every rate window sees the same mix: per model, every
    // errorEvery-th entry fails.
    let n = 0;
    sending = setInterval(() => {
      for (let i = 0; i < 10; i++, n++) {
        const { model, errorEvery } = MODELS[n % MODELS.length]!;
        const k = Math.floor(n / MODELS.length);
        let entry = createWitnessEntry(`session-${n % 7}`, Array.from({ length: DIM }, (_, j) => Math.cos(n + j)), {
          model,
          context_size: 1024,
          temperature: 0.7,
          top_p: 0.9,
          confidence: 0.8,
          model_probs: [0.25, 0.25, 0.25, 0.25],
        });
        if (errorEvery > 0 && k % errorEvery === 0) entry = withError(entry, { code: 'TIMEOUT', message: 'deadline exceeded' });
        producer.record(entry);
      }
    }, 100);
  });

  after(async () => {
    clearInterval(sending);
    await producer?.close();
    await Promise.all([consumer?.stop(), prometheus?.stop()]);
    await deleteTopics({ brokers }, [topic, `${topic}.dlq`]);
    await fetch(`${qdrantUrl}/collections/${collection}`, { method: 'DELETE' }).catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
  });

  test('every metric and label they use is exported by the running consumer or the producer SDK', async () => {
    // Wait for a flush, so labelled series (outcome, model, component) have samples.
    let consumerText = '';
    for (let i = 0; i < 100 && !/^witness_entries_upserted_total [1-9]/m.test(consumerText); i++) {
      await new Promise((r) => setTimeout(r, 200));
      consumerText = await fetch(consumer.address).then((r) => r.text());
    }
    const exported = new Map([...exposition(consumerText), ...exposition(await producerRegistry.metrics())]);
    // A labelled counter without samples yet (no Qdrant error so far) shows no labels:
    // for those, the label names the consumer's metrics table declares.
    for (const { name, labelNames } of Object.values(METRICS)) {
      const seen = exported.get(name);
      if (seen?.size === 0) for (const l of labelNames) seen.add(l);
    }
    const used = operatorUses();
    assert.ok(used.length >= 30, `found only ${used.length} metric uses`);
    const problems: string[] = [];
    for (const u of used) {
      const labels = exported.get(u.metric);
      if (!labels) problems.push(`${u.where}: ${u.metric} is not exported`);
      for (const l of u.labels) if (labels && !labels.has(l)) problems.push(`${u.where}: ${u.metric} has no label ${l}`);
      const siblings = used.filter((o) => o.where === u.where);
      for (const l of u.grouping) {
        if (!siblings.some((o) => exported.get(o.metric)?.has(l))) problems.push(`${u.where}: grouped by ${l}, which none of its metrics has`);
      }
    }
    assert.deepEqual([...new Set(problems)], []);
  });

  test('the check can fail: a made-up metric is reported', () => {
    const [fake] = uses('sum by (kind) (rate(witness_made_up_total{model="x"}[5m]))', 'test');
    assert.deepEqual({ ...fake, where: undefined }, { metric: 'witness_made_up_total', labels: ['model'], grouping: ['kind'], where: undefined });
    const exported = exposition('# TYPE witness_llm_requests_total counter\nwitness_llm_requests_total{outcome="error",model="tiny"} 3\n');
    assert.deepEqual([...exported.get('witness_llm_requests_total')!], ['outcome', 'model']);
    assert.ok(!exported.has(fake!.metric));
  });

  test('Prometheus scrapes the consumer and the error-rate rules give the rate that was produced', { timeout: 120_000 }, async () => {
    const query = async (q: string) => {
      const body = (await fetch(`${prometheus.address}/api/v1/query?query=${encodeURIComponent(q)}`).then((r) => r.json())) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return body.data.result;
    };
    // rate() needs two scrapes in its window and the rule an evaluation after them.
    let overall: number | undefined;
    let byModel = new Map<string, number>();
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const [ratio] = await query('witness:llm_error_ratio:rate1m');
      byModel = new Map((await query('witness:llm_error_ratio_by_model:rate5m')).map((r) => [r.metric.model!, Number(r.value[1])]));
      if (ratio && byModel.size === MODELS.length) {
        overall = Number(ratio.value[1]);
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const [up] = await query('up{job="witness-consumer"}');
    assert.equal(up?.value[1], '1', 'Prometheus scrapes the consumer');
    assert.ok(overall !== undefined, 'witness:llm_error_ratio:rate1m has a value');
    // Within a window the mix is exact up to the entries of one scrape at either edge.
    assert.ok(Math.abs(overall - overallRatio) < 0.03, `overall error ratio ${overall}, produced ${overallRatio.toFixed(3)}`);
    for (const { model, errorEvery } of MODELS) {
      const got = byModel.get(model)!;
      assert.ok(Math.abs(got - expectedRatio(errorEvery)) < 0.05, `${model}: error ratio ${got}, produced ${expectedRatio(errorEvery)}`);
    }
  });
});
