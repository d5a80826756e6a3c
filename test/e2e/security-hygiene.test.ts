//! End to end: request hygiene every listener applies (path normalization, header count), and the
//! SecurityPolicy blocks that need no credentials (CORS, client address lists), through the real CLI.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { baseConfig, startBackend, type Backend } from '../helpers/backends.js';
import { freePort } from '../helpers/ports.js';
import { rawExchange } from '../helpers/raw.js';
import { docs, route, securityPolicy } from '../helpers/resources.js';
import { startWindrose, type Windrose } from '../helpers/windrose.js';

const get = (port: number, path: string) => rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, { responses: 1 });

describe('request hygiene and credential-free security policies', () => {
  let gw: Windrose;
  let pub: Backend;
  let admin: Backend;
  let port: number;
  let base: string;

  before(async () => {
    [pub, admin] = await Promise.all([startBackend('public'), startBackend('admin')]);
    // Nothing listens on `down`: the backend of /cors-down refuses every connection.
    const down = await freePort();
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gw = await startWindrose({
      'gateway.yaml': baseConfig(port, { public: pub.port, admin: admin.port, down }),
      'routes.yaml': docs(
        route('public', { path: '/public' }),
        route('admin', { path: '/admin' }),
        route('cors', { backends: ['public'], path: '/cors' }),
        route('cors-denied', { backends: ['public'], path: '/cors-denied' }),
        route('cors-down', { backends: ['down'], path: '/cors-down' }),
        route('loopback-only', { backends: ['public'], path: '/loopback-only' }),
        route('private-net', { backends: ['public'], path: '/private-net' }),
        route('blocked', { backends: ['public'], path: '/blocked' }),
        route('gw-cors', {
          backends: ['public'], path: '/gw-cors',
          rule: '    filters:\n    - type: CORS\n      cors: { allowOrigins: ["https://app.example"], allowMethods: ["*"], allowCredentials: true }\n',
        }),
      ),
      'policies.yaml': docs(
        // Only callers from 10.0.0.0/8 reach /admin: the test's loopback client is not one of them.
        securityPolicy('admin-lockdown', { authorization: { rules: [{ action: 'Allow', principal: { clientCIDRs: ['10.0.0.0/8'] } }] } }, { kind: 'HTTPRoute', name: 'admin' }),
        securityPolicy('cors', {
          cors: { allowOrigins: ['https://shop.example', 'https://*.partner.example'], allowMethods: ['GET', 'POST'], allowHeaders: ['content-type', 'x-token'], exposeHeaders: ['x-backend'], maxAge: '10m' },
        }),
        securityPolicy('cors-denied', {
          cors: { allowOrigins: ['https://shop.example'] },
          authorization: { defaultAction: 'Allow', rules: [{ action: 'Deny', principal: { clientCIDRs: ['127.0.0.1/32'] } }] },
        }),
        securityPolicy('cors-down', { cors: { allowOrigins: ['https://shop.example'] } }),
        securityPolicy('loopback-only', { authorization: { rules: [{ action: 'Allow', principal: { clientCIDRs: ['127.0.0.0/8', '::1'] } }] } }),
        securityPolicy('private-net', { authorization: { rules: [{ action: 'Allow', principal: { clientCIDRs: ['10.0.0.0/8', '192.168.0.0/16'] } }] } }),
        securityPolicy('blocked', { authorization: { defaultAction: 'Allow', rules: [{ name: 'deny-loopback', action: 'Deny', principal: { clientCIDRs: ['127.0.0.1/32'] } }] } }),
      ),
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([pub?.close(), admin?.close()]);
  });

  test('an encoded traversal out of a public prefix is routed, and guarded, as the path it resolves to', async () => {
    const before = pub.received.length;
    for (const path of ['/public/..%2fadmin', '/public/..%2Fadmin/users', '/public/%2e%2e/admin', '/public/%2E%2E%2Fadmin', '/public/.%2e/admin', '/public/..%5cadmin', '//admin', '/public/../admin']) {
      const ex = await get(port, path);
      assert.equal(ex.responses[0]?.status, 403, path);
      assert.equal(ex.responses[0].json<{ error: { code: string } }>().error.code, 'access_denied', path);
    }
    assert.equal(pub.received.length, before, 'the public backend never saw a traversal');
    assert.equal(admin.received.length, 0, 'nor did the admin backend');
  });

  test('the backend gets the normalized path, the one that was matched', async () => {
    for (const [sent, forwarded] of [['/public//a///b', '/public/a/b'], ['/public/x/../y?q=%2e%2e', '/public/y?q=%2e%2e'], ['/public/%61%62c', '/public/abc'], ['/public/caf%c3%a9', '/public/caf%C3%A9']]) {
      const ex = await get(port, sent);
      assert.equal(ex.responses[0]?.status, 200, sent);
      assert.equal(ex.responses[0].json<{ url: string }>().url, forwarded, sent);
    }
  });

  test('paths whose meaning windrose will not guess are refused with 400 and never forwarded', async () => {
    const before = pub.received.length;
    for (const path of ['/public/..;/admin', '/public/a%zz', '/public/%00', '/public/a%2']) {
      const ex = await get(port, path);
      assert.equal(ex.responses[0]?.status, 400, path);
      assert.equal(ex.responses[0].json<{ error: { code: string } }>().error.code, 'bad_request', path);
    }
    assert.equal(pub.received.length, before);
  });

  test('a request with more than 100 header fields gets 431 over HTTP/1.1 and HTTP/2; 100 are served', async () => {
    const headers = (n: number) => Array.from({ length: n }, (_, i) => `x-h${i}: v\r\n`).join('');
    // Host is a field too: 99 more make 100.
    const ok = await rawExchange(port, `GET /public HTTP/1.1\r\nHost: x\r\n${headers(99)}\r\n`, { responses: 1 });
    assert.equal(ok.responses[0]?.status, 200);
    const over = await rawExchange(port, `GET /public HTTP/1.1\r\nHost: x\r\n${headers(100)}\r\n`, { responses: 1 });
    assert.equal(over.responses[0]?.status, 431);
    assert.equal(over.responses[0].json<{ error: { code: string } }>().error.code, 'headers_too_large');

    const session = http2.connect(base);
    try {
      const h2 = (n: number) => new Promise<number>((resolve, reject) => {
        const fields: Record<string, string> = { ':path': '/public' };
        for (let i = 0; i < n; i++) fields[`x-h${i}`] = 'v';
        const stream = session.request(fields);
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.on('error', reject);
        stream.resume();
        stream.end();
      });
      assert.equal(await h2(100), 200);
      assert.equal(await h2(101), 431);
    } finally {
      session.close();
    }
  });

  test('CORS: a preflight from an allowed origin is answered by windrose with the policy', async () => {
    const before = pub.received.length;
    const res = await request(`${base}/cors/items`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'https://shop.example');
    assert.equal(res.headers['access-control-allow-methods'], 'GET, POST');
    assert.equal(res.headers['access-control-allow-headers'], 'content-type, x-token');
    assert.equal(res.headers['access-control-max-age'], '600');
    assert.equal(res.headers.vary, 'Origin');
    assert.equal(pub.received.length, before, 'the preflight never reached the backend');
  });

  test('CORS: wildcard subdomains are allowed, other origins get no permission', async () => {
    const preflight = (origin: string) => request(`${base}/cors/items`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } });
    const sub = await preflight('https://eu.partner.example');
    await sub.body.dump();
    assert.equal(sub.headers['access-control-allow-origin'], 'https://eu.partner.example');
    for (const origin of ['https://evil.example', 'https://partner.example', 'http://shop.example', 'https://shop.example.evil.com']) {
      const res = await preflight(origin);
      await res.body.dump();
      assert.equal(res.statusCode, 200, origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  test('CORS: an actual request from an allowed origin gets the response headers; one without Origin none', async () => {
    const res = await request(`${base}/cors/items`, { headers: { origin: 'https://shop.example' } });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'https://shop.example');
    assert.equal(res.headers['access-control-expose-headers'], 'x-backend');
    const plain = await request(`${base}/cors/items`);
    await plain.body.dump();
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
    const foreign = await request(`${base}/cors/items`, { headers: { origin: 'https://evil.example' } });
    await foreign.body.dump();
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
  });

  test('errors windrose answers itself carry the CORS headers too, so the page can read them', async () => {
    for (const [path, status, code] of [['/cors-denied/x', 403, 'access_denied'], ['/cors-down/x', 503, 'upstream_connect_failed']] as const) {
      const res = await request(`${base}${path}`, { headers: { origin: 'https://shop.example' } });
      const body = (await res.body.json()) as { error: { code: string } };
      assert.equal(res.statusCode, status, path);
      assert.equal(body.error.code, code, path);
      assert.equal(res.headers['access-control-allow-origin'], 'https://shop.example', path);
      assert.equal(res.headers.vary, 'Origin', path);
      assert.equal(res.headers['content-type'], 'application/json', path);
      const foreign = await request(`${base}${path}`, { headers: { origin: 'https://evil.example' } });
      await foreign.body.dump();
      assert.equal(foreign.statusCode, status, path);
      assert.equal(foreign.headers['access-control-allow-origin'], undefined, path);
    }
  });

  test('the Gateway API CORS filter on a rule: credentialed, so "*" methods are named; maxAge 5 s by default', async () => {
    const before = pub.received.length;
    const pre = await request(`${base}/gw-cors/x`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' } });
    await pre.body.dump();
    assert.equal(pre.statusCode, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(pre.headers['access-control-allow-methods'], 'PUT');
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.equal(pre.headers['access-control-max-age'], '5');
    assert.equal(pub.received.length, before);
    const res = await request(`${base}/gw-cors/x`, { headers: { origin: 'https://app.example' } });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'https://app.example');
  });

  test('client address lists: an allow list that holds the caller serves it, one that does not answers 403', async () => {
    const inside = await request(`${base}/loopback-only/x`);
    await inside.body.dump();
    assert.equal(inside.statusCode, 200);
    const outside = await request(`${base}/private-net/x`);
    const body = await outside.body.json() as { error: { code: string; message: string } };
    assert.equal(outside.statusCode, 403);
    assert.equal(body.error.code, 'access_denied');
  });

  test('client address lists: a deny rule refuses the caller while others pass by default', async () => {
    const res = await request(`${base}/blocked/x`);
    await res.body.dump();
    assert.equal(res.statusCode, 403);
  });

  test('the policies are reported Accepted in /status', async () => {
    const res = await request(`${gw.admin}/status`);
    const status = await res.body.json() as { resources: { kind: string; name: string; ancestors?: { conditions: { type: string; status: string }[] }[] }[] };
    const policies = status.resources.filter((r) => r.kind === 'SecurityPolicy');
    assert.deepEqual(policies.map((p) => p.name).sort(), ['admin-lockdown', 'blocked', 'cors', 'cors-denied', 'cors-down', 'loopback-only', 'private-net']);
    for (const p of policies) assert.deepEqual(p.ancestors?.map((a) => a.conditions.map((c) => `${c.type}=${c.status}`)), [['Accepted=True']], p.name);
  });
});
