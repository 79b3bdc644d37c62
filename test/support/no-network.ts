// Loaded with --import by `npm run test:unit` only: a unit test needs no service,
// so any socket it opens (a TCP connect, a listen, a DNS lookup, fetch) is a
// mistake that fails here, loudly, instead of passing on a developer's machine
// where a broker happens to run. Child-process stdio and the test runner's IPC
// are pipes created without Socket#connect, so they are not affected.
import dns from 'node:dns';
import net from 'node:net';

function refuse(what: string): never {
  throw new Error(`unit tests open no sockets: ${what} (move this test to an integration/ folder)`);
}

const describe = (arg: unknown) => (typeof arg === 'object' && arg !== null ? JSON.stringify(arg) : String(arg));

net.Socket.prototype.connect = function connect(...args: unknown[]) {
  refuse(`connect ${describe(args[0])}${args[1] === undefined || typeof args[1] === 'function' ? '' : `:${describe(args[1])}`}`);
} as typeof net.Socket.prototype.connect;
net.Server.prototype.listen = function listen(...args: unknown[]) {
  refuse(`listen ${describe(args[0])}`);
} as typeof net.Server.prototype.listen;
dns.lookup = ((host: string) => refuse(`dns lookup ${host}`)) as unknown as typeof dns.lookup;
globalThis.fetch = ((input: unknown) => refuse(`fetch ${String(input)}`)) as typeof fetch;
