import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, test } from 'node:test';
import { Readable } from 'node:stream';
import { startBackend, tcpConnector, type Backend } from '../../../test/helpers/backends.js';
import type { Connector, UpstreamHandler, UpstreamRequest } from './dispatcher.js';
import { NodeHttp1Pool } from './node-http1-pool.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A backend whose handler answers every request (after reading its body) as it likes. */
async function backend(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<Backend> {
  const b = await startBackend('backend', (req, res, body) => {
    handler(req, res, body);
    return true;
  });
  cleanups.push(() => b.close());
  return b;
}

function poolTo(port: number, options: { keepAliveTimeoutMs?: number; connect?: Connector } = {}): NodeHttp1Pool {
  const pool = new NodeHttp1Pool({
    connect: options.connect ?? tcpConnector(port),
    connections: 4,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? 60_000,
    headersTimeoutMs: 300_000,
  });
  cleanups.push(() => pool.close());
  return pool;
}

interface Outcome {
  status: number;
  headers: string[];
  body: string;
  trailers: unknown;
  error: (Error & { code?: string }) | undefined;
}

/** Sends one request and collects what the handler is told; `hooks` may override a hook to observe it. */
function send(pool: NodeHttp1Pool, request: Partial<UpstreamRequest> = {}, hooks: Partial<UpstreamHandler> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: 0, headers: [], body: '', trailers: undefined, error: undefined };
    const chunks: Buffer[] = [];
    pool.dispatch({ path: '/', method: 'GET', headers: ['host', 'backend'], ...request }, {
      onConnect: (abort) => hooks.onConnect?.(abort),
      onHeaders: (status, raw, resume) => {
        out.status = status;
        out.headers = raw.map(String);
        return hooks.onHeaders?.(status, raw, resume) ?? true;
      },
      onData: (chunk) => {
        chunks.push(chunk);
        return hooks.onData?.(chunk) ?? true;
      },
      onComplete: (trailers) => {
        out.body = Buffer.concat(chunks).toString();
        out.trailers = trailers;
        resolve(out);
      },
      onError: (err) => {
        out.error = err;
        resolve(out);
      },
    });
  });
}

test('sends the method, path, headers and body, and relays the status, raw headers, body and trailers', async () => {
  const { port } = await backend((req, res, body) => {
    res.writeHead(201, { 'x-echo': `${req.method} ${req.url} ${req.headers['x-test']} ${body}`, trailer: 'x-checksum' });
    res.addTrailers({ 'x-checksum': 'abc' });
    res.end('done');
  });
  const out = await send(poolTo(port), { method: 'POST', path: '/items?x=1', headers: ['host', 'backend', 'x-test', 'yes', 'content-length', '5'], body: Buffer.from('hello') });
  assert.equal(out.error, undefined);
  assert.equal(out.status, 201);
  assert.equal(out.headers[out.headers.findIndex((h) => h.toLowerCase() === 'x-echo') + 1], 'POST /items?x=1 yes hello');
  assert.equal(out.body, 'done');
  assert.deepEqual(out.trailers, ['x-checksum', 'abc']);
});

test('streams a request body of unknown length chunked', async () => {
  const { port } = await backend((req, res, body) => res.end(`${req.headers['transfer-encoding']}:${body}`));
  const out = await send(poolTo(port), { method: 'POST', headers: ['host', 'backend', 'transfer-encoding', 'chunked'], body: Readable.from(['a', 'b', 'c']) });
  assert.equal(out.body, 'chunked:abc');
});

test('keeps connections open and reuses them', async () => {
  const ports: number[] = [];
  const { port } = await backend((req, res) => {
    ports.push(req.socket.remotePort as number);
    res.end('ok');
  });
  const pool = poolTo(port);
  for (let i = 0; i < 3; i++) assert.equal((await send(pool)).body, 'ok');
  assert.equal(new Set(ports).size, 1);
});

