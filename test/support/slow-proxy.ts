// A fault-injecting TCP proxy: every byte the upstream sends back reaches the client
// `delayMs` later, in order. In front of Qdrant that is a slow server (each answer
// late, the request itself on time), with keep-alive connections left intact, which
// is what an overloaded Qdrant looks like to the consumer. The delay can change at
// any time; the connections count tells how many the client opened.
import { createConnection, createServer, type Socket } from 'node:net';

export interface SlowProxy {
  url: string;
  delayMs: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startSlowProxy(target: { host: string; port: number }, delayMs: number): Promise<SlowProxy> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const state = { delayMs };
  const server = createServer((client) => {
    connections += 1;
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    // Release times never go backwards, so chunks keep their order when the delay shrinks.
    let releaseAt = 0;
    upstream.on('data', (chunk: Buffer) => {
      releaseAt = Math.max(Date.now() + state.delayMs, releaseAt);
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk);
      }, releaseAt - Date.now());
    });
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // The upstream closing is passed on only after the delayed bytes went out.
    upstream.on('close', () => setTimeout(end, Math.max(0, releaseAt - Date.now()) + 1));
    upstream.on('error', end);
    client.on('close', end);
    client.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
