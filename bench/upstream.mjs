// Upstream for the proxy benchmark: answers every request with 200 "hello world"
// over keep-alive connections. Usage: node bench/upstream.mjs <port>
import http from 'node:http';
import { exitWhenParentGoes } from './lib/child.mjs';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node bench/upstream.mjs <port>');
  process.exit(2);
}

const body = Buffer.from('hello world');
const headers = { 'content-type': 'text/plain', 'content-length': String(body.length) };

const server = http.createServer((req, res) => {
  // Drain any request body before answering so the connection stays reusable.
  if (req.readableEnded) {
    res.writeHead(200, headers).end(body);
  } else {
    req.resume();
    req.on('end', () => res.writeHead(200, headers).end(body));
  }
});
// Longer than any proxy's idle upstream timeout (nginx: 60 s) so that pooled
// connections are never closed by the upstream in the middle of a run.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));

exitWhenParentGoes();
process.on('SIGTERM', () => process.exit(0));
