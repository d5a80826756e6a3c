//! End to end: SecurityPolicy `extAuth` against a real HTTP authorization service on loopback:
//! allowed, denied (status and headers passed back), too slow with failOpen true and false, and down.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { baseConfig, startBackend, type Backend } from '../helpers/backends.js';
import { freePort } from '../helpers/ports.js';
import { docs, route, securityPolicy } from '../helpers/resources.js';
import { startWindrose, type Windrose } from '../helpers/windrose.js';

/**
 * The authorization service decides by the `x-decision` header the client sends (forwarded through
 * headersToExtAuth): "allow", "deny", or "hang" (never answers until the test ends).
 */
class AuthzService {
  readonly seen: { method: string; url: string; headers: http.IncomingHttpHeaders }[] = [];
  private readonly hanging: http.ServerResponse[] = [];
  private readonly hung: (() => void)[] = [];
  readonly server = http.createServer((req, res) => {
    this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const decision = req.headers['x-decision'];
    if (decision === 'allow') {
      res.writeHead(200, { 'x-user': 'alice', 'content-length': '0' });
      res.end();
    } else if (decision === 'hang') {
      this.hanging.push(res);
      for (const notify of this.hung.splice(0)) notify();
    } else {
      const body = 'go away';
      res.writeHead(403, { 'www-authenticate': 'Bearer realm="shop", error="insufficient_scope"', 'x-authz-reason': 'plan', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }
  });

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once a request is being held. */
  heldOne(): Promise<void> {
    return this.hanging.length > 0 ? Promise.resolve() : new Promise((resolve) => this.hung.push(resolve));
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function guarded(name: string, extAuth: Record<string, unknown>): string {
  return docs(route(name, { backends: ['a'], path: `/${name}/` }), securityPolicy(name, { extAuth }));
}

describe('SecurityPolicy extAuth', () => {
  let gw: Windrose;
  let a: Backend;
  let base: string;
  const authz = new AuthzService();

  before(async () => {
    await authz.listen();
    const nowhere = await freePort();
    a = await startBackend('a');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const service = { url: authz.url, path: '/check', headersToBackend: ['x-user'] };
    gw = await startWindrose({
      'gateway.yaml': baseConfig(port, { a: a.port }),
      'routes.yaml': docs(
        guarded('closed', { http: service, headersToExtAuth: ['x-decision'] }),
        guarded('open', { http: service, headersToExtAuth: ['x-decision'], failOpen: true }),
        guarded('down', { http: { url: `http://127.0.0.1:${nowhere}` } }),
        guarded('downopen', { http: { url: `http://127.0.0.1:${nowhere}` }, failOpen: true }),
      ),
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([a?.close(), authz.close()]);
  });

  async function call(path: string, headers: Record<string, string> = {}, method = 'GET') {
    const res = await request(`${base}${path}`, { method, headers });
    const text = await res.body.text();
    let code: string | undefined;
    try { code = (JSON.parse(text) as { error?: { code?: string } }).error?.code; } catch { code = undefined; }
    return { status: res.statusCode, headers: res.headers, code, text };
  }

  test('allowed: the backend gets the request and the service\'s headers, not the client\'s forgery', async () => {
    const res = await call('/closed/orders?id=7', { 'x-decision': 'allow', 'x-user': 'mallory', authorization: 'Bearer abc' }, 'DELETE');
    assert.equal(res.status, 200);
    assert.equal(a.received.at(-1)!.headers['x-user'], 'alice');
    const asked = authz.seen.at(-1)!;
    assert.equal(asked.method, 'DELETE');
    assert.equal(asked.url, '/check/closed/orders?id=7');
    assert.equal(asked.headers.authorization, 'Bearer abc');
    assert.equal(asked.headers['x-user'], undefined, 'only the chosen headers go to the service');
  });

  test('denied: the client gets the service\'s status and WWW-Authenticate with windrose\'s JSON error', async () => {
    const seen = a.received.length;
    const res = await call('/closed/orders', { 'x-decision': 'deny' });
    assert.equal(res.status, 403);
    assert.equal(res.code, 'access_denied');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="shop", error="insufficient_scope"');
    assert.equal(res.headers['x-authz-reason'], 'plan');
    assert.ok(!res.text.includes('go away'), 'the service body is replaced by the JSON error');
    assert.equal(a.received.length, seen);
  });

  test('timeout with failOpen false: 403 ext_authz_failed after the 200ms default', async () => {
    const started = performance.now();
    const held = authz.heldOne();
    const res = await call('/closed/slow', { 'x-decision': 'hang' });
    await held;
    const elapsed = performance.now() - started;
    assert.equal(res.status, 403);
    assert.equal(res.code, 'ext_authz_failed');
    assert.ok(elapsed >= 190 && elapsed < 2000, `answered after ${Math.round(elapsed)}ms`);
  });

  test('timeout with failOpen true: the request goes through', async () => {
    const res = await call('/open/slow', { 'x-decision': 'hang', 'x-user': 'mallory' });
    assert.equal(res.status, 200);
    assert.equal(a.received.at(-1)!.headers['x-user'], undefined, 'no forged identity when the service said nothing');
  });

  test('service down: 403 ext_authz_failed, or through with failOpen', async () => {
    const res = await call('/down/x');
    assert.equal(res.status, 403);
    assert.equal(res.code, 'ext_authz_failed');
    assert.equal((await call('/downopen/x')).status, 200);
  });
});
