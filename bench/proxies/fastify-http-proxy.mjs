// Reference proxy: fastify 5 + @fastify/http-proxy (undici-based, default options).
// Usage: node bench/proxies/fastify-http-proxy.mjs <listenPort> <upstreamPort>
import Fastify from 'fastify';
import fastifyHttpProxy from '@fastify/http-proxy';
import { exitWhenParentGoes } from '../lib/child.mjs';

const [port, upstreamPort] = process.argv.slice(2, 4).map(Number);
if (!Number.isInteger(port) || !Number.isInteger(upstreamPort)) {
  console.error('usage: node bench/proxies/fastify-http-proxy.mjs <listenPort> <upstreamPort>');
  process.exit(2);
}

const app = Fastify({ logger: false });
await app.register(fastifyHttpProxy, { upstream: `http://127.0.0.1:${upstreamPort}` });
await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`listening ${port}\n`);

exitWhenParentGoes();
process.on('SIGTERM', () => app.close().finally(() => process.exit(0)));
