// Reading a metric from a prom-client registry in tests (Prometheus text: sample in http.ts).
import type { Registry } from 'prom-client';

/** The value of a metric in the registry: the sum over its series matching `labels`. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  // Histogram series (_count, _sum, _bucket) belong to the metric without the suffix.
  const base = registry.getSingleMetric(name) ? name : name.replace(/_(count|sum|bucket)$/, '');
  const metric = registry.getSingleMetric(base);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => ((v as { metricName?: string }).metricName ?? base) === name)
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
