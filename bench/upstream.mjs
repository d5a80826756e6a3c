// Upstream for the proxy benchmark: answers every request with 200 "hello world"
// over keep-alive connections. Usage: node bench/upstream.mjs <port>
import fs from 'node:fs';
import http from 'node:http';

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

// The harness gives us a stdin pipe that closes when it goes away (even on
// SIGKILL): exit then. Not when stdin is a terminal or /dev/null (manual runs).
function exitWhenParentGoes() {
  let isPipe = false;
  try {
    const st = fs.fstatSync(0);
    isPipe = st.isFIFO() || st.isSocket();
  } catch {
    // no stdin
  }
  if (!isPipe) return;
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
