// Reference proxy: node-http-proxy (http-proxy 1.18) with a keep-alive http.Agent.
// Usage: node bench/proxies/http-proxy.mjs <listenPort> <upstreamPort>
import http from 'node:http';
import httpProxy from 'http-proxy';
import { exitWhenParentGoes } from '../lib/child.mjs';

const [port, upstreamPort] = process.argv.slice(2, 4).map(Number);
if (!Number.isInteger(port) || !Number.isInteger(upstreamPort)) {
  console.error('usage: node bench/proxies/http-proxy.mjs <listenPort> <upstreamPort>');
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
const proxy = httpProxy.createProxyServer({
  target: `http://127.0.0.1:${upstreamPort}`,
  agent,
});
proxy.on('error', (err, req, res) => {
  if (res && typeof res.writeHead === 'function' && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
  }
  res?.end?.('bad gateway');
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));

exitWhenParentGoes();
process.on('SIGTERM', () => process.exit(0));
