// Grafana as on-call meets it (issue 24): every data source a dashboard names is
// provisioned, the alerting data source is there, Grafana lists the Prometheus
// rules, each dashboard opens on its alerts, and the error-rate panels draw the
// page's own threshold. Read from the files compose mounts, so a rename on either
// side fails here rather than as an empty panel on the night it matters.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';

const root = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Datasource {
  name: string;
  uid: string;
  type: string;
  url: string;
  jsonData?: Record<string, unknown>;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: { datasource?: { uid?: string } }[];
  options?: Record<string, unknown>;
  fieldConfig?: { defaults?: { thresholds?: { steps: { value: number | null }[] } } };
}

const dsDir = 'grafana/provisioning/datasources';
const datasources = readdirSync(join(root, dsDir)).flatMap(
  (f) => (parseYaml(read(join(dsDir, f))) as { datasources: Datasource[] }).datasources,
);
const dashboards = readdirSync(join(root, 'grafana/dashboards')).map((f) => ({
  file: f,
  json: JSON.parse(read(join('grafana/dashboards', f))) as { panels: Panel[]; templating: { list: { name: string; type: string; query: string }[] } },
}));
const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, { ports?: string[]; expose?: string[]; command?: string[] }> };

describe('grafana provisioning', () => {
  test('every data source uid a panel or query names exists, and every datasource variable has a provisioned type', () => {
    const uids = new Set(datasources.map((d) => d.uid));
    const types = new Set(datasources.map((d) => d.type));
    assert.equal(uids.size, datasources.length, 'data source uids are unique');
    for (const { file, json } of dashboards) {
      const variables = new Set(json.templating.list.filter((v) => v.type === 'datasource').map((v) => `\${${v.name}}`));
      for (const v of json.templating.list.filter((x) => x.type === 'datasource')) assert.ok(types.has(v.query), `${file}: variable ${v.name} wants a ${v.query} data source`);
      for (const p of json.panels) {
        for (const uid of [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]) {
          if (uid === undefined) continue;
          assert.ok(variables.has(uid) || uids.has(uid), `${file} "${p.title}": data source ${uid} is not provisioned`);
        }
      }
    }
  });

  test('the alerting data sources: Alertmanager provisioned, Prometheus rules shown by Grafana and silenced through it', () => {
    const am = datasources.find((d) => d.type === 'alertmanager');
    assert.ok(am, 'an Alertmanager data source');
    assert.equal(am.jsonData?.implementation, 'prometheus');
    // The URL points at the compose service that runs Alertmanager, on the port it listens on.
    const url = new URL(am.url);
    const service = compose.services[url.hostname];
    assert.ok(service, `compose has a service ${url.hostname}`);
    const prom = datasources.find((d) => d.type === 'prometheus');
    assert.ok(prom);
    assert.equal(prom.jsonData?.manageAlerts, true, 'Grafana lists the Prometheus rules');
    assert.equal(prom.jsonData?.alertmanagerUid, am.uid);
    assert.ok(compose.services[new URL(prom.url).hostname], 'the Prometheus data source points at a compose service');
  });

  test('each dashboard opens on an alert list of the witnesslog rules, filtered to a provisioned data source', () => {
    const names = new Set(datasources.map((d) => d.name));
    const rules = read('prometheus/rules/witness.rules.yml');
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
    assert.ok(alerts.length > 5);
    for (const { file, json } of dashboards) {
      const list = json.panels.find((p) => p.type === 'alertlist');
      assert.ok(list, `${file}: an alert-list panel`);
      assert.ok(names.has(String(list.options?.datasource)), `${file}: the alert list filters on data source ${String(list.options?.datasource)}`);
      const filter = String(list.options?.alertName ?? '');
      for (const a of alerts) assert.ok(a.includes(filter), `${file}: the alert list's name filter "${filter}" hides ${a}`);
      assert.deepEqual((list as { gridPos?: { y: number } }).gridPos?.y, 0, `${file}: the alerts come first`);
    }
  });

  test("the error-rate panels draw the page's threshold, read from the rule", () => {
    const rules = read('prometheus/rules/witness.rules.yml');
    const m = /alert: WitnessLLMErrorRateHigh\s+expr: witness:fleet_error_ratio:rate5m > ([0-9.]+)/.exec(rules);
    assert.ok(m, 'the page compares the fleet error ratio with a number');
    const threshold = Number(m[1]);
    const llm = dashboards.find((d) => d.file === 'llm-requests.json');
    assert.ok(llm);
    const panels = llm.json.panels.filter((p) => /error rate/i.test(p.title));
    assert.ok(panels.length >= 2);
    for (const p of panels) {
      const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? [];
      assert.ok(steps.some((s) => s.value === threshold), `"${p.title}": a threshold step at ${threshold}`);
    }
  });
});
