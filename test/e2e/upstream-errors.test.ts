//! End to end: what a client sees when the backend fails (refuses, resets, speaks garbage, is slow, dies
//! mid-response), how route timeouts and BackendTrafficPolicy combine, connection limits per endpoint,
//! and that a client going away aborts the upstream request.

import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { GATEWAY_CLASS } from '../helpers/backends.js';
import { freePort } from '../helpers/ports.js';
import { RawConnection, rawExchange } from '../helpers/raw.js';
import { startWindrose, type Windrose } from '../helpers/windrose.js';

interface Exchange {
  readonly url: string;
  /** 'finished' once the backend's response was sent completely; 'aborted' when the connection closed first. */
  readonly response: Promise<'finished' | 'aborted'>;
  /** Whether the request body arrived completely. */
  readonly requestComplete: Promise<boolean>;
}

/**
 * A loopback HTTP backend whose behaviour the path chooses: `?delay=ms` answers after that long,
 * `/hold` never answers, `/die` and `/die-chunked` send a head and part of the body, then drop the connection.
 * It counts its connections, so a test can see how many the gateway opened at once.
 */
class SlowBackend {
  readonly exchanges: Exchange[] = [];
  private readonly arrivals: { url: string; resolve: (e: Exchange) => void }[] = [];
  private open = 0;
  maxOpen = 0;
  connections = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    const response = new Promise<'finished' | 'aborted'>((resolve) => res.once('close', () => resolve(res.writableFinished ? 'finished' : 'aborted')));
    const requestComplete = new Promise<boolean>((resolve) => {
      req.once('end', () => resolve(true));
      req.once('close', () => resolve(req.complete));
    });
    req.resume();
    const e: Exchange = { url: req.url ?? '', response, requestComplete };
    this.exchanges.push(e);
    for (const w of this.arrivals.filter((a) => a.url === e.url)) {
      this.arrivals.splice(this.arrivals.indexOf(w), 1);
      w.resolve(e);
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    void response.then(() => this.inFlight--);
    if (url.pathname.endsWith('/hold')) return;
    if (url.pathname.endsWith('/die') || url.pathname.endsWith('/die-chunked')) {
      res.writeHead(200, url.pathname.endsWith('/die') ? { 'content-length': '100' } : {});
      // Only once the partial body is on the wire does the backend vanish.
      res.write('x'.repeat(10), () => req.socket.destroy());
      return;
    }
    const timer = setTimeout(() => {
      void requestComplete.then((complete) => {
        if (!complete) return;
        const text = JSON.stringify({ url: req.url });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    }, Number(url.searchParams.get('delay') ?? 0));
    res.once('close', () => clearTimeout(timer));
  });

  constructor() {
    this.server.on('connection', (socket: net.Socket) => {
      this.connections++;
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      socket.once('close', () => this.open--);
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  /** Resolves when a request for `url` reaches the backend (at once if it already has). */
  arrival(url: string): Promise<Exchange> {
    const e = this.exchanges.find((x) => x.url === url);
    if (e) return Promise.resolve(e);
    return new Promise((resolve) => this.arrivals.push({ url, resolve }));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A TCP server that plays a broken backend: `onData` decides what happens once a request arrives. */
function brokenBackend(onData: (socket: net.Socket, request: string) => void): Promise<{ server: net.Server; port: number; requests: number; sockets: Set<net.Socket> }> {
  const state = { server: net.createServer(), port: 0, requests: 0, sockets: new Set<net.Socket>() };
  state.server.on('connection', (socket) => {
    state.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => state.sockets.delete(socket));
    socket.once('data', (chunk: Buffer) => {
      state.requests++;
      onData(socket, chunk.toString('latin1'));
    });
  });
  return new Promise((resolve) => state.server.listen(0, '127.0.0.1', () => {
    state.port = (state.server.address() as AddressInfo).port;
    resolve(state);
  }));
}

const GARBAGE: Record<string, string> = {
  '/garbage/ssh': 'SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n',
  '/garbage/status': 'HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n',
  '/garbage/header': 'HTTP/1.1 200 OK\r\nBad Header: v\r\nContent-Length: 0\r\n\r\n',
  '/garbage/two-lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function route(name: string, gateway: string, prefix: string, backend: string, timeouts = ''): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: default }
spec:
  parentRefs: [{ name: ${gateway} }]
  rules:
  - matches: [{ path: { type: PathPrefix, value: ${prefix} } }]
    backendRefs: [${backend.startsWith('svc:') ? `{ name: ${backend.slice(4)}, port: 80 }` : `{ group: windrose.dev, kind: Backend, name: ${backend} }`}]
${timeouts ? `    timeouts: ${timeouts}\n` : ''}`;
}

function policy(name: string, kind: 'Gateway' | 'HTTPRoute', target: string, spec: string): string {
  return `apiVersion: windrose.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: ${name}, namespace: default }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: ${kind}, name: ${target} }]
${spec}`;
}

function backendResource(name: string, port: number): string {
  return `apiVersion: windrose.dev/v1alpha1
kind: Backend
metadata: { name: ${name}, namespace: default }
spec: { endpoints: [{ ip: 127.0.0.1, port: ${port} }] }
`;
}

function gatewayResource(name: string, port: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: default }
spec:
  gatewayClassName: windrose
  listeners: [{ name: http, port: ${port}, protocol: HTTP }]
`;
}

interface ClientResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

async function get(url: string): Promise<ClientResult> {
  const started = performance.now();
  const res = await request(url);
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, ms: performance.now() - started };
}

/** The response is the JSON error `code` with `status`, its request id matching the header. */
function assertError(r: ClientResult, status: number, code: string): void {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status}: ${r.text}`);
  assert.equal(r.headers['content-type'], 'application/json');
  const body = JSON.parse(r.text) as { error: { code: string; message: string; requestId: string } };
  assert.equal(body.error.code, code);
  assert.ok(body.error.message.length > 0);
  assert.match(body.error.requestId, UUID);
  assert.equal(r.headers['x-request-id'], body.error.requestId);
  assert.doesNotMatch(r.text, /127\.0\.0\.1|ECONN|at .*\.js/, 'the error leaks no internal address or stack');
}

describe('upstream failures, timeouts and traffic policies', () => {
  const slow = new SlowBackend();
  const limited = new SlowBackend();
  const unlimited = new SlowBackend();
  let resetter: Awaited<ReturnType<typeof brokenBackend>>;
  let garbage: Awaited<ReturnType<typeof brokenBackend>>;
  let gw: Windrose;
  let base: string;
  let base2: string;

  before(async () => {
    await Promise.all([slow.listen(), limited.listen(), unlimited.listen()]);
    // Accepts, reads the request, then drops the connection without a byte of answer.
    resetter = await brokenBackend((s) => s.destroy());
    // Answers with something that is not HTTP, or not valid HTTP; the request line picks which.
    garbage = await brokenBackend((s, request) => {
      const path = /^GET (\S+)/.exec(request)?.[1];
      s.end(GARBAGE[path ?? ''] ?? GARBAGE['/garbage/ssh']);
    });
    const [port, port2, closedPort] = await Promise.all([freePort(), freePort(), freePort()]);
    base = `http://127.0.0.1:${port}`;
    base2 = `http://127.0.0.1:${port2}`;
    const docs = [
      GATEWAY_CLASS, gatewayResource('gw', port), gatewayResource('gw2', port2),
      backendResource('closed', closedPort), backendResource('resetter', resetter.port), backendResource('garbage', garbage.port),
      backendResource('slow', slow.port), backendResource('limited', limited.port), backendResource('unlimited', unlimited.port),
      route('refused', 'gw', '/refused', 'closed'),
      route('reset', 'gw', '/reset', 'resetter'),
      route('garbage', 'gw', '/garbage', 'garbage'),
      route('request-timeout', 'gw', '/rt', 'slow', '{ request: 300ms }'),
      route('backend-timeout', 'gw', '/brt', 'slow', '{ backendRequest: 200ms }'),
      route('slow', 'gw', '/slow', 'slow'),
      route('policy', 'gw', '/pol/', 'slow'),
      policy('policy-timeout', 'HTTPRoute', 'policy', '  timeout: { http: { requestTimeout: 250ms } }\n'),
      route('policy-own', 'gw', '/pol-own/', 'slow', '{ request: 1500ms }'),
      policy('policy-own-timeout', 'HTTPRoute', 'policy-own', '  timeout: { http: { requestTimeout: 200ms } }\n'),
      route('limited', 'gw', '/limited', 'limited'),
      policy('one-connection', 'HTTPRoute', 'limited', '  connection: { http1: { maxConnectionsPerEndpoint: 1 } }\n'),
      route('unlimited', 'gw', '/unlimited', 'unlimited'),
      route('gateway-policy', 'gw2', '/gw/', 'slow'),
      policy('gateway-timeout', 'Gateway', 'gw2', '  timeout: { http: { requestTimeout: 300ms } }\n'),
      route('gateway-override', 'gw2', '/gw-override/', 'slow'),
      policy('route-over-gateway', 'HTTPRoute', 'gateway-override', '  timeout: { http: { requestTimeout: 2s } }\n'),
      policy('dangling', 'HTTPRoute', 'no-such-route', '  timeout: { http: { requestTimeout: 1s } }\n'),
      route('not-ready', 'gw', '/not-ready', 'svc:not-ready'),
      route('no-slices', 'gw', '/no-slices', 'svc:no-slices'),
      `apiVersion: v1
kind: Service
metadata: { name: not-ready, namespace: default }
spec: { ports: [{ port: 80, targetPort: ${slow.port} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: not-ready-1, namespace: default, labels: { kubernetes.io/service-name: not-ready } }
addressType: IPv4
ports: [{ port: ${slow.port} }]
endpoints:
- addresses: [127.0.0.1]
  conditions: { ready: false, serving: true, terminating: true }
---
apiVersion: v1
kind: Service
metadata: { name: no-slices, namespace: default }
spec: { ports: [{ port: 80, targetPort: ${slow.port} }] }
`,
    ];
    gw = await startWindrose({ 'config.yaml': docs.join('---\n') });
  });

  after(async () => {
    await gw?.stop();
    for (const b of [resetter, garbage]) {
      if (!b) continue;
      for (const s of b.sockets) s.destroy();
      await new Promise<void>((resolve) => b.server.close(() => resolve()));
    }
    await Promise.all([slow.close(), limited.close(), unlimited.close()]);
  });

  test('a backend port nobody listens on answers 503 upstream_connect_failed', async () => {
    assertError(await get(`${base}/refused`), 503, 'upstream_connect_failed');
  });

  test('a backend that drops the connection before answering gives 502 upstream_reset', async () => {
    const before = resetter.requests;
    assertError(await get(`${base}/reset`), 502, 'upstream_reset');
    assert.ok(resetter.requests > before, 'the request did reach the backend');
  });

  test('a backend that answers with something other than HTTP gives 502 upstream_bad_response', async () => {
    for (const path of Object.keys(GARBAGE)) {
      const before = garbage.requests;
      assertError(await get(`${base}${path}`), 502, 'upstream_bad_response');
      assert.ok(garbage.requests > before, `${path} reached the backend`);
    }
  });

  test('the route request timeout answers 504 request_timeout and aborts the upstream request', async () => {
    const r = await get(`${base}/rt/a?delay=5000`);
    assertError(r, 504, 'request_timeout');
    assert.ok(r.ms >= 280 && r.ms < 2500, `answered after ${Math.round(r.ms)}ms for a 300ms timeout`);
    assert.equal(await (await slow.arrival('/rt/a?delay=5000')).response, 'aborted');
    assert.equal((await get(`${base}/rt/b?delay=10`)).status, 200, 'a quick answer within the timeout still passes');
  });

  test('the route backendRequest timeout answers 504 upstream_timeout and aborts the upstream request', async () => {
    const r = await get(`${base}/brt/a?delay=5000`);
    assertError(r, 504, 'upstream_timeout');
    assert.ok(r.ms >= 180 && r.ms < 2500, `answered after ${Math.round(r.ms)}ms for a 200ms timeout`);
    assert.equal(await (await slow.arrival('/brt/a?delay=5000')).response, 'aborted');
    assert.equal((await get(`${base}/brt/b?delay=10`)).status, 200);
  });

  test('BackendTrafficPolicies show Accepted in /status, and one with a missing target does not', async () => {
    const res = await request(`${gw.admin}/status`);
    const status = await res.body.json() as { resources: { kind: string; name: string; ancestors?: { conditions: { type: string; status: string; reason: string }[] }[] }[] };
    const accepted = (name: string) => {
      const p = status.resources.find((s) => s.kind === 'BackendTrafficPolicy' && s.name === name);
      assert.ok(p, `policy ${name} has a status`);
      return p.ancestors?.map((a) => a.conditions.find((c) => c.type === 'Accepted'));
    };
    for (const name of ['policy-timeout', 'policy-own-timeout', 'one-connection', 'gateway-timeout', 'route-over-gateway']) {
      assert.deepEqual(accepted(name)?.map((c) => [c?.status, c?.reason]), [['True', 'Accepted']], name);
    }
    assert.deepEqual(accepted('dangling')?.map((c) => [c?.status, c?.reason]), [['False', 'TargetNotFound']]);
  });

  test('a route-targeted policy supplies the request timeout when the route sets none', async () => {
    const r = await get(`${base}/pol/a?delay=5000`);
    assertError(r, 504, 'request_timeout');
    assert.ok(r.ms >= 230 && r.ms < 2500, `answered after ${Math.round(r.ms)}ms for the policy's 250ms`);
    assert.equal((await get(`${base}/pol/b?delay=10`)).status, 200);
  });

  test("the route's own timeouts win over a policy's", async () => {
    // The policy says 200ms, the route 1500ms: an answer after 500ms must pass.
    const ok = await get(`${base}/pol-own/a?delay=500`);
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.ms >= 480, `the backend really took ${Math.round(ok.ms)}ms`);
    const late = await get(`${base}/pol-own/b?delay=5000`);
    assertError(late, 504, 'request_timeout');
    assert.ok(late.ms >= 1400 && late.ms < 4000, `answered after ${Math.round(late.ms)}ms for the route's 1500ms`);
  });

  test('a Gateway-targeted policy applies to its routes, and a route-targeted one overrides it', async () => {
    const r = await get(`${base2}/gw/a?delay=5000`);
    assertError(r, 504, 'request_timeout');
    assert.ok(r.ms >= 280 && r.ms < 2500, `answered after ${Math.round(r.ms)}ms for the gateway policy's 300ms`);
    const over = await get(`${base2}/gw-override/a?delay=800`);
    assert.equal(over.status, 200, `the route policy's 2s replaces the gateway's 300ms: ${over.text}`);
    // The gateway policy does not leak to the other Gateway's routes.
    assert.equal((await get(`${base}/slow/a?delay=800`)).status, 200);
  });

  test('maxConnectionsPerEndpoint: 1 keeps the backend at one connection under concurrent requests', async () => {
    const n = 4;
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: n }, (_, i) => get(`${base}/limited/${i}?delay=150`)));
    const elapsed = performance.now() - started;
    assert.deepEqual(results.map((r) => r.status), Array(n).fill(200));
    assert.equal(limited.maxOpen, 1, 'at most one connection at a time');
    assert.equal(limited.maxInFlight, 1, 'requests were queued behind each other');
    assert.ok(elapsed >= n * 150 - 20, `${n} requests of 150ms on one connection took ${Math.round(elapsed)}ms`);
    // Without the policy the same load opens several connections, so the limit above is the policy's doing.
    const free = await Promise.all(Array.from({ length: n }, (_, i) => get(`${base}/unlimited/${i}?delay=150`)));
    assert.deepEqual(free.map((r) => r.status), Array(n).fill(200));
    assert.ok(unlimited.maxOpen > 1, `without the policy the backend saw ${unlimited.maxOpen} connections at once`);
  });

  test('a backend dying mid-response (Content-Length) aborts the client response instead of hanging', async () => {
    const ex = await rawExchange(Number(new URL(base).port), 'GET /slow/die HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.notEqual(ex.ended, 'timeout', 'the client connection was closed');
    assert.equal(ex.truncated?.status, 200, 'the head had been relayed');
    assert.equal(ex.responses.length, 0, 'the response is never complete');
    assert.equal(ex.truncated?.headers['content-length']?.[0], '100');
  });

  test('a backend dying mid-response (chunked) does not let the response look complete', async () => {
    const ex = await rawExchange(Number(new URL(base).port), 'GET /slow/die-chunked HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.notEqual(ex.ended, 'timeout');
    assert.equal(ex.truncated?.status, 200);
    assert.equal(ex.responses.length, 0, 'no terminating chunk was sent for a body that never ended');
    assert.doesNotMatch(ex.raw.toString('latin1'), /\r\n0\r\n\r\n$/);
    // undici sees the same as an error rather than a short body.
    const res = await request(`${base}/slow/die-chunked`);
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text());
  });

  test('a client that goes away while waiting for the response aborts the upstream request', async () => {
    const conn = new RawConnection(Number(new URL(base).port));
    await conn.write('GET /slow/client-gone/hold HTTP/1.1\r\nHost: x\r\n\r\n');
    const e = await slow.arrival('/slow/client-gone/hold');
    conn.close();
    assert.equal(await e.response, 'aborted');
  });

  test('a client that goes away in the middle of its request body aborts the upstream request', async () => {
    const conn = new RawConnection(Number(new URL(base).port));
    await conn.write('POST /slow/upload-gone HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    const e = await slow.arrival('/slow/upload-gone');
    conn.close();
    assert.equal(await e.requestComplete, false, 'the backend never got a complete body');
    assert.equal(await e.response, 'aborted');
  });

  test('a Service without ready endpoints answers 503 no_healthy_upstream', async () => {
    const before = slow.exchanges.length;
    assertError(await get(`${base}/not-ready`), 503, 'no_healthy_upstream');
    assertError(await get(`${base}/no-slices`), 503, 'no_healthy_upstream');
    assert.equal(slow.exchanges.length, before, 'the not-ready endpoint got nothing');
  });

  test('none of the failures took the gateway down', async () => {
    assert.equal(gw.proc.exitCode, null);
    const r = await get(`${base}/slow/final?delay=0`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), { url: '/slow/final?delay=0' });
  });
});