test('does not reuse a connection whose backend keeps it open for no more than the 2 s margin', async () => {
  const ports: number[] = [];
  const { server, port } = await backend((req, res) => {
    ports.push(req.socket.remotePort as number);
    res.end('ok');
  });
  server.keepAliveTimeout = 2000;
  const pool = poolTo(port);
  for (let i = 0; i < 2; i++) assert.equal((await send(pool)).body, 'ok');
  assert.equal(new Set(ports).size, 2);
});

test('pauses the response while the handler asks it to, and goes on when resumed', async () => {
  const { port } = await backend((_req, res) => {
    res.write('a'.repeat(64 * 1024));
    res.end('b'.repeat(64 * 1024));
  });
  let resume: (() => void) | undefined;
  let chunksWhilePaused = 0;
  let paused = false;
  const outcome = send(poolTo(port), {}, {
    onHeaders: (_s, _h, r) => {
      resume = r;
      return true;
    },
    onData: () => {
      if (paused) chunksWhilePaused++;
      if (resume === undefined || paused) return true;
      paused = true;
      setTimeout(() => {
        paused = false;
        resume?.();
      }, 50);
      return false;
    },
  });
  const out = await outcome;
  assert.equal(out.body.length, 128 * 1024);
  assert.equal(chunksWhilePaused, 0);
});

