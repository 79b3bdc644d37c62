// Reading a running service from the outside, as Prometheus and a load balancer do:
// a GET that never throws (samples out of its /metrics text: metrics.ts).

/** status 0 when nothing answered within the timeout. */
export async function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch {
    return { status: 0, text: '' };
  }
}
