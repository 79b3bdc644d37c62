// Prometheus and Alertmanager of the local stack (Debian's packages), with the
// production rules whose `for:` is divided so alerts fire in seconds.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ProcessSpec } from './process.js';
import { repoRoot, service, httpOk, fill, type StackConfig, type Toolchain, type Service } from './service.js';

export function prometheusService(cfg: StackConfig, tools: Toolchain): Service {
  const dir = join(cfg.runDir, 'prometheus');
  const config = join(dir, 'prometheus.yml');
  const spec: ProcessSpec = {
    name: 'prometheus',
    command: tools.prometheus,
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${cfg.prometheusPort}`,
      '--storage.tsdb.retention.time=2d',
      '--web.enable-lifecycle',
    ],
    logFile: join(cfg.runDir, 'logs', 'prometheus.log'),
    pidFile: join(cfg.runDir, 'pids', 'prometheus.pid'),
    ports: [cfg.prometheusPort],
  };
  const url = `http://127.0.0.1:${cfg.prometheusPort}`;
  const prepare = async () => {
    writePrometheusFiles(cfg);
    writeFileSync(config, prometheusConfig(cfg));
  };
  return service('prometheus', url, spec, () => httpOk(`${url}/-/ready`), prepare);
}

/** Where the local Prometheus reads its rules and its serving-node (producer) targets. */
export function prometheusPaths(cfg: StackConfig): { rulesDir: string; producerTargets: string } {
  const dir = join(cfg.runDir, 'prometheus');
  return { rulesDir: join(dir, 'rules'), producerTargets: join(dir, 'producers.json') };
}

/** The local Prometheus config: local/prometheus.yml with this stack's ports and paths filled in. */
export function prometheusConfig(cfg: StackConfig): string {
  const template = readFileSync(join(repoRoot, 'local/prometheus.yml'), 'utf8');
  const { rulesDir, producerTargets } = prometheusPaths(cfg);
  return fill(template, {
    METRICS_PORT: cfg.metricsPort,
    PROMETHEUS_PORT: cfg.prometheusPort,
    ALERTMANAGER_PORT: cfg.alertmanagerPort,
    RULES_DIR: rulesDir,
    PRODUCER_TARGETS: producerTargets,
  });
}

/** How much shorter every `for:` is locally: 5m -> 15s, so a test sees an alert fire within a minute. */
export const LOCAL_FOR_DIVISOR = 20;

/** A rules file with every `for:` divided by LOCAL_FOR_DIVISOR; expressions and thresholds unchanged. */
export function localRules(text: string): string {
  const seconds = { s: 1, m: 60, h: 3600 } as const;
  return text.replace(/^(\s+for: )(\d+)([smh])[ \t]*$/gm, (_, lead: string, n: string, unit: keyof typeof seconds) => {
    return `${lead}${Math.max(1, Math.ceil((Number(n) * seconds[unit]) / LOCAL_FOR_DIVISOR))}s`;
  });
}

/** The local copies of prometheus/rules/*.yml, and an empty producer target list unless one exists. */
function writePrometheusFiles(cfg: StackConfig): void {
  const { rulesDir, producerTargets } = prometheusPaths(cfg);
  mkdirSync(rulesDir, { recursive: true });
  for (const f of readdirSync(join(repoRoot, 'prometheus/rules')).filter((f) => f.endsWith('.yml'))) {
    writeFileSync(join(rulesDir, f), localRules(readFileSync(join(repoRoot, 'prometheus/rules', f), 'utf8')));
  }
  if (!existsSync(producerTargets)) writeFileSync(producerTargets, '[]\n');
}

export interface AlertmanagerOptions {
  /** Where Alertmanager posts notifications (its webhook receiver); without one, alerts are only shown (web UI, amtool). */
  webhookUrl?: string;
}

/**
 * Alertmanager (Debian's prometheus-alertmanager), which the local Prometheus sends
 * its alerts to. Grouping waits are seconds here, minutes in prometheus/alertmanager.yml.
 */
export function alertmanagerService(cfg: StackConfig, tools: Toolchain, { webhookUrl }: AlertmanagerOptions = {}): Service {
  const dir = join(cfg.runDir, 'alertmanager');
  const config = join(dir, 'alertmanager.yml');
  const spec: ProcessSpec = {
    name: 'alertmanager',
    command: tools.alertmanager ?? 'prometheus-alertmanager',
    args: [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${cfg.alertmanagerPort}`,
      // No cluster gossip: it would listen on 9094 for every instance on the machine.
      '--cluster.listen-address=',
    ],
    logFile: join(cfg.runDir, 'logs', 'alertmanager.log'),
    pidFile: join(cfg.runDir, 'pids', 'alertmanager.pid'),
    ports: [cfg.alertmanagerPort],
  };
  const url = `http://127.0.0.1:${cfg.alertmanagerPort}`;
  const receiver = webhookUrl ? `    webhook_configs:\n      - url: ${JSON.stringify(webhookUrl)}\n        send_resolved: true\n` : '';
  const prepare = async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      config,
      `route:\n  receiver: local\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 5s\n  repeat_interval: 1h\nreceivers:\n  - name: local\n${receiver}`,
    );
  };
  return service('alertmanager', url, spec, () => httpOk(`${url}/-/ready`), prepare);
}
