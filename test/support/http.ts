// Reading a running service from the outside, as Prometheus and a load balancer do:
// a GET that never throws, and samples out of the Prometheus text format.

/** status 0 when nothing answered within the timeout. */
export async function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch {
    return { status: 0, text: '' };
  }
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
