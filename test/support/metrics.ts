// Reading metrics in tests, in one place: from a prom-client registry in this
// process (one value, or every sample), or from a service's /metrics text.
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

/** Every sample of the registry as `name{label="value"}` → value. */
export async function samples(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values as { value: number; labels: Record<string, string | number>; metricName?: string }[]) {
      const labels = Object.entries(v.labels)
        .map(([k, x]) => `${k}="${x}"`)
        .join(',');
      out.set(`${v.metricName ?? metric.name}${labels ? `{${labels}}` : ''}`, v.value);
    }
  }
  return out;
}

/** A sample's value in Prometheus text (the sum over the label sets that contain every `labels` pair). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name} `) || line.startsWith(`${name}{`))) continue;
    if (wanted.length > 0 && !wanted.every((pair) => line.slice(0, line.lastIndexOf(' ')).includes(pair))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
