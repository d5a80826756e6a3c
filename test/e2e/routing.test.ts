//! End to end: the real CLI in front of real backends — routing, filters, headers, errors, splits.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { baseConfig, startBackend, type Backend } from '../helpers/backends.js';
import { freePort } from '../helpers/ports.js';
import { startWindrose, type Windrose } from '../helpers/windrose.js';

describe('routing through the gateway', () => {
  let gw: Windrose;
  let a: Backend;
  let b: Backend;
  let mirror: Backend;
  let port: number;
  let base: string;

  before(async () => {
    [a, b, mirror] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('mirror')]);
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const routes = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: main, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
  - matches: [{ path: { type: Exact, value: /exact } }]
    backendRefs: [{ group: windrose.dev, kind: Backend, name: b }]
  - matches: [{ path: { type: PathPrefix, value: /api } }]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{ name: x-set, value: yes }]
        add: [{ name: x-added, value: one }]
        remove: [x-secret]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{ name: x-resp, value: set }]
        remove: [x-backend]
    backendRefs: [{ group: windrose.dev, kind: Backend, name: a }]
  - matches: [{ path: { type: PathPrefix, value: /rewrite } }]
    filters:
    - type: URLRewrite
      urlRewrite: { hostname: rewritten.example, path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } }
    backendRefs: [{ group: windrose.dev, kind: Backend, name: a }]
  - matches: [{ path: { type: PathPrefix, value: /old } }]
    filters:
    - type: RequestRedirect
      requestRedirect: { scheme: https, hostname: new.example, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 301 }
  - matches: [{ path: { type: PathPrefix, value: /split } }]
    backendRefs:
    - { group: windrose.dev, kind: Backend, name: a, weight: 3 }
    - { group: windrose.dev, kind: Backend, name: b, weight: 1 }
  - matches: [{ path: { type: PathPrefix, value: /mirrored } }]
    filters:
    - type: RequestMirror
      requestMirror: { backendRef: { group: windrose.dev, kind: Backend, name: mirror } }
    backendRefs: [{ group: windrose.dev, kind: Backend, name: a }]
  - matches: [{ path: { type: PathPrefix, value: /missing } }]
    backendRefs: [{ group: windrose.dev, kind: Backend, name: does-not-exist }]
  - matches: [{ method: DELETE, path: { type: PathPrefix, value: /items } }]
    backendRefs: [{ group: windrose.dev, kind: Backend, name: b }]
  - matches:
    - path: { type: PathPrefix, value: /items }
      headers: [{ name: x-version, value: "2" }]
    - path: { type: PathPrefix, value: /items }
      queryParams: [{ name: v, value: "2" }]
    backendRefs: [{ group: windrose.dev, kind: Backend, name: b }]
  - matches: [{ path: { type: RegularExpression, value: "/users/[0-9]+" } }]
    backendRefs: [{ group: windrose.dev, kind: Backend, name: b }]
  - matches: [{ path: { type: PathPrefix, value: /extension } }]
    filters:
    - type: ExtensionRef
      extensionRef: { group: example.com, kind: Thing, name: x }
    backendRefs: [{ group: windrose.dev, kind: Backend, name: a }]
  - matches: [{ path: { type: PathPrefix, value: /per-backend } }]
    backendRefs:
    - group: windrose.dev
      kind: Backend
      name: b
      filters:
      - type: ResponseHeaderModifier
        responseHeaderModifier: { set: [{ name: x-from-backend-ref, value: b }] }
  - matches: [{ path: { type: PathPrefix, value: / } }]
    backendRefs: [{ group: windrose.dev, kind: Backend, name: a }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: hosted, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  hostnames: ["*.shop.example"]
  rules:
  - backendRefs: [{ group: windrose.dev, kind: Backend, name: b }]
`;
    gw = await startWindrose({ 'gateway.yaml': baseConfig(port, { a: a.port, b: b.port, mirror: mirror.port }), 'routes.yaml': routes });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([a, b, mirror].map((x) => x?.close()));
  });

  async function get(path: string, headers: Record<string, string> = {}, method: 'GET' | 'DELETE' | 'POST' = 'GET') {
    const res = await request(`${base}${path}`, { method, headers });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> & { name: string; url: string; headers: Record<string, string> } };
  }

  test('a request reaches the backend with forwarding headers and a request id', async () => {
    const r = await get('/hello?x=1', { 'x-forwarded-for': '10.0.0.9' });
    assert.equal(r.status, 200);
    const echo = r.json();
    assert.equal(echo.name, 'a');
    assert.equal(echo.url, '/hello?x=1');
    assert.equal(echo.headers['x-forwarded-for'], '10.0.0.9, 127.0.0.1');
    assert.equal(echo.headers['x-forwarded-proto'], 'http');
    assert.equal(echo.headers['x-forwarded-host'], `127.0.0.1:${port}`);
    assert.equal(echo.headers.host, `127.0.0.1:${port}`);
    assert.match(String(echo.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(r.headers['x-request-id'], echo.headers['x-request-id']);
  });

  test('an incoming x-request-id is kept and echoed', async () => {
    const r = await get('/hello', { 'x-request-id': 'abc-123' });
    assert.equal(r.json().headers['x-request-id'], 'abc-123');
    assert.equal(r.headers['x-request-id'], 'abc-123');
  });

  test('hop-by-hop headers, and headers the Connection header names, are not forwarded', async () => {
    // undici refuses to send these, so node:http does.
    const text = await new Promise<string>((resolve, reject) => {
      http.get(`${base}/hello`, { headers: { connection: 'keep-alive, x-private', 'x-private': 'p', 'keep-alive': 'timeout=5', 'proxy-connection': 'x' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve(body));
      }).on('error', reject);
    });
    const h = (JSON.parse(text) as { headers: Record<string, string> }).headers;
    assert.equal(h['x-private'], undefined);
    assert.equal(h['keep-alive'], undefined);
    assert.equal(h['proxy-connection'], undefined);
  });

  test('Exact, PathPrefix and RegularExpression paths route as the spec says', async () => {
    assert.equal((await get('/exact')).json().name, 'b');
    assert.equal((await get('/exact/more')).json().name, 'a');
    assert.equal((await get('/users/42')).json().name, 'b');
    assert.equal((await get('/users/abc')).json().name, 'a');
  });

  test('method, header and query parameter matches', async () => {
    assert.equal((await get('/items', {}, 'DELETE')).json().name, 'b');
    assert.equal((await get('/items')).json().name, 'a');
    assert.equal((await get('/items', { 'x-version': '2' })).json().name, 'b');
    assert.equal((await get('/items?v=2')).json().name, 'b');
    assert.equal((await get('/items?v=3')).json().name, 'a');
  });

  test('a route with a wildcard hostname answers only its hosts', async () => {
    assert.equal((await get('/x', { host: 'a.shop.example' })).json().name, 'b');
    assert.equal((await get('/x', { host: 'shop.example' })).json().name, 'a');
  });

  test('request and response header modifiers', async () => {
    const r = await get('/api/x', { 'x-secret': 's', 'x-added': 'zero' });
    const h = r.json().headers;
    assert.equal(h['x-set'], 'yes');
    assert.equal(h['x-added'], 'zero, one');
    assert.equal(h['x-secret'], undefined);
    assert.equal(r.headers['x-resp'], 'set');
    assert.equal(r.headers['x-backend'], undefined);
  });

  test('URLRewrite replaces the prefix and the host sent upstream', async () => {
    const echo = (await get('/rewrite/thing?q=1')).json();
    assert.equal(echo.url, '/v2/thing?q=1');
    assert.equal(echo.headers.host, 'rewritten.example');
    assert.equal(echo.headers['x-forwarded-host'], `127.0.0.1:${port}`, 'x-forwarded-host is the host the client asked for');
  });

  test('RequestRedirect answers with the Location built from the filter', async () => {
    const r = await get('/old/page?q=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://new.example/new/page?q=1');
  });

  test('weighted backendRefs split traffic by weight', async () => {
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 400; i++) counts[(await get('/split')).json().name]++;
    assert.ok(counts.a > 240 && counts.a < 360, `a got ${counts.a} of 400 at weight 3:1`);
  });

  test('RequestMirror sends a copy and the client sees only the primary answer', async () => {
    const seen = mirror.received.length;
    const r = await get('/mirrored/1');
    assert.equal(r.json().name, 'a');
    await new Promise<void>((resolve) => {
      if (mirror.received.length > seen) return resolve();
      mirror.server.once('request', (req) => req.once('end', () => setImmediate(resolve)));
    });
    assert.equal(mirror.received.at(-1)?.url, '/mirrored/1');
  });

  test('an unresolved backend answers 500 with a JSON error', async () => {
    const r = await get('/missing');
    assert.equal(r.status, 500);
    const body = r.json() as unknown as { error: { code: string; message: string; requestId: string } };
    assert.equal(body.error.code, 'backend_not_resolved');
    assert.equal(body.error.requestId, r.headers['x-request-id']);
  });

  test('no matching route answers 404 with a JSON error', async () => {
    const r = await get('/x', { host: 'other.example' });
    assert.equal(r.status, 200);
    const other = await startWindrose({ 'gateway.yaml': baseConfig(await freePort(), {}) });
    try {
      const cfg = JSON.parse(await (await request(`${other.admin}/config`)).body.text()) as { ports: { port: number }[] };
      const r404 = await request(`http://127.0.0.1:${cfg.ports[0].port}/nothing`);
      assert.equal(r404.statusCode, 404);
      assert.equal(r404.headers['content-type'], 'application/json');
      const body = await r404.body.json() as { error: { code: string } };
      assert.equal(body.error.code, 'route_not_found');
    } finally {
      await other.stop();
    }
  });

  test('a filter windrose cannot apply answers 500 rather than being skipped', async () => {
    const r = await get('/extension/x');
    assert.equal(r.status, 500);
    assert.equal((r.json() as unknown as { error: { code: string } }).error.code, 'filter_not_supported');
    const status = await (await request(`${gw.admin}/status`)).body.json() as { resources: { name: string; parents?: { conditions: { type: string; status: string; message: string }[] }[] }[] };
    const resolved = status.resources.find((x) => x.name === 'main')?.parents?.[0].conditions.find((c) => c.type === 'ResolvedRefs');
    assert.equal(resolved?.status, 'False');
    assert.match(resolved?.message ?? '', /filter type ExtensionRef is not supported/);
  });

  test("a backendRef's own response filters run", async () => {
    const r = await get('/per-backend');
    assert.equal(r.json().name, 'b');
    assert.equal(r.headers['x-from-backend-ref'], 'b');
  });

  test('Expect: 100-continue is answered by the gateway and the body still arrives', async () => {
    const answer = await new Promise<{ status: number; body: string; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = http.request(`${base}/upload`, { method: 'POST', headers: { expect: '100-continue', 'content-length': '5' } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body, continued }));
      });
      req.on('continue', () => {
        continued = true;
        req.end('hello');
      });
      req.on('error', reject);
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.continued, true);
    assert.equal((JSON.parse(answer.body) as { body: string }).body, 'hello');
  });

  test('a request body streams to the backend', async () => {
    const payload = 'x'.repeat(1024 * 1024);
    const res = await request(`${base}/upload`, { method: 'POST', body: payload });
    const echo = await res.body.json() as { body: string };
    assert.equal(echo.body.length, payload.length);
  });
});