test('fails with UND_ERR_HEADERS_TIMEOUT when no head comes in time', async () => {
  const { port } = await backend(() => undefined);
  const out = await send(poolTo(port), { headersTimeout: 50 });
  assert.equal(out.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
});

test('fails with UND_ERR_BODY_TIMEOUT when the body stalls', async () => {
  const { port } = await backend((_req, res) => res.write('partial'));
  const out = await send(poolTo(port), { bodyTimeout: 50 });
  assert.equal(out.error?.code, 'UND_ERR_BODY_TIMEOUT');
});

test('fails with ECONNRESET when the backend closes during the body', async () => {
  const { port } = await backend((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('short', () => res.socket?.destroy());
  });
  const out = await send(poolTo(port));
  assert.equal(out.error?.code, 'ECONNRESET');
});

test('reports a refused connection as the connector failed it', async () => {
  const { port, close } = await backend(() => undefined);
  await close();
  const out = await send(poolTo(port));
  assert.equal(out.error?.code, 'ECONNREFUSED');
});

test('an abort ends the request once, with the abort\'s reason, and the backend sees the connection close', async () => {
  let closed: Promise<unknown> | undefined;
  const { port } = await backend((req) => {
    closed = once(req.socket, 'close');
  });
  const reasons: Error[] = [];
  let abort: ((err?: Error) => void) | undefined;
  const pool = poolTo(port);
  const outcome = new Promise<void>((resolve) => {
    pool.dispatch({ path: '/', method: 'GET', headers: ['host', 'backend'] }, {
      onConnect: (a) => (abort = a),
      onHeaders: () => true,
      onData: () => true,
      onComplete: () => assert.fail('an aborted request does not complete'),
      onError: (err) => {
        reasons.push(err);
        resolve();
      },
    });
  });
  while (closed === undefined) await new Promise((r) => setImmediate(r));
  const reason = new Error('given up');
  abort?.(reason);
  abort?.(new Error('again'));
  await outcome;
  await closed;
  assert.deepEqual(reasons, [reason]);
});

test('close waits for the requests in flight, then refuses new ones', async () => {
  let answer: ServerResponse | undefined;
  const { port } = await backend((_req, res) => (answer = res));
  const pool = poolTo(port);
  const inFlight = send(pool);
  while (answer === undefined) await new Promise((r) => setImmediate(r));
  let closed = false;
  const closing = pool.close().then(() => (closed = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, false);
  answer.end('late');
  assert.equal((await inFlight).body, 'late');
  await closing;
  assert.equal((await send(pool)).error?.code, 'UND_ERR_CLOSED');
});

test('a connector that hands over a connection asynchronously is used as the connection', async () => {
  const { port } = await backend((_req, res) => res.end('ok'));
  let made = 0;
  const connect: Connector = (callback) => setImmediate(() => {
    made++;
    tcpConnector(port)(callback);
  });
  const pool = poolTo(port, { connect });
  assert.equal((await send(pool)).body, 'ok');
  assert.equal((await send(pool)).body, 'ok');
  assert.equal(made, 1);
});

test('queues requests beyond its connections and serves them as connections come free', async () => {
  const ports = new Set<number>();
  let atBackend = 0;
  let most = 0;
  const { port } = await backend((req, res) => {
    ports.add(req.socket.remotePort as number);
    most = Math.max(most, ++atBackend);
    setImmediate(() => {
      atBackend--;
      res.end('ok');
    });
  });
  const pool = poolTo(port);
  const outcomes = await Promise.all(Array.from({ length: 10 }, () => send(pool)));
  assert.deepEqual(outcomes.map((o) => o.body), Array(10).fill('ok'));
  assert.ok(ports.size <= 4 && most <= 4, `a pool of 4 connections used ${ports.size} connections, ${most} at once`);
});

test('drops an idle connection its backend closed, and the next request opens another', async () => {
  const ports: number[] = [];
  const { port } = await backend((req, res) => {
    ports.push(req.socket.remotePort as number);
    res.end('ok', () => req.socket.destroy());
  });
  const made: Socket[] = [];
  const connect: Connector = (callback) => tcpConnector(port)((err, socket) => {
    if (socket !== null) made.push(socket);
    callback(err, socket);
  });
  const pool = poolTo(port, { connect });
  assert.equal((await send(pool)).body, 'ok');
  if (!made[0].destroyed) await once(made[0], 'close');
  assert.equal((await send(pool)).body, 'ok');
  assert.equal(made.length, 2);
  assert.notEqual(ports[1], ports[0]);
});

test('a failed connect fails only its own request; the requests waiting behind it are still served', async () => {
  const { port } = await backend((_req, res) => res.end('ok'));
  let attempts = 0;
  const connect: Connector = (callback) => {
    attempts++;
    if (attempts === 1) setImmediate(() => callback(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), null));
    else tcpConnector(port)(callback);
  };
  const pool = new NodeHttp1Pool({ connect, connections: 1, keepAliveTimeoutMs: 60_000, headersTimeoutMs: 300_000 });
  cleanups.push(() => pool.close());
  const outcomes = await Promise.all([send(pool), send(pool), send(pool)]);
  assert.deepEqual(outcomes.map((o) => o.error?.code ?? o.body), ['ECONNREFUSED', 'ok', 'ok']);
  assert.equal(attempts, 2);
});

test('a request aborted while it waits for a connection leaves the queue at once', async () => {
  const held: ServerResponse[] = [];
  let heldAll: () => void = () => undefined;
  const allHeld = new Promise<void>((resolve) => (heldAll = resolve));
  // The first four requests are held, one on each of the pool's connections; later ones are answered.
  const { port } = await backend((_req, res) => {
    if (held.length === 4) res.end('ok');
    else if (held.push(res) === 4) heldAll();
  });
  const pool = poolTo(port);
  const first = Array.from({ length: 4 }, () => send(pool));
  await allHeld;
  // Held requests keep the pool from closing: a failed assertion must not leave them held.
  const releaseHeld = () => held.forEach((res) => res.writableEnded || res.end('ok'));
  cleanups.push(releaseHeld);
  const aborts: ((err?: Error) => void)[] = [];
  const abandoned = Array.from({ length: 20 }, () => send(pool, {}, { onConnect: (abort) => void aborts.push(abort) }));
  assert.equal(pool.queued, 20);
  for (const abort of aborts) abort();
  const errors = await Promise.all(abandoned);
  assert.deepEqual(errors.map((o) => o.error?.code), Array(20).fill('UND_ERR_ABORTED'));
  assert.equal(pool.queued, 0, 'no abandoned request is still waiting');
  const last = send(pool);
  assert.equal(pool.queued, 1);
  releaseHeld();
  assert.deepEqual((await Promise.all([...first, last])).map((o) => o.body), Array(5).fill('ok'));
});
