// Upstream for the proxy benchmarks: answers every request with 200 "hello world"
// over keep-alive connections, on each port given. After SIGUSR2 it answers 503 to
// everything instead, so the resilience benchmark can fail an endpoint mid-run
// without closing its connections.
// Usage: node bench/upstream.mjs <port> [<port>...]
import http from 'node:http';
import { exitWhenParentGoes } from './lib/child.mjs';

const ports = process.argv.slice(2).map(Number);
if (ports.length === 0 || !ports.every((p) => Number.isInteger(p) && p > 0)) {
  console.error('usage: node bench/upstream.mjs <port> [<port>...]');
  process.exit(2);
}

const body = Buffer.from('hello world');
const headers = { 'content-type': 'text/plain', 'content-length': String(body.length) };
const failBody = Buffer.from('failing');
const failHeaders = { 'content-type': 'text/plain', 'content-length': String(failBody.length) };

let failing = false;
process.on('SIGUSR2', () => {
  failing = true;
});

function answer(res) {
  if (failing) res.writeHead(503, failHeaders).end(failBody);
  else res.writeHead(200, headers).end(body);
}

for (const port of ports) {
  const server = http.createServer((req, res) => {
    // Drain any request body before answering so the connection stays reusable.
    if (req.readableEnded) {
      answer(res);
    } else {
      req.resume();
      req.on('end', () => answer(res));
    }
  });
  // Longer than any proxy's idle upstream timeout (nginx: 60 s) so that pooled
  // connections are never closed by the upstream in the middle of a run.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
}

exitWhenParentGoes();
process.on('SIGTERM', () => process.exit(0));
