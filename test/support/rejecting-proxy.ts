// A fault proxy: Qdrant refusing some points, as it does a point it cannot take.
/**
 * A loopback proxy in front of Qdrant that answers 400 to any upsert holding a
 * point whose session_id is `rejectSession`, as Qdrant does for a point it
 * refuses, and forwards everything else unchanged.
 */
export async function rejectingProxy(target: string, rejectSession: string): Promise<{ url: string; upserts: number; close(): Promise<void> }> {
  const { createServer: createHttpServer } = await import('node:http');
  const state = { upserts: 0 };
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'PUT' && /\/points$/.test((req.url ?? '').split('?')[0]!)) {
        state.upserts += 1;
        const points = (JSON.parse(body.toString('utf8')) as { points: Array<{ payload?: { session_id?: string } }> }).points;
        if (points.some((p) => p.payload?.session_id === rejectSession)) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: { error: 'Format error in JSON body: rejected by the test proxy' }, time: 0 }));
          return;
        }
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
      fetch(`${target}${req.url}`, { method: req.method, headers, ...(body.length > 0 ? { body } : {}) }).then(
        async (upstream) => {
          const text = Buffer.from(await upstream.arrayBuffer());
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
          res.end(text);
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get upserts() {
      return state.upserts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
